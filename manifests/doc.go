// Package manifests holds the Kubernetes manifests that install
// volume-topology-scheduler (kubectl apply -k manifests/) and example
// workloads (examples/). It embeds them so tests and tools can read them.
package manifests

import (
	"embed"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// FS holds the install manifests and the examples, at their paths relative
// to this directory (for example "deployment.yaml", "examples/lease.yaml").
//
//go:embed *.yaml examples/*.yaml
var FS embed.FS

// SchedulerConfigMap returns configmap.yaml, the ConfigMap the install
// creates (the chart's is the same; test/install compares them).
func SchedulerConfigMap() (*v1.ConfigMap, error) {
	raw, err := FS.ReadFile("configmap.yaml")
	if err != nil {
		return nil, err
	}
	var cm v1.ConfigMap
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		return nil, fmt.Errorf("configmap.yaml: %w", err)
	}
	return &cm, nil
}

// SchedulerConfig returns the shipped KubeSchedulerConfiguration, the
// config.yaml of SchedulerConfigMap.
func SchedulerConfig() (string, error) {
	cm, err := SchedulerConfigMap()
	if err != nil {
		return "", err
	}
	cfg, ok := cm.Data["config.yaml"]
	if !ok {
		return "", fmt.Errorf("configmap.yaml has no config.yaml")
	}
	return cfg, nil
}
