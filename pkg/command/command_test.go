package command

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	"k8s.io/kubernetes/pkg/scheduler"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"

	"github.com/volume-topology/volume-topology-scheduler/manifests"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// shippedConfig returns the KubeSchedulerConfiguration from the manifests'
// ConfigMap.
func shippedConfig(t *testing.T) string {
	t.Helper()
	cfg, err := manifests.SchedulerConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// setup runs kube-scheduler's own Setup with our registry on a configuration
// file and returns the plugins of the profile volume-topology-scheduler.
func setup(t *testing.T, cfg string) (*config.Plugins, error) {
	t.Helper()
	sched, err := setupScheduler(t, cfg)
	if err != nil {
		return nil, err
	}
	fw, ok := sched.Profiles["volume-topology-scheduler"]
	if !ok {
		t.Fatalf("no profile volume-topology-scheduler in %v", sched.Profiles)
	}
	// The plugins per extension point, as the framework expanded multiPoint.
	return fw.ListPlugins(), nil
}

// setupScheduler runs kube-scheduler's own Setup with our registry on a
// configuration file, against an API server that is never contacted (Setup
// builds clients, frameworks and plugins; only Run talks to the server).
func setupScheduler(t *testing.T, cfg string) (*scheduler.Scheduler, error) {
	t.Helper()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: x}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = strings.Replace(cfg, "leaderElection:", "clientConnection:\n  kubeconfig: "+kubeconfig+"\nleaderElection:", 1)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := options.NewOptions()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	for _, f := range opts.Flags.FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse([]string{"--config", cfgPath, "--secure-port", "0"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, sched, err := app.Setup(ctx, opts, Registry()...)
	return sched, err
}

func TestShippedConfigurationEnablesThePlugin(t *testing.T) {
	pl, err := setup(t, shippedConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	has := func(set config.PluginSet, weight int32) bool {
		for _, p := range set.Enabled {
			if p.Name == volumetopology.Name && (weight == 0 || p.Weight == weight) {
				return true
			}
		}
		return false
	}
	for name, ok := range map[string]bool{
		"preFilter": has(pl.PreFilter, 0),
		"filter":    has(pl.Filter, 0),
		"preScore":  has(pl.PreScore, 0),
		"score":     has(pl.Score, 5),
		// Reserve and Unreserve feed the holder index the pods this
		// scheduler assumed.
		"reserve": has(pl.Reserve, 0),
	} {
		if !ok {
			t.Errorf("VolumeTopology is not enabled at %s (score with weight 5): %+v", name, pl)
		}
	}
	// VolumeTopology's PostFilter explains the nodes its PreFilter left out
	// and never nominates: it runs before DefaultPreemption.
	if post := names(pl.PostFilter); len(post) == 0 || post[0] != volumetopology.Name || !slices.Contains(post, "DefaultPreemption") {
		t.Errorf("postFilter plugins = %v, want VolumeTopology first, DefaultPreemption after it", post)
	}
	// The default plugins stay on.
	if !strings.Contains(strings.Join(names(pl.Filter), ","), "VolumeBinding") {
		t.Errorf("default filter plugins missing: %v", names(pl.Filter))
	}
}

func names(set config.PluginSet) []string {
	var out []string
	for _, p := range set.Enabled {
		out = append(out, p.Name)
	}
	return out
}

func TestBadArgsStopStartUp(t *testing.T) {
	tests := []struct {
		name, replace, with, wantErr string
	}{
		{
			name: "invalid value", replace: "maxNodesPerZone: 16", with: "maxNodesPerZone: 0",
			wantErr: "pluginConfig[VolumeTopology].args.maxNodesPerZone: Invalid value: 0",
		},
		{
			name: "unknown field", replace: "maxNodesPerZone: 16", with: "maxNodesPerZone: 16\n<indent>maxNodes: 3",
			wantErr: `unknown field "maxNodes"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := shippedConfig(t)
			if !strings.Contains(cfg, tt.replace) {
				t.Fatalf("shipped config has no %q", tt.replace)
			}
			// Keep the new line at the indentation of the one it follows.
			line := cfg[strings.LastIndex(cfg[:strings.Index(cfg, tt.replace)], "\n")+1 : strings.Index(cfg, tt.replace)]
			with := strings.ReplaceAll(tt.with, "<indent>", line)
			_, err := setup(t, strings.Replace(cfg, tt.replace, with, 1))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Setup error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestShippedProfileKeepsBatching: kube-scheduler turns opportunistic
// batching off for a whole profile when one of its Filter or Score plugins
// cannot sign pods. With VolumeTopology in the shipped profile, a pod without
// our claims must still get a signature, the same one a profile of the
// default plugins alone gives it.
//
// Both profiles set PodTopologySpread's defaultingType to List: with
// kube-scheduler's system default constraints PodTopologySpread itself
// refuses to sign every pod, in the default profile too.
func TestShippedProfileKeepsBatching(t *testing.T) {
	cfg := shippedConfig(t)
	const spreadArgs = "- name: PodTopologySpread\n<indent>  args:\n<indent>    defaultingType: List\n<indent>"
	const ourArgs = "- name: VolumeTopology\n"
	i := strings.Index(cfg, "pluginConfig:\n")
	if j := strings.Index(cfg[max(i, 0):], ourArgs); i < 0 || j < 0 {
		i = -1
	} else {
		i += j
	}
	if i < 0 || !strings.Contains(cfg, "profiles:\n") {
		t.Fatal("shipped config has no profiles list or no VolumeTopology pluginConfig")
	}
	indent := cfg[strings.LastIndex(cfg[:i], "\n")+1 : i]
	cfg = cfg[:i] + strings.ReplaceAll(spreadArgs, "<indent>", indent) + cfg[i:]
	// A second profile with the default plugins only, to compare with.
	cfg = strings.Replace(cfg, "profiles:\n", "profiles:\n- schedulerName: default-scheduler\n  pluginConfig:\n  "+strings.ReplaceAll(spreadArgs, "<indent>", "  ")+"\n", 1)
	sched, err := setupScheduler(t, cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, cfg)
	}
	ours, theirs := sched.Profiles["volume-topology-scheduler"], sched.Profiles["default-scheduler"]
	if ours == nil || theirs == nil {
		t.Fatalf("profiles = %v, want volume-topology-scheduler and default-scheduler", sched.Profiles)
	}
	pods := map[string]*corev1.Pod{
		"no volumes": {Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}}},
		"emptyDir and configMap": {Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}},
			Volumes: []corev1.Volume{
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
			},
		}},
	}
	ctx := context.Background()
	for name, pod := range pods {
		pod.Spec.SchedulerName = "volume-topology-scheduler"
		got, want := signPod(ctx, ours, pod), signPod(ctx, theirs, pod)
		if got == nil {
			t.Errorf("%s: the shipped profile gives no signature, so opportunistic batching is off", name)
			continue
		}
		if string(got) != string(want) {
			t.Errorf("%s: signature with VolumeTopology\n  %s\nwant the default profile's\n  %s", name, got, want)
		}
	}
}
