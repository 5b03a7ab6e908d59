package results

import (
	"math"
	"strings"
	"testing"
)

// fixtureTiming is a workload of 100 scheduled pods whose scheduling
// algorithm took 0.5 s over 120 attempts (5 ms a scheduled pod).
func fixtureTiming() *Timing {
	t := &Timing{TestCase: "SharedDisks_VolumeTopology", Workload: "5000Nodes"}
	add := func(metric string, labels map[string]string, count uint64, sum float64) {
		t.Add(metric, labels, Histogram{Count: count, Sum: sum})
	}
	add("scheduler_scheduling_attempt_duration_seconds", map[string]string{"result": "scheduled"}, 100, 9)
	add("scheduler_scheduling_attempt_duration_seconds", map[string]string{"result": "unschedulable"}, 20, 1)
	add("scheduler_scheduling_algorithm_duration_seconds", nil, 120, 0.5)
	// Two statuses of one extension point add up.
	add("scheduler_framework_extension_point_duration_seconds", map[string]string{"extension_point": "PreFilter", "status": "Success"}, 100, 0.075)
	add("scheduler_framework_extension_point_duration_seconds", map[string]string{"extension_point": "PreFilter", "status": "Unschedulable"}, 20, 0.025)
	add("scheduler_framework_extension_point_duration_seconds", map[string]string{"extension_point": "Filter", "status": "Success"}, 120, 0.2)
	add("scheduler_framework_extension_point_duration_seconds", map[string]string{"extension_point": "Score", "status": "Success"}, 100, 0.05)
	// The sampled plugin times: only their split counts.
	plugin := func(name, ep string, count uint64, sum float64) {
		add("scheduler_plugin_execution_duration_seconds", map[string]string{"plugin": name, "extension_point": ep, "status": "Success"}, count, sum)
	}
	plugin("VolumeTopology", "PreFilter", 12, 0.006)
	plugin("NodeAffinity", "PreFilter", 12, 0.002)
	plugin("VolumeTopology", "Filter", 2400, 0.001)
	plugin("NodeResourcesFit", "Filter", 2400, 0.003)
	plugin("VolumeTopology", "Score", 2000, 0.001)
	plugin("DiskLocality", "Score", 2000, 0.001)
	plugin("NodeResourcesFit", "Score", 2000, 0.002)
	// Metrics the timing does not read change nothing.
	add("scheduler_pod_scheduling_sli_duration_seconds", nil, 100, 50)
	return t
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestTimingPerPod(t *testing.T) {
	tm := fixtureTiming()
	if tm.Scheduled != 100 {
		t.Fatalf("Scheduled = %d, want 100 (the unschedulable attempts are not pods scheduled)", tm.Scheduled)
	}
	if got, ok := tm.CycleMs(); !ok || !near(got, 5) {
		t.Errorf("CycleMs = %v, %v; want 5 (0.5 s over 100 pods)", got, ok)
	}
	if got, ok := tm.ExtensionPointMs("PreFilter"); !ok || !near(got, 1) {
		t.Errorf("PreFilter = %v, %v; want 1 ms (0.075 s + 0.025 s over 100 pods)", got, ok)
	}
	for _, c := range []struct {
		plugin, ep string
		want       float64
	}{
		{"VolumeTopology", "PreFilter", 0.75}, // 1 ms x 6/8
		{"NodeAffinity", "PreFilter", 0.25},   // 1 ms x 2/8
		{"VolumeTopology", "Filter", 0.5},     // 2 ms x 1/4
		{"NodeResourcesFit", "Filter", 1.5},   // 2 ms x 3/4
		{"VolumeTopology", "Score", 0.125},    // 0.5 ms x 1/4
		{"DiskLocality", "Score", 0.125},      // 0.5 ms x 1/4
		{"NodeResourcesFit", "Score", 0.25},   // 0.5 ms x 2/4
	} {
		if got, ok := tm.PluginMs(c.plugin, c.ep); !ok || !near(got, c.want) {
			t.Errorf("PluginMs(%s, %s) = %v, %v; want %v", c.plugin, c.ep, got, ok, c.want)
		}
	}
	if _, ok := tm.PluginMs("VolumeTopology", "PostFilter"); ok {
		t.Errorf("PluginMs at an extension point never measured is ok")
	}
	if _, ok := tm.PluginMs("NodeAffinity", "Filter"); ok {
		t.Errorf("PluginMs of a plugin never sampled at Filter is ok")
	}
	if ms, share, ok := tm.Share("VolumeTopology"); !ok || !near(ms, 1.375) || !near(share, 0.275) {
		t.Errorf("VolumeTopology share = %v ms, %v, %v; want 1.375 ms, 0.275", ms, share, ok)
	}
	if ms, share, ok := tm.Share("DiskLocality"); !ok || !near(ms, 0.125) || !near(share, 0.025) {
		t.Errorf("DiskLocality share = %v ms, %v, %v; want 0.125 ms, 0.025", ms, share, ok)
	}
	if _, _, ok := tm.Share("InterPodAffinity"); ok {
		t.Errorf("share of a plugin never measured is ok")
	}
	if _, _, ok := (&Timing{}).Share("VolumeTopology"); ok {
		t.Errorf("share without a scheduled pod is ok")
	}
}

func TestTimingTables(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteTiming(dir, fixtureTiming()); err != nil {
		t.Fatal(err)
	}
	rows, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Timing == nil || rows[0].Nodes != 5000 {
		t.Fatalf("rows = %+v", rows)
	}
	var share, plugins strings.Builder
	if err := WriteShareTable(&share, rows); err != nil {
		t.Fatal(err)
	}
	if err := WritePluginTable(&plugins, rows); err != nil {
		t.Fatal(err)
	}
	wantShare := "| SharedDisks | VolumeTopology | 5000 | 100 | 5.000 | 1.000 | 2.000 | - | - | 0.500 | - | 0.750 | 0.500 | - | - | 0.125 | 1.375 ms, 27.50% | 0.125 ms, 2.50% |\n"
	if !strings.HasSuffix(share.String(), wantShare) || strings.Count(share.String(), "\n") != 3 {
		t.Errorf("share table:\n%s\nwant its one row:\n%s", share.String(), wantShare)
	}
	wantPlugins := "" +
		"| SharedDisks | VolumeTopology | 5000 | DiskLocality | - | - | - | - | 0.125 | - |\n" +
		"| SharedDisks | VolumeTopology | 5000 | NodeAffinity | 0.250 | - | - | - | - | - |\n" +
		"| SharedDisks | VolumeTopology | 5000 | NodeResourcesFit | - | 1.500 | - | - | 0.250 | - |\n" +
		"| SharedDisks | VolumeTopology | 5000 | VolumeTopology | 0.750 | 0.500 | - | - | 0.125 | - |\n"
	if !strings.HasSuffix(plugins.String(), wantPlugins) || strings.Count(plugins.String(), "\n") != 6 {
		t.Errorf("plugin table:\n%s\nwant its rows:\n%s", plugins.String(), wantPlugins)
	}
}

// The benchmark's own timing of our plugins (every call) wins over the
// sampled split.
func TestTimingExact(t *testing.T) {
	tm := fixtureTiming()
	tm.Exact = map[string]map[string]Histogram{"VolumeTopology": {
		"PreFilter": {Count: 120, Sum: 0.02},   // 0.2 ms a pod
		"Filter":    {Count: 24000, Sum: 0.03}, // 0.3 ms a pod
		"Score":     {Count: 20000, Sum: 0.01}, // 0.1 ms a pod
	}}
	if got, ok := tm.PluginMs("VolumeTopology", "Filter"); !ok || !near(got, 0.3) {
		t.Errorf("exact Filter = %v, %v; want 0.3", got, ok)
	}
	if _, ok := tm.PluginMs("VolumeTopology", "PostFilter"); ok {
		t.Errorf("exact PostFilter never called is ok")
	}
	// The sampled split still serves the plugins not timed.
	if got, ok := tm.PluginMs("NodeResourcesFit", "Filter"); !ok || !near(got, 1.5) {
		t.Errorf("NodeResourcesFit Filter = %v, %v; want 1.5", got, ok)
	}
	if ms, share, ok := tm.Share("VolumeTopology"); !ok || !near(ms, 0.6) || !near(share, 0.12) {
		t.Errorf("share = %v ms, %v, %v; want 0.6 ms, 0.12 of the 5 ms cycle", ms, share, ok)
	}
}

// The algorithm's histogram is never reset by the harness: the benchmark
// subtracts what it held when the workload started.
func TestTimingMinus(t *testing.T) {
	base := &Timing{Scheduled: 0, Algorithm: Histogram{Count: 480, Sum: 9.5}}
	base.Add("scheduler_framework_extension_point_duration_seconds", map[string]string{"extension_point": "Filter"}, Histogram{Count: 1000, Sum: 3})
	tm := fixtureTiming()
	tm.Add("scheduler_scheduling_algorithm_duration_seconds", nil, Histogram{Count: 480, Sum: 9.5})
	got := tm.Minus(base)
	if got.Algorithm.Count != 120 || !near(got.Algorithm.Sum, 0.5) || got.Scheduled != 100 || got.TestCase != tm.TestCase {
		t.Errorf("Minus = %+v, want the fixture's 120 attempts, 0.5 s and 100 pods", got)
	}
	if cycle, ok := got.CycleMs(); !ok || !near(cycle, 5) {
		t.Errorf("CycleMs = %v, %v; want 5", cycle, ok)
	}
	// A vector the harness reset since the base (fewer observations now
	// than then) counts from zero.
	if h := got.ExtensionPoints["Filter"]; h.Count != 120 || !near(h.Sum, 0.2) {
		t.Errorf("Filter = %+v, want the 120 observations since the reset", h)
	}
	if h := got.Plugins["VolumeTopology"]["PreFilter"]; h.Count != 12 || !near(h.Sum, 0.006) {
		t.Errorf("VolumeTopology PreFilter = %+v", h)
	}
}
