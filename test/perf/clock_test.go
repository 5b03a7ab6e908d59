package perf

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestPluginClock(t *testing.T) {
	c := &pluginClock{counts: map[[2]string]*[2]atomic.Int64{}}
	filter := c.slot("VolumeTopology", "Filter")
	if again := c.slot("VolumeTopology", "Filter"); again != filter {
		t.Fatalf("slot returned a second counter for one plugin and extension point")
	}
	c.slot("VolumeTopology", "Score") // never called: not in the snapshot
	start := time.Now().Add(-2 * time.Millisecond)
	c.since(filter, start)
	c.since(filter, start)
	snap := c.snapshot()
	h := snap["VolumeTopology"]["Filter"]
	if len(snap) != 1 || len(snap["VolumeTopology"]) != 1 || h.Count != 2 || h.Sum < 0.004 || h.Sum > 1 {
		t.Errorf("snapshot = %+v, want 2 Filter calls of at least 2 ms each", snap)
	}
	// A new workload starts from zero, and the plugins keep their slots.
	c.reset()
	if snap := c.snapshot(); len(snap) != 0 {
		t.Errorf("snapshot after reset = %+v, want nothing", snap)
	}
	c.since(filter, time.Now())
	if got := c.snapshot()["VolumeTopology"]["Filter"]; got.Count != 1 {
		t.Errorf("Filter after reset = %+v, want the one call since", got)
	}
}
