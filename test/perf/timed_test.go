package perf

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
	"github.com/volume-topology/volume-topology-scheduler/test/perf/results"
)

// kube-scheduler's own per-plugin metric cannot give our plugins' time per
// pod: it is recorded in 10% of the cycles, through a buffer of 1000
// observations flushed once a second that drops the rest, and a cycle that
// filters 500 nodes with 8 plugins fills it before Score runs. So the
// benchmark registers VolumeTopology and DiskLocality wrapped: the wrapper
// times every call of the extension points that make up their share of the
// cycle and adds it up. Every other method (AddPod and RemovePod, Reserve,
// PreBind, SignPod, EventsToRegister, NormalizeScore, ...) is the plugin's
// own, promoted through the embedded pointer, so the framework sees the same
// interfaces.

// The wrappers are the plugins to the framework.
var (
	_ fwk.PreFilterPlugin   = &timedVolumeTopology{}
	_ fwk.FilterPlugin      = &timedVolumeTopology{}
	_ fwk.PostFilterPlugin  = &timedVolumeTopology{}
	_ fwk.PreScorePlugin    = &timedVolumeTopology{}
	_ fwk.ScorePlugin       = &timedVolumeTopology{}
	_ fwk.PreBindPlugin     = &timedVolumeTopology{}
	_ fwk.SignPlugin        = &timedVolumeTopology{}
	_ fwk.EnqueueExtensions = &timedVolumeTopology{}
	_ fwk.PreScorePlugin    = &timedDiskLocality{}
	_ fwk.ScorePlugin       = &timedDiskLocality{}
	_ fwk.SignPlugin        = &timedDiskLocality{}
)

// pluginClock adds up calls and time per plugin and extension point.
type pluginClock struct {
	mu     sync.Mutex
	counts map[[2]string]*[2]atomic.Int64 // calls, nanoseconds
}

var clock = &pluginClock{counts: map[[2]string]*[2]atomic.Int64{}}

func (c *pluginClock) slot(plugin, ep string) *[2]atomic.Int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]string{plugin, ep}
	s := c.counts[k]
	if s == nil {
		s = &[2]atomic.Int64{}
		c.counts[k] = s
	}
	return s
}

func (c *pluginClock) since(s *[2]atomic.Int64, start time.Time) {
	s[0].Add(1)
	s[1].Add(int64(time.Since(start)))
}

// reset zeroes every count: a workload starts from zero. The plugins keep
// their slots.
func (c *pluginClock) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.counts {
		s[0].Store(0)
		s[1].Store(0)
	}
}

// snapshot returns the calls and seconds per plugin and extension point.
func (c *pluginClock) snapshot() map[string]map[string]results.Histogram {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]map[string]results.Histogram{}
	for k, s := range c.counts {
		if s[0].Load() == 0 {
			continue
		}
		if out[k[0]] == nil {
			out[k[0]] = map[string]results.Histogram{}
		}
		out[k[0]][k[1]] = results.Histogram{Count: uint64(s[0].Load()), Sum: time.Duration(s[1].Load()).Seconds()}
	}
	return out
}

// timedVolumeTopology is VolumeTopology with PreFilter, Filter, PostFilter,
// PreScore and Score timed.
type timedVolumeTopology struct {
	*volumetopology.VolumeTopology
	preFilter, filter, postFilter, preScore, score *[2]atomic.Int64
}

func newTimedVolumeTopology(ctx context.Context, args runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	p, err := volumetopology.New(ctx, args, h)
	if err != nil {
		return nil, err
	}
	n := volumetopology.Name
	return &timedVolumeTopology{VolumeTopology: p.(*volumetopology.VolumeTopology),
		preFilter: clock.slot(n, "PreFilter"), filter: clock.slot(n, "Filter"), postFilter: clock.slot(n, "PostFilter"),
		preScore: clock.slot(n, "PreScore"), score: clock.slot(n, "Score")}, nil
}

func (t *timedVolumeTopology) PreFilter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	defer clock.since(t.preFilter, time.Now())
	return t.VolumeTopology.PreFilter(ctx, cs, pod, nodes)
}

func (t *timedVolumeTopology) Filter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	defer clock.since(t.filter, time.Now())
	return t.VolumeTopology.Filter(ctx, cs, pod, nodeInfo)
}

func (t *timedVolumeTopology) PostFilter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, m fwk.NodeToStatusReader) (*fwk.PostFilterResult, *fwk.Status) {
	defer clock.since(t.postFilter, time.Now())
	return t.VolumeTopology.PostFilter(ctx, cs, pod, m)
}

func (t *timedVolumeTopology) PreScore(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) *fwk.Status {
	defer clock.since(t.preScore, time.Now())
	return t.VolumeTopology.PreScore(ctx, cs, pod, nodes)
}

func (t *timedVolumeTopology) Score(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	defer clock.since(t.score, time.Now())
	return t.VolumeTopology.Score(ctx, cs, pod, nodeInfo)
}

// timedDiskLocality is DiskLocality with PreScore and Score timed.
type timedDiskLocality struct {
	*volumetopology.DiskLocality
	preScore, score *[2]atomic.Int64
}

func newTimedDiskLocality(ctx context.Context, args runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	p, err := volumetopology.NewDiskLocality(ctx, args, h)
	if err != nil {
		return nil, err
	}
	n := volumetopology.LocalityName
	return &timedDiskLocality{DiskLocality: p.(*volumetopology.DiskLocality), preScore: clock.slot(n, "PreScore"), score: clock.slot(n, "Score")}, nil
}

func (t *timedDiskLocality) PreScore(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) *fwk.Status {
	defer clock.since(t.preScore, time.Now())
	return t.DiskLocality.PreScore(ctx, cs, pod, nodes)
}

func (t *timedDiskLocality) Score(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	defer clock.since(t.score, time.Now())
	return t.DiskLocality.Score(ctx, cs, pod, nodeInfo)
}
