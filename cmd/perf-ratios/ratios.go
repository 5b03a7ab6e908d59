package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/volume-topology/volume-topology-scheduler/test/perf/results"
)

// Test cases the ratios compare.
const (
	SharedVT        = "SharedDisks_VolumeTopology"
	SharedSeed      = "SharedDisks_SeedRecipe"
	NoVolumesDef    = "NoVolumes_Default"
	NoClaimsVT      = "NoClaims_VolumeTopology"
	NoClaimsDefault = "NoClaims_Default"
	AttachedVT      = "AttachedDisksReturn_VolumeTopology"
	AttachedDefault = "AttachedDisksReturn_Default"
)

// Run is one test case run in its own process.
type Run struct {
	Case  string
	Round int
	// Throughput is the harness's SchedulingThroughput average in pods/s;
	// 0 when the run measured none.
	Throughput float64
	// MaxRSSKiB is the process's peak resident set (the largest of the
	// test process and the children it waited for, such as etcd).
	MaxRSSKiB int64
	// VTShare and DLShare are VolumeTopology's and DiskLocality's share of
	// the scheduling cycle, CycleMs the cycle per scheduled pod; ok false
	// when not measured.
	CycleMs          float64
	VTShare, DLShare float64
	VTOk, DLOk       bool
	CycleOk          bool
	// OnAttached is the "on attached node" count, "-" when none.
	OnAttached string
	// Err is set when the process failed.
	Err string
}

// Order returns the cases of a round: as given in even rounds, reversed in
// odd ones, so each pair of sides runs in both orders.
func Order(cases []string, round int) []string {
	out := slices.Clone(cases)
	if round%2 == 1 {
		slices.Reverse(out)
	}
	return out
}

// Median returns the median of vals (the mean of the middle two for an even
// count); ok is false for none.
func Median(vals []float64) (float64, bool) {
	if len(vals) == 0 {
		return 0, false
	}
	s := slices.Clone(vals)
	slices.Sort(s)
	n := len(s)
	if n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2, true
	}
	return s[n/2], true
}

// Summary is a case's medians over its successful runs.
type Summary struct {
	Case                 string
	Runs                 int
	Throughput           float64
	ThroughputOk         bool
	CycleMs, VT, DL      float64
	CycleOk, VTOk, DLOk  bool
	MaxRSSKiB            int64
	Throughputs, RSSMiBs []string
}

// Summarize computes each case's medians, in the order of cases.
func Summarize(cases []string, runs []Run) []Summary {
	var out []Summary
	for _, c := range cases {
		s := Summary{Case: c}
		var tp, cyc, vt, dl []float64
		for _, r := range runs {
			if r.Case != c {
				continue
			}
			cell := "failed"
			if r.Err == "" && r.Throughput > 0 {
				tp = append(tp, r.Throughput)
				cell = fmt.Sprintf("%.1f", r.Throughput)
			}
			s.Throughputs = append(s.Throughputs, cell)
			s.RSSMiBs = append(s.RSSMiBs, fmt.Sprint(r.MaxRSSKiB/1024))
			s.MaxRSSKiB = max(s.MaxRSSKiB, r.MaxRSSKiB)
			if r.CycleOk {
				cyc = append(cyc, r.CycleMs)
			}
			if r.VTOk {
				vt = append(vt, r.VTShare)
			}
			if r.DLOk {
				dl = append(dl, r.DLShare)
			}
		}
		s.Runs = len(tp)
		s.Throughput, s.ThroughputOk = Median(tp)
		s.CycleMs, s.CycleOk = Median(cyc)
		s.VT, s.VTOk = Median(vt)
		s.DL, s.DLOk = Median(dl)
		out = append(out, s)
	}
	return out
}

// Target is one ratio of issue 16, from the medians.
type Target struct {
	Name      string
	Num, Den  string
	Want, Got float64
	Measured  bool
}

// Verdict is "met", "missed" or "not measured".
func (t Target) Verdict() string {
	switch {
	case !t.Measured:
		return "not measured"
	case t.Got >= t.Want:
		return "met"
	default:
		return "missed"
	}
}

