package command

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	"k8s.io/kubernetes/pkg/scheduler/apis/config"

	"github.com/volume-topology/volume-topology-scheduler/manifests"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// shippedConfig returns the KubeSchedulerConfiguration from the manifests'
// ConfigMap.
func shippedConfig(t *testing.T) string {
	t.Helper()
	raw, err := manifests.FS.ReadFile("configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	cfg, ok := cm.Data["config.yaml"]
	if !ok {
		t.Fatal("configmap.yaml has no config.yaml")
	}
	return cfg
}

// setup runs kube-scheduler's own Setup with our registry on a configuration
// file, against an API server that is never contacted (Setup builds clients,
// frameworks and plugins; only Run talks to the server).
func setup(t *testing.T, cfg string) (*config.Plugins, error) {
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
	} {
		if !ok {
			t.Errorf("VolumeTopology is not enabled at %s (score with weight 5): %+v", name, pl)
		}
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
