//go:build kube1.35 || kube1.36

package perf

import perf "k8s.io/kubernetes/test/integration/scheduler_perf"

// perfOptions are the harness options of this Kubernetes minor: before 1.37
// the harness has no option for its pods' scheduling timeout (10 minutes).
func perfOptions() []perf.SchedulerPerfOption {
	return []perf.SchedulerPerfOption{perf.WithPrepareFn(prepareWorkload)}
}
