package results

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Extension points the share tables show, in the order the scheduler runs
// them. ShareExtensionPoints are the ones counted in a plugin's share of the
// scheduling cycle: the scheduling algorithm's own (Reserve runs after it).
var (
	ExtensionPoints      = []string{"PreFilter", "Filter", "PostFilter", "PreScore", "Score", "Reserve"}
	ShareExtensionPoints = []string{"PreFilter", "Filter", "PostFilter", "PreScore", "Score"}
)

// Plugin names the share table reports on its own.
const (
	PluginVolumeTopology = "VolumeTopology"
	PluginDiskLocality   = "DiskLocality"
)

// Histogram is one histogram series: how many observations and their sum in
// seconds.
type Histogram struct {
	Count uint64  `json:"count"`
	Sum   float64 `json:"sum"`
}

func (h *Histogram) add(o Histogram) {
	h.Count += o.Count
	h.Sum += o.Sum
}

// Timing is what the scheduler's own histograms recorded over a workload's
// measured op (the harness resets them when it starts collecting): sums and
// counts, which the harness's data items (averages and percentiles only) do
// not carry. The benchmark writes it after each workload.
type Timing struct {
	TestCase string `json:"testCase"`
	Workload string `json:"workload"`

	// Scheduled counts the pods scheduled in the window
	// (scheduler_scheduling_attempt_duration_seconds{result="scheduled"}).
	Scheduled uint64 `json:"scheduled"`
	// Algorithm is scheduler_scheduling_algorithm_duration_seconds, every
	// attempt: PreFilter to Score, plus PostFilter when a pod does not fit.
	Algorithm Histogram `json:"algorithm"`
	// ExtensionPoints is scheduler_framework_extension_point_duration_seconds
	// per extension point, every attempt (all statuses and profiles).
	ExtensionPoints map[string]Histogram `json:"extensionPoints"`
	// Plugins is scheduler_plugin_execution_duration_seconds per plugin and
	// extension point. kube-scheduler records it in a sample of the
	// scheduling cycles only (10%), and Filter once per node filtered.
	Plugins map[string]map[string]Histogram `json:"plugins"`
	// Exact is every call of our plugins (VolumeTopology, DiskLocality) per
	// extension point, timed by the benchmark's wrapper: calls and seconds,
	// not sampled. For Filter (once per node, on parallel workers) it is
	// the CPU time summed over the nodes filtered.
	Exact map[string]map[string]Histogram `json:"exact,omitempty"`
}

// Add records one observation series into the timing, by metric name and
// labels; other metrics are ignored. Series of one extension point (or
// plugin and extension point) with different statuses or profiles add up.
func (t *Timing) Add(metric string, labels map[string]string, h Histogram) {
	switch metric {
	case "scheduler_scheduling_attempt_duration_seconds":
		if labels["result"] == "scheduled" {
			t.Scheduled += h.Count
		}
	case "scheduler_scheduling_algorithm_duration_seconds":
		t.Algorithm.add(h)
	case "scheduler_framework_extension_point_duration_seconds":
		if t.ExtensionPoints == nil {
			t.ExtensionPoints = map[string]Histogram{}
		}
		s := t.ExtensionPoints[labels["extension_point"]]
		s.add(h)
		t.ExtensionPoints[labels["extension_point"]] = s
	case "scheduler_plugin_execution_duration_seconds":
		if t.Plugins == nil {
			t.Plugins = map[string]map[string]Histogram{}
		}
		p := t.Plugins[labels["plugin"]]
		if p == nil {
			p = map[string]Histogram{}
			t.Plugins[labels["plugin"]] = p
		}
		s := p[labels["extension_point"]]
		s.add(h)
		p[labels["extension_point"]] = s
	}
}

