package explain

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/scheme"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// Where the chart and the kustomize install put the scheduler's
// configuration: the ConfigMap its pods mount, and the key its --config
// names (manifests/configmap.yaml; the chart names the ConfigMap
// <release fullname>-config, the same for the release volume-topology-scheduler).
const (
	DefaultConfigMap          = "volume-topology-scheduler-config"
	DefaultConfigMapNamespace = "volume-topology-system"
	ConfigMapKey              = "config.yaml"
)

// Messages of the configuration errors; a value is filled in with
// fmt.Sprintf.
const (
	// ErrConfigMapUnreadable: the ConfigMap cannot be read. Args: namespace,
	// name, the API server's error.
	ErrConfigMapUnreadable = "reading the scheduler's configuration from ConfigMap %s/%s: %v; name the ConfigMap the scheduler mounts with --scheduler-config-map and --scheduler-namespace, or give its KubeSchedulerConfiguration with --config FILE"
	// ErrConfigMapNoKey: the ConfigMap lacks the configuration. Args:
	// namespace, name, key.
	ErrConfigMapNoKey = "ConfigMap %s/%s has no key %s: it is not the scheduler's configuration"
	// ErrNoProfile: no profile of the configuration enables VolumeTopology.
	// Args: where the configuration comes from.
	ErrNoProfile = "the scheduler configuration of %s has no profile that enables VolumeTopology"
	// ErrManyProfiles: several profiles enable VolumeTopology and the pod
	// names none of them. Args: where, the scheduler name asked for, the
	// profiles.
	ErrManyProfiles = "the scheduler configuration of %s has several profiles with VolumeTopology (%s) and the pod names none of them (schedulerName %q)"
	// NoteOtherScheduler: the pod names a scheduler the configuration has no
	// profile for. Args: the pod's schedulerName, the profile used.
	NoteOtherScheduler = "the pod's schedulerName %q is not a profile of this configuration, so this scheduler does not schedule it; explained with profile %s"
)

// Config is the scheduler configuration explain evaluates the rules with.
type Config struct {
	// Source says where it was read: "ConfigMap <namespace>/<name>" or
	// "file <path>".
	Source string
	// Scheduler is the decoded, defaulted configuration.
	Scheduler *schedconfig.KubeSchedulerConfiguration
}

// Profile is one profile of the configuration that enables VolumeTopology.
type Profile struct {
	// Name is the profile's schedulerName.
	Name string
	// Args are its VolumeTopologyArgs, defaulted as the scheduler defaults
	// them.
	Args *config.VolumeTopologyArgs
	// Note says why the profile was chosen when the pod does not name it.
	Note string
}

// Describe is how reports name the configuration: where it comes from and
// the profile.
func (p *Profile) Describe(c *Config) string {
	return fmt.Sprintf("%s, profile %s", c.Source, p.Name)
}

// DecodeConfig decodes a KubeSchedulerConfiguration as kube-scheduler's
// --config does, strictly, with the VolumeTopology args, and defaults it.
func DecodeConfig(data []byte) (*schedconfig.KubeSchedulerConfiguration, error) {
	obj, gvk, err := scheme.Codecs.UniversalDecoder().Decode(data, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("decoding the KubeSchedulerConfiguration: %w", err)
	}
	cfg, ok := obj.(*schedconfig.KubeSchedulerConfiguration)
	if !ok {
		return nil, fmt.Errorf("want a KubeSchedulerConfiguration, got %s", gvk)
	}
	return cfg, nil
}

// ReadConfigFile reads a local KubeSchedulerConfiguration.
func ReadConfigFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the scheduler's configuration: %w", err)
	}
	cfg, err := DecodeConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Config{Source: "file " + path, Scheduler: cfg}, nil
}

// ReadConfigMap reads the configuration the deployed scheduler runs with
// from the ConfigMap its pods mount (one get request). A ConfigMap that is
// missing or cannot be read is an error, not a fall-back to the defaults:
// explain's answers are only worth acting on when they are the running
// scheduler's, and a customised scheduler (another attach limit, NVMe
// families or zone keys) disagrees with the defaults.
func ReadConfigMap(ctx context.Context, c kubernetes.Interface, namespace, name string) (*Config, error) {
	cm, err := c.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			err = fmt.Errorf("not found")
		}
		return nil, fmt.Errorf(ErrConfigMapUnreadable, namespace, name, err)
	}
	data, ok := cm.Data[ConfigMapKey]
	if !ok {
		return nil, fmt.Errorf(ErrConfigMapNoKey, namespace, name, ConfigMapKey)
	}
	source := "ConfigMap " + namespace + "/" + name
	cfg, err := DecodeConfig([]byte(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &Config{Source: source, Scheduler: cfg}, nil
}

// Profile picks the profile a pod with the given schedulerName is scheduled
// by: the profile of that name if it enables VolumeTopology, otherwise the
// only profile that does (with a note). New validates the args as the
// plugin does at start-up.
func (c *Config) Profile(schedulerName string) (*Profile, error) {
	var ours []string
	args := map[string]*config.VolumeTopologyArgs{}
	for i := range c.Scheduler.Profiles {
		p := &c.Scheduler.Profiles[i]
		if !enables(p.Plugins) {
			continue
		}
		ours = append(ours, p.SchedulerName)
		args[p.SchedulerName] = volumetopology.DefaultArgs()
		for _, pc := range p.PluginConfig {
			if a, ok := pc.Args.(*config.VolumeTopologyArgs); ok && pc.Name == volumetopology.Name {
				args[p.SchedulerName] = a
			}
		}
	}
	var out *Profile
	switch {
	case len(ours) == 0:
		return nil, fmt.Errorf(ErrNoProfile, c.Source)
	case args[schedulerName] != nil:
		out = &Profile{Name: schedulerName, Args: args[schedulerName]}
	case len(ours) > 1:
		return nil, fmt.Errorf(ErrManyProfiles, c.Source, strings.Join(ours, ", "), schedulerName)
	default:
		out = &Profile{Name: ours[0], Args: args[ours[0]], Note: fmt.Sprintf(NoteOtherScheduler, schedulerName, ours[0])}
	}
	return out, nil
}

// enables tells whether a profile's plugins (as defaulting merged them)
// run VolumeTopology's Filter.
func enables(p *schedconfig.Plugins) bool {
	if p == nil {
		return false
	}
	has := func(s schedconfig.PluginSet) bool {
		return slices.ContainsFunc(s.Enabled, func(pl schedconfig.Plugin) bool { return pl.Name == volumetopology.Name })
	}
	disabled := func(s schedconfig.PluginSet) bool {
		return slices.ContainsFunc(s.Disabled, func(pl schedconfig.Plugin) bool { return pl.Name == volumetopology.Name || pl.Name == "*" })
	}
	return (has(p.MultiPoint) && !disabled(p.Filter)) || has(p.Filter)
}
