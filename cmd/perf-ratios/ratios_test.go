package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMedianAndOrder(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got, ok := Median(c.in); !ok || got != c.want {
			t.Errorf("Median(%v) = %v, %v; want %v", c.in, got, ok, c.want)
		}
	}
	if _, ok := Median(nil); ok {
		t.Errorf("Median of nothing is ok")
	}
	cases := []string{"a", "b", "c"}
	if got := Order(cases, 0); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("round 0 = %v", got)
	}
	if got := Order(cases, 1); !slices.Equal(got, []string{"c", "b", "a"}) {
		t.Errorf("round 1 = %v", got)
	}
	if got := Order(cases, 2); !slices.Equal(got, cases) || !slices.Equal(cases, []string{"a", "b", "c"}) {
		t.Errorf("round 2 = %v, cases now %v", got, cases)
	}
}

// Three rounds; the seed recipe failed once, which leaves it two runs.
func fixtureRuns() []Run {
	var runs []Run
	add := func(c string, round int, tp float64, rssKiB int64, vt float64, err string) {
		runs = append(runs, Run{Case: c, Round: round, Throughput: tp, MaxRSSKiB: rssKiB, CycleMs: 5, CycleOk: true, VTShare: vt, VTOk: vt > 0, OnAttached: "-", Err: err})
	}
	for round, v := range [][]float64{{200, 30, 250, 400, 410}, {180, 36, 260, 390, 400}, {220, 0, 240, 380, 395}} {
		errText := ""
		if v[1] == 0 {
			errText = "exit status 1"
		}
		add(SharedVT, round, v[0], 2048*1024, 0.04+float64(round)*0.01, "")
		add(SharedSeed, round, v[1], 1024*1024, 0, errText)
		add(NoVolumesDef, round, v[2], 1024*1024, 0, "")
		add(NoClaimsVT, round, v[3], 1024*1024, 0.001, "")
		add(NoClaimsDefault, round, v[4], 1024*1024, 0, "")
	}
	return runs
}

func TestSummaryAndTargets(t *testing.T) {
	cases := []string{SharedVT, SharedSeed, NoVolumesDef, NoClaimsVT, NoClaimsDefault}
	sums := Summarize(cases, fixtureRuns())
	if s := sums[0]; s.Runs != 3 || s.Throughput != 200 || s.VT != 0.05 || s.MaxRSSKiB != 2048*1024 || !slices.Equal(s.Throughputs, []string{"200.0", "180.0", "220.0"}) {
		t.Errorf("shared VT = %+v", s)
	}
	if s := sums[1]; s.Runs != 2 || s.Throughput != 33 || !slices.Equal(s.Throughputs, []string{"30.0", "36.0", "failed"}) {
		t.Errorf("seed = %+v, want the median 33 of the two runs that worked", s)
	}
	targets := Targets(sums)
	want := []struct {
		got     float64
		verdict string
	}{
		{200.0 / 33, "met"},  // 6.06x >= 5.5x
		{390.0 / 400, "met"}, // 0.975x >= 0.97x
		{200.0 / 250, "met"}, // 0.8x >= 0.8x, exactly at the target
	}
	for i, w := range want {
		if tg := targets[i]; !tg.Measured || tg.Got != w.got || tg.Verdict() != w.verdict {
			t.Errorf("target %d = %+v (%s), want %v %s", i, tg, tg.Verdict(), w.got, w.verdict)
		}
	}
	missed := Targets(Summarize(cases, append(fixtureRuns(), Run{Case: NoClaimsDefault, Round: 3, Throughput: 500}, Run{Case: NoClaimsDefault, Round: 4, Throughput: 500})))
	if tg := missed[1]; tg.Verdict() != "missed" || tg.Got != 390.0/410 {
		t.Errorf("no-claims target with a faster default = %+v (%s), want 390/410 missed (median of 395, 400, 410, 500, 500)", tg, tg.Verdict())
	}
	if tg := Targets(Summarize([]string{SharedVT}, fixtureRuns()))[0]; tg.Measured || tg.Verdict() != "not measured" {
		t.Errorf("target without the seed's runs = %+v", tg)
	}

	var out strings.Builder
	if err := WriteReport(&out, 5000, fixtureRuns(), sums); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"| 2 | SharedDisks_VolumeTopology | 180.0 | 2048 | 5.000 | 5.00% | - | - |  |",
		"| 3 | SharedDisks_SeedRecipe | - | 1024 | 5.000 | - | - | - | exit status 1 |",
		"| SharedDisks_VolumeTopology | 3 | 200.0 | 200.0, 180.0, 220.0 | 5.000 | 5.00% | - | 2048 | 2048, 2048, 2048 |",
		"| SharedDisks_SeedRecipe | 2 | 33.0 | 30.0, 36.0, failed | 5.000 | - | - | 1024 | 1024, 1024, 1024 |",
		"| NoClaims_VolumeTopology | 3 | 390.0 | 400.0, 390.0, 380.0 | 5.000 | 0.10% | - | 1024 | 1024, 1024, 1024 |",
		"| shared disks: VolumeTopology / seed recipe | 6.06x | >= 5.50x | met |",
		"| pods without our claims: VolumeTopology / default profile | 0.97x | >= 0.97x | met |",
		"| shared disks through VolumeTopology / plain pods through the default profile | 0.80x | >= 0.80x | met |",
	} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("report lacks\n%s\nin\n%s", line, out.String())
		}
	}
}