// Minus returns the timing of what happened since base: every count and sum
// less base's. The harness resets the metric vectors between workloads,
// but not plain histograms such as the scheduling algorithm's, which keep
// counting across the workloads of one process.
func (t *Timing) Minus(base *Timing) *Timing {
	out := &Timing{TestCase: t.TestCase, Workload: t.Workload, Exact: t.Exact}
	out.Scheduled = t.Scheduled - min(base.Scheduled, t.Scheduled)
	out.Algorithm = minus(t.Algorithm, base.Algorithm)
	for ep, h := range t.ExtensionPoints {
		if out.ExtensionPoints == nil {
			out.ExtensionPoints = map[string]Histogram{}
		}
		out.ExtensionPoints[ep] = minus(h, base.ExtensionPoints[ep])
	}
	for p, eps := range t.Plugins {
		if out.Plugins == nil {
			out.Plugins = map[string]map[string]Histogram{}
		}
		out.Plugins[p] = map[string]Histogram{}
		for ep, h := range eps {
			out.Plugins[p][ep] = minus(h, base.Plugins[p][ep])
		}
	}
	return out
}

func minus(h, base Histogram) Histogram {
	if base.Count > h.Count {
		return h // reset in between: h is all since
	}
	return Histogram{Count: h.Count - base.Count, Sum: h.Sum - base.Sum}
}

// TimingMetrics are the metric names Add reads.
var TimingMetrics = []string{
	"scheduler_scheduling_attempt_duration_seconds",
	"scheduler_scheduling_algorithm_duration_seconds",
	"scheduler_framework_extension_point_duration_seconds",
	"scheduler_plugin_execution_duration_seconds",
}

// CycleMs is the scheduling algorithm's time per scheduled pod in ms: every
// attempt's PreFilter to Score (and PostFilter), failed attempts included,
// over the pods scheduled. ok is false when no pod was scheduled.
func (t *Timing) CycleMs() (float64, bool) {
	if t.Scheduled == 0 || t.Algorithm.Count == 0 {
		return 0, false
	}
	return t.Algorithm.Sum * 1000 / float64(t.Scheduled), true
}

// ExtensionPointMs is the time per scheduled pod the scheduler spent in an
// extension point, all plugins, in ms (not sampled).
func (t *Timing) ExtensionPointMs(ep string) (float64, bool) {
	h, ok := t.ExtensionPoints[ep]
	if !ok || t.Scheduled == 0 {
		return 0, false
	}
	return h.Sum * 1000 / float64(t.Scheduled), true
}

// PluginMs is the time per scheduled pod one plugin spent in an extension
// point, in ms. For a plugin the benchmark timed (Exact), it is every
// call's time over the pods scheduled. Otherwise the plugin metric, which
// is sampled, is used only for the split: the extension point's full time (ExtensionPointMs, every cycle)
// times the plugin's part of all plugins' sampled time there. For Filter the
// sampled times are summed over nodes and the parallel workers; the split
// then gives the plugin its part of the phase's wall time. ok is false when
// the extension point or no plugin there was measured.
func (t *Timing) PluginMs(plugin, ep string) (float64, bool) {
	if exact, ok := t.Exact[plugin]; ok {
		h, ok := exact[ep]
		if !ok || t.Scheduled == 0 {
			return 0, false
		}
		return h.Sum * 1000 / float64(t.Scheduled), true
	}
	epMs, ok := t.ExtensionPointMs(ep)
	if !ok {
		return 0, false
	}
	var all float64
	for _, p := range t.Plugins {
		all += p[ep].Sum
	}
	if all == 0 {
		return 0, false
	}
	mine, ok := t.Plugins[plugin][ep]
	if !ok {
		return 0, false
	}
	return epMs * mine.Sum / all, true
}

// Share is a plugin's time per scheduled pod over ShareExtensionPoints,
// over the scheduling algorithm's time per pod (CycleMs). ok is false when
// the cycle was not measured or the plugin never was.
func (t *Timing) Share(plugin string) (ms, share float64, ok bool) {
	cycle, ok := t.CycleMs()
	if !ok {
		return 0, 0, false
	}
	seen := false
	for _, ep := range ShareExtensionPoints {
		if v, ok := t.PluginMs(plugin, ep); ok {
			ms += v
			seen = true
		}
	}
	if !seen {
		return 0, 0, false
	}
	return ms, ms / cycle, true
}

