// Command perf-summary prints the results of the scheduler_perf benchmark in
// test/perf as one Markdown table: per workload and profile the scheduling
// throughput, VolumeTopology's PreFilter and Filter p99 and the disk rules
// the placement broke, then the throughput targets, the time per
// scheduled pod of each extension point with VolumeTopology's and
// DiskLocality's share of the scheduling cycle, and every plugin's time per
// extension point.
//
//	perf-summary -dir /tmp/perf-results
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/volume-topology/volume-topology-scheduler/test/perf/results"
)

func main() {
	dir := flag.String("dir", ".", "the benchmark's -data-items-dir")
	flag.Parse()
	if err := run(*dir); err != nil {
		fmt.Fprintf(os.Stderr, "perf-summary: %v\n", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	rows, err := results.Load(dir)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("no results in %s", dir)
	}
	if err := results.WriteTable(os.Stdout, rows); err != nil {
		return err
	}
	fmt.Println()
	fmt.Println("Targets:")
	if err := results.WriteTargets(os.Stdout, results.Targets(rows)); err != nil {
		return err
	}
	fmt.Println()
	fmt.Println("Time per scheduled pod (ms) and share of the scheduling cycle:")
	fmt.Println()
	if err := results.WriteShareTable(os.Stdout, rows); err != nil {
		return err
	}
	fmt.Println()
	fmt.Println("Plugins, time per scheduled pod (ms):")
	fmt.Println()
	return results.WritePluginTable(os.Stdout, rows)
}
