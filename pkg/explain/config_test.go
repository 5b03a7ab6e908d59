package explain

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/volume-topology/volume-topology-scheduler/manifests"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// shippedConfigMap is manifests/configmap.yaml, the ConfigMap the kustomize
// install creates (the chart's is the same; test/install compares them).
func shippedConfigMap(t *testing.T) *v1.ConfigMap {
	t.Helper()
	cm, err := manifests.SchedulerConfigMap()
	if err != nil {
		t.Fatal(err)
	}
	return cm
}

// customConfig is a scheduler configuration with every plugin arg changed
// from its default, and a second profile without VolumeTopology.
const customConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: disks
  plugins:
    multiPoint:
      enabled:
      - name: VolumeTopology
  pluginConfig:
  - name: VolumeTopology
    args:
      drivers: [example.csi.driver]
      maxNodesPerZone: 3
      nvmeInstanceFamilies: [g9x]
      nvmeLabelKey: example.com/nvme
      countVolumeAttachments: false
      zoneLabelKeys: [example.com/zone]
`

// TestReadConfigMap: the shipped ConfigMap, read from the cluster, gives the
// defaults the shipped configuration sets and the profile its pods name.
func TestReadConfigMap(t *testing.T) {
	cm := shippedConfigMap(t)
	if cm.Name != DefaultConfigMap || cm.Namespace != DefaultConfigMapNamespace {
		t.Fatalf("manifests/configmap.yaml is %s/%s, want the defaults %s/%s", cm.Namespace, cm.Name, DefaultConfigMapNamespace, DefaultConfigMap)
	}
	c := fake.NewClientset(cm)
	cfg, err := ReadConfigMap(context.Background(), c, DefaultConfigMapNamespace, DefaultConfigMap)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Profile("volume-topology-scheduler")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Describe(cfg), "ConfigMap volume-topology-system/volume-topology-scheduler-config, profile volume-topology-scheduler"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	if p.Note != "" {
		t.Errorf("note %q for the pod's own profile", p.Note)
	}
	if def := volumetopology.DefaultArgs(); p.Args.MaxNodesPerZone != 16 || !slices.Equal(p.Args.ZoneLabelKeys, def.ZoneLabelKeys) ||
		!slices.Equal(p.Args.NVMeInstanceFamilies, def.NVMeInstanceFamilies) {
		t.Errorf("args %+v, want the shipped ones (limit 16, default zone keys and families)", p.Args)
	}
}

func TestReadConfigMapErrors(t *testing.T) {
	cm := shippedConfigMap(t)
	noKey := cm.DeepCopy()
	noKey.Name, noKey.Data = "other", map[string]string{"scheduler.yaml": "x"}
	bad := cm.DeepCopy()
	bad.Name = "bad"
	// An unknown field beside maxNodesPerZone, at its indentation.
	cfg := bad.Data[ConfigMapKey]
	at := strings.Index(cfg, "maxNodesPerZone:")
	if at < 0 {
		t.Fatal("the shipped configuration sets no maxNodesPerZone")
	}
	indent := cfg[strings.LastIndex(cfg[:at], "\n")+1 : at]
	bad.Data[ConfigMapKey] = cfg[:at] + "maxNodes: 3\n" + indent + cfg[at:]
	c := fake.NewClientset(noKey, bad)
	for name, want := range map[string]string{
		DefaultConfigMap: fmt.Sprintf(ErrConfigMapUnreadable, DefaultConfigMapNamespace, DefaultConfigMap, "not found"),
		"other":          fmt.Sprintf(ErrConfigMapNoKey, DefaultConfigMapNamespace, "other", ConfigMapKey),
		"bad":            `ConfigMap volume-topology-system/bad: decoding the KubeSchedulerConfiguration: strict decoding error: decoding .profiles[0].pluginConfig[0]: strict decoding error: decoding args for plugin VolumeTopology: strict decoding error: unknown field "maxNodes"`,
	} {
		_, err := ReadConfigMap(context.Background(), c, DefaultConfigMapNamespace, name)
		if err == nil || err.Error() != want {
			t.Errorf("ConfigMap %s: error\n  %v\nwant\n  %s", name, err, want)
		}
	}
}

// TestConfigFileProfiles: a local configuration with a customised profile;
// which profile a pod gets, and the errors when none or several fit.
func TestConfigFileProfiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(customConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfigFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Profile("disks")
	if err != nil {
		t.Fatal(err)
	}
	a := p.Args
	if p.Name != "disks" || a.MaxNodesPerZone != 3 || !slices.Equal(a.Drivers, []string{"example.csi.driver"}) ||
		!slices.Equal(a.NVMeInstanceFamilies, []string{"g9x"}) || a.NVMeLabelKey != "example.com/nvme" ||
		a.CountVolumeAttachments || !slices.Equal(a.ZoneLabelKeys, []string{"example.com/zone"}) {
		t.Errorf("profile %s args %+v, want the file's", p.Name, a)
	}
	if got, want := p.Describe(cfg), "file "+path+", profile disks"; got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	// default-scheduler is a profile without VolumeTopology: the one with it
	// is used, with a note.
	p, err = cfg.Profile("default-scheduler")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(NoteOtherScheduler, "default-scheduler", "disks"); p.Name != "disks" || p.Note != want {
		t.Errorf("profile %s note %q, want disks and %q", p.Name, p.Note, want)
	}

	two := &Config{Source: "file x"}
	if two.Scheduler, err = DecodeConfig([]byte(customConfig + "- schedulerName: more\n  plugins:\n    filter:\n      enabled:\n      - name: VolumeTopology\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Profile("default-scheduler"); err == nil || err.Error() != fmt.Sprintf(ErrManyProfiles, "file x", "disks, more", "default-scheduler") {
		t.Errorf("two profiles: error %v", err)
	}
	none := &Config{Source: "file y"}
	if none.Scheduler, err = DecodeConfig([]byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := none.Profile("default-scheduler"); err == nil || err.Error() != fmt.Sprintf(ErrNoProfile, "file y") {
		t.Errorf("no profile: error %v", err)
	}
	if _, err := ReadConfigFile(filepath.Join(dir, "missing.yaml")); err == nil ||
		err.Error() != "reading the scheduler's configuration: open "+filepath.Join(dir, "missing.yaml")+": no such file or directory" {
		t.Errorf("missing file: error %v", err)
	}
}
