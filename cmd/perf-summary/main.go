// Command perf-summary prints the results of the scheduler_perf benchmark in
// test/perf as one Markdown table: per workload and profile the scheduling
// throughput, VolumeTopology's PreFilter and Filter p99 and the disk rules
// the placement broke, then the throughput targets.
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
	return results.WriteTargets(os.Stdout, results.Targets(rows))
}