// run drives a fake perf binary: each process writes the result files of
// its test case, and the report holds what they wrote.
func TestRunWithFakeBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "perf.test")
	script := `#!/bin/sh
for a in "$@"; do case "$a" in
  -data-items-dir=*) d="${a#-data-items-dir=}";;
  -test.bench=*) b="${a#-test.bench=}";;
  -perf-scheduling-label-filter=*) l="${a#-perf-scheduling-label-filter=}";;
esac; done
echo "$b $l" >> "$(dirname "$0")/calls"
case "$b" in *Broken*) exit 3;; esac
c=$(echo "$b" | cut -d/ -f2 | tr -d '^$')
mkdir -p "$d"
tp=100; case "$c" in SharedDisks_SeedRecipe) tp=10;; esac
printf '{"dataItems":[{"data":{"Average":%s,"Perc50":1,"Perc99":1},"unit":"pods/s","labels":{"Metric":"SchedulingThroughput","Name":"BenchmarkPerfScheduling/%s/700Nodes/x"}}]}' "$tp" "$c" > "$d/BenchmarkPerfScheduling_benchmark_volumetopology_1.json"
printf '{"testCase":"%s","workload":"700Nodes","scheduled":10,"algorithm":{"count":10,"sum":0.1},"exact":{"VolumeTopology":{"PreFilter":{"count":10,"sum":0.002}}}}' "$c" > "$d/timing_x.json"
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var stdout strings.Builder
	err := run(bin, dir, "scale", out, []string{SharedVT, SharedSeed}, 700, 2, &stdout)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stdout.String())
	}
	calls, err := os.ReadFile(filepath.Join(dir, "calls"))
	if err != nil {
		t.Fatal(err)
	}
	wantCalls := "^BenchmarkPerfScheduling$/^SharedDisks_VolumeTopology$/^700Nodes$ scale\n" +
		"^BenchmarkPerfScheduling$/^SharedDisks_SeedRecipe$/^700Nodes$ scale\n" +
		"^BenchmarkPerfScheduling$/^SharedDisks_SeedRecipe$/^700Nodes$ scale\n" +
		"^BenchmarkPerfScheduling$/^SharedDisks_VolumeTopology$/^700Nodes$ scale\n"
	if string(calls) != wantCalls {
		t.Errorf("calls:\n%s\nwant\n%s", calls, wantCalls)
	}
	report, err := os.ReadFile(filepath.Join(out, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"| SharedDisks_VolumeTopology | 2 | 100.0 | 100.0, 100.0 | 10.000 | 2.00% | - |",
		"| shared disks: VolumeTopology / seed recipe | 10.00x | >= 5.50x | met |",
	} {
		if !strings.Contains(string(report), line) {
			t.Errorf("report lacks %q:\n%s", line, report)
		}
	}

	// A failing process fails the run, after the report.
	err = run(bin, dir, "scale", out, []string{"Broken_VolumeTopology"}, 700, 1, &stdout)
	if err == nil || !strings.Contains(err.Error(), "1 of 1 runs failed") {
		t.Errorf("run with a failing process: %v", err)
	}
	if err := run(bin, dir, "scale", out, []string{"a/b"}, 700, 1, &stdout); err == nil || !strings.Contains(err.Error(), `bad test case name "a/b"`) {
		t.Errorf("run with a bad case: %v", err)
	}
}
