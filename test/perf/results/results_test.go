package results

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSplitNames(t *testing.T) {
	tc, wl, ok := SplitBenchmarkName("BenchmarkPerfScheduling/SharedDisks_VolumeTopology/500Nodes/shared")
	if !ok || tc != "SharedDisks_VolumeTopology" || wl != "500Nodes" {
		t.Errorf("SplitBenchmarkName = %q, %q, %v", tc, wl, ok)
	}
	if _, _, ok := SplitBenchmarkName("BenchmarkPerfScheduling/SharedDisks_VolumeTopology"); ok {
		t.Errorf("SplitBenchmarkName accepted a name without a workload")
	}
	if kind, profile := SplitTestCase("WaitForFirstConsumer_SeedRecipe"); kind != WorkloadWFFC || profile != ProfileSeedRecipe {
		t.Errorf("SplitTestCase = %q, %q", kind, profile)
	}
	if n := NodesOf("5000Nodes_short"); n != 5000 {
		t.Errorf("NodesOf = %d", n)
	}
}

// A run's files: the harness's data items and the violation check's counts.
func TestLoadAndTable(t *testing.T) {
	dir := t.TempDir()
	data := `{"version":"v1","dataItems":[
 {"data":{"Average":300,"Perc50":310,"Perc99":400},"unit":"pods/s","labels":{"Metric":"SchedulingThroughput","Name":"BenchmarkPerfScheduling/SharedDisks_VolumeTopology/5000Nodes/shared"}},
 {"data":{"Average":0.01,"Perc50":0.005,"Perc99":0.02},"unit":"ms","labels":{"Metric":"scheduler_plugin_execution_duration_seconds","Name":"BenchmarkPerfScheduling/SharedDisks_VolumeTopology/5000Nodes/shared","plugin":"VolumeTopology","extension_point":"Filter"}},
 {"data":{"Average":0.5,"Perc50":0.4,"Perc99":0.9},"unit":"ms","labels":{"Metric":"scheduler_plugin_execution_duration_seconds","Name":"BenchmarkPerfScheduling/SharedDisks_VolumeTopology/5000Nodes/shared","plugin":"NodeAffinity","extension_point":"Filter"}},
 {"data":{"Average":50,"Perc50":52,"Perc99":60},"unit":"pods/s","labels":{"Metric":"SchedulingThroughput","Name":"BenchmarkPerfScheduling/SharedDisks_SeedRecipe/5000Nodes/shared"}},
 {"data":{"Average":400,"Perc50":380,"Perc99":500},"unit":"pods/s","labels":{"Metric":"SchedulingThroughput","Name":"BenchmarkPerfScheduling/NoVolumes_Default/5000Nodes/default"}}
]}`
	if err := os.WriteFile(filepath.Join(dir, "BenchmarkPerfScheduling_benchmark_volumetopology_2026-11-23T10:00:00Z.json"), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	// A second run of one workload: the table shows medians.
	second := `{"version":"v1","dataItems":[
 {"data":{"Average":100,"Perc50":90,"Perc99":120},"unit":"pods/s","labels":{"Metric":"SchedulingThroughput","Name":"BenchmarkPerfScheduling/SharedDisks_SeedRecipe/5000Nodes/shared"}}
]}`
	if err := os.WriteFile(filepath.Join(dir, "BenchmarkPerfScheduling_benchmark_volumetopology_2026-11-23T11:00:00Z.json"), []byte(second), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteViolations(dir, &Violations{TestCase: "SharedDisks_SeedRecipe", Workload: "5000Nodes", Nodes: 5000, Pods: 10, Scheduled: 10, Batched: 7, DoubleHolders: 0, DisksOverLimit: 2}); err != nil {
		t.Fatal(err)
	}

	rows, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Profile != ProfileVolumeTopology || rows[1].Profile != ProfileSeedRecipe || rows[2].Kind != WorkloadNoVolumes {
		t.Fatalf("rows = %+v", rows)
	}
	if rows[0].Filter == nil || rows[0].Filter.Perc99 != 0.02 {
		t.Errorf("VolumeTopology Filter = %+v, want p99 0.02", rows[0].Filter)
	}
	if rows[1].Violations == nil || rows[1].Violations.DisksOverLimit != 2 {
		t.Errorf("seed recipe violations = %+v", rows[1].Violations)
	}

	var out strings.Builder
	if err := WriteTable(&out, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| SharedDisks | VolumeTopology | 5000 | 1 | 300.0 | 310.0 | - | 0.020 | - |", "| SharedDisks | SeedRecipe | 5000 | 2 | 75.0 | 71.0 | - | - | 10 | 10 | 7 | 0 | 2 | 0 |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	targets := Targets(rows)
	if got := targets[0]; got.Got != 4 || got.Met() {
		t.Errorf("shared-disk target = %+v, want 4x (300 over the median 75) and missed", got)
	}
	if got := targets[1]; got.Got != 0 {
		t.Errorf("no-claims target = %+v, want not measured", got)
	}
	if got := targets[3]; got.Got != 0.75 || got.Met() {
		t.Errorf("shared disks over plain pods at 5000 nodes = %+v, want 0.75x (300 over 400) and missed", got)
	}
}

func TestAttachedAndReadWriteOnce(t *testing.T) {
	v := &Violations{ReadWriteOnce: 2, AttachedPods: 300, OnAttachedNode: 297}
	if got := v.OnAttachedCell(); got != "297/300" {
		t.Errorf("OnAttachedCell = %q, want 297/300", got)
	}
	if got := (&Violations{}).OnAttachedCell(); got != "-" {
		t.Errorf("OnAttachedCell without attached disks = %q, want -", got)
	}
	if got := v.Broken(); len(got) != 1 || got[0] != "2 single-attach disks used on two nodes at once" {
		t.Errorf("Broken = %q", got)
	}
	var out strings.Builder
	rows := []*Row{{Kind: WorkloadAttachedDisksReturn, Profile: ProfileDefault, Workload: "500Nodes", Nodes: 500, Violations: v}}
	if err := WriteTable(&out, rows); err != nil {
		t.Fatal(err)
	}
	if want := "| AttachedDisksReturn | Default | 500 | 0 | - | - | - | - | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 2 | 297/300 |"; !strings.Contains(out.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, out.String())
	}
}
