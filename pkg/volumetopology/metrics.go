package volumetopology

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

const metricsSubsystem = "volume_topology"

var (
	rejectedNodes = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "rejected_nodes_total",
		Help:           "Number of nodes the VolumeTopology plugin rejected in Filter, by rule (zone, nvme, holder, attach_limit).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"rule"})

	registerOnce sync.Once
	// rejected holds one resolved counter per rule, so Filter does no label
	// look-up on its hot path.
	rejected map[string]metrics.CounterMetric
)

func registerMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(rejectedNodes)
		rejected = map[string]metrics.CounterMetric{}
		for _, r := range []string{RuleZone, RuleNVMe, RuleHolder, RuleAttachLimit} {
			rejected[r] = rejectedNodes.WithLabelValues(r)
		}
	})
}

func countRejection(rule string) {
	if c := rejected[rule]; c != nil {
		c.Inc()
	}
}
