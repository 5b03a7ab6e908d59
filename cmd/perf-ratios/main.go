// Command perf-ratios measures the throughput ratios of issue 16 the robust
// way: one compiled scheduler_perf binary (go test -c of test/perf), each
// test case in its own process, several rounds that alternate the order of
// the cases, then the medians against the targets, each run's throughput,
// VolumeTopology's and DiskLocality's share of the scheduling cycle, and the
// peak memory of every process (from its rusage).
//
//	go test -c -o bin/perf.test ./test/perf/
//	perf-ratios -bin bin/perf.test -dir test/perf -nodes 5000 -rounds 3 -out _output/perf-ratios
//
// make perf-ratios and make perf-scale run it.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/volume-topology/volume-topology-scheduler/test/perf/results"
)

// DefaultCases are the test cases of the ratios and the returning
// attached-disk pods.
var DefaultCases = []string{SharedVT, SharedSeed, NoVolumesDef, NoClaimsVT, NoClaimsDefault, AttachedVT, AttachedDefault}

func main() {
	bin := flag.String("bin", "", "the compiled perf test binary (go test -c ./test/perf/)")
	dir := flag.String("dir", "test/perf", "the directory the binary runs in (it reads performance-config.yaml there)")
	nodes := flag.Int("nodes", 5000, "the workload size: runs <case>/<nodes>Nodes")
	rounds := flag.Int("rounds", 3, "rounds; odd rounds run the cases in reverse order")
	label := flag.String("label", "performance", "the harness's -perf-scheduling-label-filter")
	cases := flag.String("cases", strings.Join(DefaultCases, ","), "test cases, comma-separated")
	out := flag.String("out", "_output/perf-ratios", "where each run's results and the report go")
	flag.Parse()
	if err := run(*bin, *dir, *label, *out, strings.Split(*cases, ","), *nodes, *rounds, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "perf-ratios: %v\n", err)
		os.Exit(1)
	}
}

func run(bin, dir, label, out string, cases []string, nodes, rounds int, stdout io.Writer) error {
	if bin == "" {
		return fmt.Errorf("-bin is required")
	}
	if nodes <= 0 || rounds <= 0 {
		return fmt.Errorf("-nodes and -rounds must be positive, got %d and %d", nodes, rounds)
	}
	for _, c := range cases {
		if c == "" || strings.ContainsAny(c, "/$^()|") {
			return fmt.Errorf("bad test case name %q", c)
		}
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	if out, err = filepath.Abs(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o750); err != nil {
		return err
	}
	var runs []Run
	failed := 0
	for round := range rounds {
		for _, c := range Order(cases, round) {
			r := runOne(bin, dir, label, out, c, nodes, round)
			if r.Err != "" {
				failed++
			}
			fmt.Fprintf(stdout, "round %d %s: %.1f pods/s, peak RSS %d MiB %s\n", round+1, c, r.Throughput, r.MaxRSSKiB/1024, r.Err)
			runs = append(runs, r)
		}
	}
	report, err := os.Create(filepath.Join(out, "report.md"))
	if err != nil {
		return err
	}
	defer report.Close()
	fmt.Fprintln(stdout)
	if err := WriteReport(io.MultiWriter(stdout, report), nodes, runs, Summarize(cases, runs)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(out, "report.md"))
	if failed > 0 {
		return fmt.Errorf("%d of %d runs failed (logs in %s)", failed, len(runs), out)
	}
	return nil
}

// runOne runs one test case in its own process and reads its results.
func runOne(bin, dir, label, out, testCase string, nodes, round int) Run {
	r := Run{Case: testCase, Round: round, OnAttached: "-"}
	name := fmt.Sprintf("r%d-%s", round+1, testCase)
	items := filepath.Join(out, name)
	if err := os.RemoveAll(items); err != nil {
		r.Err = err.Error()
		return r
	}
	logFile, err := os.Create(items + ".log")
	if err != nil {
		r.Err = err.Error()
		return r
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-test.run=^$",
		fmt.Sprintf("-test.bench=^BenchmarkPerfScheduling$/^%s$/^%dNodes$", testCase, nodes),
		"-test.benchtime=1ns", "-test.timeout=0",
		"-perf-scheduling-label-filter="+label, "-data-items-dir="+items)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logFile, logFile
	runErr := cmd.Run()
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.MaxRSSKiB = ru.Maxrss // KiB on Linux
		}
	}
	if runErr != nil {
		r.Err = fmt.Sprintf("%v (log %s)", runErr, logFile.Name())
	}
	rows, err := results.Load(items)
	if err != nil {
		r.Err = strings.TrimSpace(r.Err + " " + err.Error())
		return r
	}
	runFromRows(&r, rows)
	if r.Throughput == 0 && r.Err == "" {
		r.Err = fmt.Sprintf("no throughput measured (is %s/%dNodes labelled %q? log %s)", testCase, nodes, label, logFile.Name())
	}
	return r
}
