package results

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// dataItems is the harness's result file (scheduler_perf DataItems):
// <Benchmark>_benchmark_<topic>_<time>.json in -data-items-dir.
type dataItems struct {
	DataItems []struct {
		Data   map[string]float64 `json:"data"`
		Unit   string             `json:"unit"`
		Labels map[string]string  `json:"labels"`
	} `json:"dataItems"`
}

// Stat is one measurement's average and median.
type Stat struct {
	Average, Perc50, Perc99 float64
}

// Row is one workload of one test case.
type Row struct {
	TestCase, Workload string
	// Kind and Profile are the two halves of the test case name.
	Kind, Profile string
	Nodes         int
	// Throughput is SchedulingThroughput in pods/s; nil when the harness
	// sampled none (a workload shorter than a second).
	Throughput *Stat
	// PreFilter and Filter are VolumeTopology's execution times in ms; nil
	// when the profile does not run the plugin (or it was never sampled).
	PreFilter, Filter *Stat
	// Violations are the counts of the violation check; nil when missing.
	Violations *Violations
	// Timing is the scheduler's own time per extension point and plugin;
	// nil when missing. With several runs, the last one's.
	Timing *Timing
	// Runs is how many runs measured the throughput. With more than one,
	// every Stat field is the median over the runs, and Averages lists
	// each run's average in the order of the result files.
	Runs     int
	Averages []float64

	throughput, preFilter, filter []Stat
}

// Load reads every result file and violations file in dir. When several runs
// wrote results for one workload, the newest file wins.
func Load(dir string) ([]*Row, error) {
	rows := map[[2]string]*Row{}
	row := func(testCase, workload string) *Row {
		k := [2]string{testCase, workload}
		if r := rows[k]; r != nil {
			return r
		}
		kind, profile := SplitTestCase(testCase)
		r := &Row{TestCase: testCase, Workload: workload, Kind: kind, Profile: profile, Nodes: NodesOf(workload)}
		rows[k] = r
		return r
	}

	files, err := filepath.Glob(filepath.Join(dir, "*_benchmark_*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files) // the names end in the run's time stamp
	for _, f := range files {
		var items dataItems
		if err := readJSON(f, &items); err != nil {
			return nil, err
		}
		for _, it := range items.DataItems {
			testCase, workload, ok := SplitBenchmarkName(it.Labels["Name"])
			if !ok {
				continue
			}
			s := Stat{Average: it.Data["Average"], Perc50: it.Data["Perc50"], Perc99: it.Data["Perc99"]}
			switch it.Labels["Metric"] {
			case "SchedulingThroughput":
				if it.Data != nil {
					r := row(testCase, workload)
					r.throughput = append(r.throughput, s)
				}
			case "scheduler_plugin_execution_duration_seconds":
				if it.Labels["plugin"] != "VolumeTopology" {
					continue
				}
				r := row(testCase, workload)
				switch it.Labels["extension_point"] {
				case "PreFilter":
					r.preFilter = append(r.preFilter, s)
				case "Filter":
					r.filter = append(r.filter, s)
				}
			}
		}
	}
	for _, r := range rows {
		r.Throughput, r.PreFilter, r.Filter = median(r.throughput), median(r.preFilter), median(r.filter)
		r.Runs = len(r.throughput)
		for _, s := range r.throughput {
			r.Averages = append(r.Averages, s.Average)
		}
	}

	files, err = filepath.Glob(filepath.Join(dir, ViolationsPrefix+"*.json"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		v := &Violations{}
		if err := readJSON(f, v); err != nil {
			return nil, err
		}
		r := row(v.TestCase, v.Workload)
		r.Violations = v
		if v.Nodes > 0 {
			r.Nodes = v.Nodes
		}
	}

	timings, err := loadTimings(dir)
	if err != nil {
		return nil, err
	}
	for _, t := range timings {
		row(t.TestCase, t.Workload).Timing = t
	}

	out := make([]*Row, 0, len(rows))
	for _, r := range rows {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *Row) int {
		return cmp.Or(
			cmp.Compare(rank(kinds, a.Kind), rank(kinds, b.Kind)),
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Nodes, b.Nodes),
			cmp.Compare(a.Workload, b.Workload),
			cmp.Compare(rank(profiles, a.Profile), rank(profiles, b.Profile)),
			cmp.Compare(a.Profile, b.Profile),
		)
	})
	return out, nil
}

var (
	kinds    = []string{WorkloadSharedDisks, WorkloadNoVolumes, WorkloadOverSubscribed, WorkloadNoClaims, WorkloadOtherDriverClaims, WorkloadWFFC, WorkloadAttachedDisksReturn}
	profiles = []string{ProfileVolumeTopology, ProfileSeedRecipe, ProfileDefault}
)

func rank(order []string, s string) int {
	if i := slices.Index(order, s); i >= 0 {
		return i
	}
	return len(order)
}

// median returns the median of each field over the runs; nil for none.
func median(runs []Stat) *Stat {
	if len(runs) == 0 {
		return nil
	}
	field := func(get func(Stat) float64) float64 {
		vals := make([]float64, len(runs))
		for i, s := range runs {
			vals[i] = get(s)
		}
		slices.Sort(vals)
		if n := len(vals); n%2 == 0 {
			return (vals[n/2-1] + vals[n/2]) / 2
		}
		return vals[len(vals)/2]
	}
	return &Stat{
		Average: field(func(s Stat) float64 { return s.Average }),
		Perc50:  field(func(s Stat) float64 { return s.Perc50 }),
		Perc99:  field(func(s Stat) float64 { return s.Perc99 }),
	}
}

func readJSON(file string, v any) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return nil
}