// TimingPrefix starts the name of every timing file.
const TimingPrefix = "timing_"

// TimingFile is where the timing of one workload goes in dir.
func TimingFile(dir, testCase, workload string) string {
	return workloadFile(dir, TimingPrefix, testCase, workload)
}

// WriteTiming writes the timing of one workload into dir.
func WriteTiming(dir string, t *Timing) (string, error) {
	file := TimingFile(dir, t.TestCase, t.Workload)
	return file, writeJSON(dir, file, t)
}

// loadTimings reads every timing file in dir.
func loadTimings(dir string) ([]*Timing, error) {
	files, err := filepath.Glob(filepath.Join(dir, TimingPrefix+"*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Timing
	for _, f := range files {
		t := &Timing{}
		if err := readJSON(f, t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func msCell(v float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}

func shareCell(ms, share float64, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.3f ms, %.2f%%", ms, share*100)
}

// WriteShareTable prints, per workload with a timing, the cycle and each
// extension point per scheduled pod, VolumeTopology's time at each, and
// VolumeTopology's and DiskLocality's share of the cycle.
func WriteShareTable(w io.Writer, rows []*Row) error {
	header := []string{"workload", "profile", "nodes", "pods", "cycle ms/pod"}
	for _, ep := range ExtensionPoints {
		header = append(header, ep)
	}
	for _, ep := range ShareExtensionPoints {
		header = append(header, "VT "+ep)
	}
	header = append(header, "VT share", "DiskLocality share")
	var b strings.Builder
	writeHeader(&b, header, 2)
	for _, r := range rows {
		t := r.Timing
		if t == nil {
			continue
		}
		cycle, ok := t.CycleMs()
		cells := []string{r.Kind + suffix(r.Workload), r.Profile, fmt.Sprint(r.Nodes), fmt.Sprint(t.Scheduled), msCell(cycle, ok)}
		for _, ep := range ExtensionPoints {
			cells = append(cells, msCell(t.ExtensionPointMs(ep)))
		}
		for _, ep := range ShareExtensionPoints {
			cells = append(cells, msCell(t.PluginMs(PluginVolumeTopology, ep)))
		}
		cells = append(cells, shareCell(t.Share(PluginVolumeTopology)), shareCell(t.Share(PluginDiskLocality)))
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WritePluginTable prints every plugin's time per scheduled pod at each
// extension point, per workload: the sampled split of the scheduler's
// extension-point times (see PluginMs).
func WritePluginTable(w io.Writer, rows []*Row) error {
	header := append([]string{"workload", "profile", "nodes", "plugin"}, ExtensionPoints...)
	var b strings.Builder
	writeHeader(&b, header, 2)
	for _, r := range rows {
		t := r.Timing
		if t == nil {
			continue
		}
		names := slices.Collect(maps.Keys(t.Plugins))
		for p := range t.Exact {
			if !slices.Contains(names, p) {
				names = append(names, p)
			}
		}
		slices.Sort(names)
		for _, plugin := range names {
			cells := []string{r.Kind + suffix(r.Workload), r.Profile, fmt.Sprint(r.Nodes), plugin}
			any := false
			for _, ep := range ExtensionPoints {
				v, ok := t.PluginMs(plugin, ep)
				any = any || ok
				cells = append(cells, msCell(v, ok))
			}
			if any {
				b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeHeader writes a Markdown table header; columns from rightFrom on are
// right-aligned.
func writeHeader(b *strings.Builder, header []string, rightFrom int) {
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
		if i >= rightFrom {
			sep[i] = "--:"
		}
	}
	b.WriteString("| " + strings.Join(sep, " | ") + " |\n")
}

func writeJSON(dir, file string, v any) error {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(data, '\n'), 0o644)
}
