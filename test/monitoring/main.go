// Command monitoring-check checks volume-topology-scheduler's monitoring
// objects (the Helm chart's, rendered with its monitoring values on, or the
// kustomize component's) with Prometheus' own code, and prints the metric
// names they use.
//
//	monitoring-check [FILE...]   (no FILE or "-": standard input)
//
// It reads a stream of YAML documents and checks
//   - each PrometheusRule: strictly decoded as the Prometheus Operator's
//     type, its groups parsed by Prometheus' rule file parser (rulefmt: every
//     expression through the PromQL parser, every annotation template
//     through Prometheus' template parser), and every alert written in the
//     kubernetes-mixin style: a for duration, a severity label and the
//     summary, description and runbook_url annotations;
//   - each ServiceMonitor: strictly decoded as the Prometheus Operator's type;
//   - each ConfigMap key ending in .json: a Grafana dashboard whose panels
//     use the templated data source and whose expressions (with the
//     dashboard's variables filled in) and query variables parse as PromQL.
//
// Other objects are skipped. It prints one line per metric name the
// expressions select, "NAME<TAB>WHERE<TAB>WHERE...", sorted; any problem
// is printed instead and the exit status is 1. test/install compares the
// names with the metrics the scheduler registers.
//
// This is a Go module of its own so that Prometheus' dependencies never move
// the scheduler's pinned Kubernetes libraries (make monitoring-check builds
// bin/monitoring-check).
package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(os.Stderr, "usage: monitoring-check [FILE...] (no FILE or -: standard input)")
		os.Exit(2)
	}
	if len(args) == 0 {
		args = []string{"-"}
	}
	var objs []object
	for _, path := range args {
		var data []byte
		var err error
		if path == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(path)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "monitoring-check:", err)
			os.Exit(1)
		}
		o, err := decodeObjects(path, data)
		if err != nil {
			fmt.Fprintln(os.Stderr, "monitoring-check:", err)
			os.Exit(1)
		}
		objs = append(objs, o...)
	}
	r, err := check(objs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "monitoring-check:", strings.ReplaceAll(err.Error(), "\n", "\n  "))
		os.Exit(1)
	}
	for _, name := range slices.Sorted(maps.Keys(r.metrics)) {
		fmt.Printf("%s\t%s\n", name, strings.Join(slices.Sorted(slices.Values(r.metrics[name])), "\t"))
	}
}
