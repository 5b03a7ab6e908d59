package volumetopology

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

const metricsSubsystem = "volume_topology"

// Zone label values of the metrics: a node without a zone counts as
// zoneNone; past maxZoneLabels distinct zones (the value comes from node
// labels, so it is bounded here) the rest count as zoneOther.
const (
	zoneNone      = "none"
	zoneOther     = "other"
	maxZoneLabels = 64
)

var (
	rejectedNodes = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "rejected_nodes_total",
		Help:           "Number of nodes the VolumeTopology plugin rejected in Filter, by rule (zone, nvme, holder, attach_limit) and the node's zone (none without a zone label; at most 64 zones, the rest as other).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"rule", "zone"})

	registerOnce sync.Once

	// counters holds one resolved counter per rule and zone, so Filter does
	// no label look-up on its hot path after the first rejection.
	countersMu sync.RWMutex
	counters   map[rejectionKey]metrics.CounterMetric
	zones      map[string]struct{}
)

type rejectionKey struct{ rule, zone string }

func registerMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(rejectedNodes)
		counters = map[rejectionKey]metrics.CounterMetric{}
		zones = map[string]struct{}{}
	})
}

// countRejection counts a node Filter rejected by a rule.
func countRejection(rule, zone string) {
	if zone == "" {
		zone = zoneNone
	}
	k := rejectionKey{rule, zone}
	countersMu.RLock()
	c, ok := counters[k]
	countersMu.RUnlock()
	if !ok {
		c = newCounter(k)
	}
	if c != nil {
		c.Inc()
	}
}

func newCounter(k rejectionKey) metrics.CounterMetric {
	countersMu.Lock()
	defer countersMu.Unlock()
	if counters == nil { // metrics not registered (a plugin built without New)
		return nil
	}
	if c, ok := counters[k]; ok {
		return c
	}
	if _, known := zones[k.zone]; !known {
		if len(zones) >= maxZoneLabels {
			k.zone = zoneOther
		} else {
			zones[k.zone] = struct{}{}
		}
	}
	c := rejectedNodes.WithLabelValues(k.rule, k.zone)
	counters[k] = c
	return c
}