// Targets computes the three ratios of issue 16 from the summaries.
func Targets(sums []Summary) []Target {
	find := func(c string) (float64, bool) {
		for _, s := range sums {
			if s.Case == c {
				return s.Throughput, s.ThroughputOk
			}
		}
		return 0, false
	}
	ratio := func(name, num, den string, want float64) Target {
		t := Target{Name: name, Num: num, Den: den, Want: want}
		a, okA := find(num)
		b, okB := find(den)
		if okA && okB && b > 0 {
			t.Got, t.Measured = a/b, true
		}
		return t
	}
	return []Target{
		ratio("shared disks: VolumeTopology / seed recipe", SharedVT, SharedSeed, 5.5),
		ratio("pods without our claims: VolumeTopology / default profile", NoClaimsVT, NoClaimsDefault, 0.97),
		ratio("shared disks through VolumeTopology / plain pods through the default profile", SharedVT, NoVolumesDef, 0.8),
	}
}

func pct(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", v*100)
}

// WriteReport prints the runs, the medians with the share of the cycle and
// peak memory, and the targets.
func WriteReport(w io.Writer, nodes int, runs []Run, sums []Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Runs at %d nodes (one process each, in this order):\n\n", nodes)
	b.WriteString("| round | test case | pods/s | peak RSS MiB | cycle ms/pod | VT share | DiskLocality share | on attached node | error |\n")
	b.WriteString("| --: | --- | --: | --: | --: | --: | --: | --: | --- |\n")
	for _, r := range runs {
		tp := "-"
		if r.Throughput > 0 {
			tp = fmt.Sprintf("%.1f", r.Throughput)
		}
		cyc := "-"
		if r.CycleOk {
			cyc = fmt.Sprintf("%.3f", r.CycleMs)
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %d | %s | %s | %s | %s | %s |\n", r.Round+1, r.Case, tp, r.MaxRSSKiB/1024, cyc,
			pct(r.VTShare, r.VTOk), pct(r.DLShare, r.DLOk), r.OnAttached, r.Err)
	}
	fmt.Fprintf(&b, "\nMedians at %d nodes:\n\n", nodes)
	b.WriteString("| test case | runs | pods/s median | pods/s each run | cycle ms/pod | VT share | DiskLocality share | peak RSS MiB (max) | each run |\n")
	b.WriteString("| --- | --: | --: | --- | --: | --: | --: | --: | --- |\n")
	for _, s := range sums {
		tp := "-"
		if s.ThroughputOk {
			tp = fmt.Sprintf("%.1f", s.Throughput)
		}
		cyc := "-"
		if s.CycleOk {
			cyc = fmt.Sprintf("%.3f", s.CycleMs)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %d | %s |\n", s.Case, s.Runs, tp, strings.Join(s.Throughputs, ", "), cyc,
			pct(s.VT, s.VTOk), pct(s.DL, s.DLOk), s.MaxRSSKiB/1024, strings.Join(s.RSSMiBs, ", "))
	}
	fmt.Fprintf(&b, "\nTargets at %d nodes (issue 16, medians):\n\n", nodes)
	b.WriteString("| target | ratio | want | verdict |\n| --- | --: | --: | --- |\n")
	for _, t := range Targets(sums) {
		got := "-"
		if t.Measured {
			got = fmt.Sprintf("%.2fx", t.Got)
		}
		fmt.Fprintf(&b, "| %s | %s | >= %.2fx | %s |\n", t.Name, got, t.Want, t.Verdict())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// runFromRows fills a run's measurements from the result files of its
// process.
func runFromRows(r *Run, rows []*results.Row) {
	for _, row := range rows {
		if row.TestCase != r.Case {
			continue
		}
		if row.Throughput != nil {
			r.Throughput = row.Throughput.Average
		}
		if t := row.Timing; t != nil {
			r.CycleMs, r.CycleOk = t.CycleMs()
			_, r.VTShare, r.VTOk = t.Share(results.PluginVolumeTopology)
			_, r.DLShare, r.DLOk = t.Share(results.PluginDiskLocality)
		}
		r.OnAttached = "-"
		if row.Violations != nil {
			r.OnAttached = row.Violations.OnAttachedCell()
		}
	}
}