// WriteTable prints the rows as a Markdown table. With several runs of a
// workload, throughput and plugin times are medians over the runs.
func WriteTable(w io.Writer, rows []*Row) error {
	header := []string{"workload", "profile", "nodes", "runs", "pods/s avg", "pods/s p50", "VT PreFilter p99 ms", "VT Filter p99 ms",
		"pods", "scheduled", "batched", "pending", "disks >16/zone", "double holders", "not NVMe", "outside zone", "zone conflicts", "RWO on two nodes", "on attached node"}
	var b strings.Builder
	line := func(cells []string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
		if i >= 2 {
			sep[i] = "--:"
		}
	}
	line(sep)
	for _, r := range rows {
		cells := []string{r.Kind + suffix(r.Workload), r.Profile, fmt.Sprint(r.Nodes), fmt.Sprint(r.Runs)}
		if r.Throughput != nil {
			cells = append(cells, fmt.Sprintf("%.1f", r.Throughput.Average), fmt.Sprintf("%.1f", r.Throughput.Perc50))
		} else {
			cells = append(cells, "-", "-")
		}
		for _, s := range []*Stat{r.PreFilter, r.Filter} {
			if s != nil {
				cells = append(cells, fmt.Sprintf("%.3f", s.Perc99))
			} else {
				cells = append(cells, "-")
			}
		}
		if v := r.Violations; v != nil {
			for _, n := range []int{v.Pods, v.Scheduled, v.Batched, v.Pending, v.DisksOverLimit, v.DoubleHolders, v.NotNVMe, v.OutsideDiskZone, v.ZoneConflicts, v.ReadWriteOnce} {
				cells = append(cells, fmt.Sprint(n))
			}
			cells = append(cells, v.OnAttachedCell())
			if v.Failed {
				cells[0] += " (failed)"
			}
		} else {
			for range 11 {
				cells = append(cells, "-")
			}
		}
		line(cells)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// OnAttachedCell shows how many pods of attached disks landed on a node
// their disk is attached to ("300/300"), "-" when no pod had one.
func (v *Violations) OnAttachedCell() string {
	if v.AttachedPods == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d", v.OnAttachedNode, v.AttachedPods)
}

// suffix shows what a workload name adds to its node count ("_short").
func suffix(workload string) string {
	rest := strings.TrimPrefix(workload[len(leadingNumber.FindString(workload)):], "Nodes")
	return rest
}

// Target is one of the throughput targets, measured.
type Target struct {
	Name string
	// Want is the ratio to reach; Got is the measured one (0 when a side
	// is missing).
	Want, Got float64
	// Detail names the two throughputs compared.
	Detail string
}

// Met tells whether the target was reached.
func (t Target) Met() bool { return t.Got >= t.Want }

// Targets computes the targets from the full-size workloads
// ("<n>Nodes" with no suffix).
func Targets(rows []*Row) []Target {
	find := func(kind, profile string, nodes int) *Row {
		for _, r := range rows {
			if r.Kind == kind && r.Profile == profile && r.Workload == fmt.Sprintf("%dNodes", nodes) && r.Throughput != nil {
				return r
			}
		}
		return nil
	}
	ratio := func(name string, want float64, a, b *Row) Target {
		t := Target{Name: name, Want: want}
		if a != nil && b != nil && b.Throughput.Average > 0 {
			t.Got = a.Throughput.Average / b.Throughput.Average
			t.Detail = fmt.Sprintf("%.1f / %.1f pods/s", a.Throughput.Average, b.Throughput.Average)
		}
		return t
	}
	return []Target{
		ratio("shared disks, 5000 nodes: VolumeTopology / seed recipe", 5.5,
			find(WorkloadSharedDisks, ProfileVolumeTopology, 5000), find(WorkloadSharedDisks, ProfileSeedRecipe, 5000)),
		ratio("pods without our claims, 500 nodes: VolumeTopology / default", 0.97,
			find(WorkloadNoClaims, ProfileVolumeTopology, 500), find(WorkloadNoClaims, ProfileDefault, 500)),
		ratio("pods without our claims, 5000 nodes: VolumeTopology / default", 0.97,
			find(WorkloadNoClaims, ProfileVolumeTopology, 5000), find(WorkloadNoClaims, ProfileDefault, 5000)),
		ratio("5000 nodes: shared disks through VolumeTopology / plain pods through the default profile", 0.8,
			find(WorkloadSharedDisks, ProfileVolumeTopology, 5000), find(WorkloadNoVolumes, ProfileDefault, 5000)),
	}
}

// WriteTargets prints the targets, one per line.
func WriteTargets(w io.Writer, targets []Target) error {
	var b strings.Builder
	for _, t := range targets {
		if t.Got == 0 {
			fmt.Fprintf(&b, "- %s: not measured (target >= %.2fx)\n", t.Name, t.Want)
			continue
		}
		verdict := "missed"
		if t.Met() {
			verdict = "met"
		}
		fmt.Fprintf(&b, "- %s: %.2fx, %s (target >= %.2fx; %s)\n", t.Name, t.Got, verdict, t.Want, t.Detail)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
