//go:build !kube1.35 && !kube1.36

package perf

import (
	"time"

	perf "k8s.io/kubernetes/test/integration/scheduler_perf"
)

// podsSchedulingTimeout is how long a createPods op may wait for its pods.
// The harness's default, 10 minutes, is near what the seed's recipe needs
// for 3200 shared-disk pods at 15,000 nodes (label scale); the harness's own
// 30 minutes per workload still bounds the whole run.
const podsSchedulingTimeout = 25 * time.Minute

// perfOptions are the harness options of this Kubernetes minor.
func perfOptions() []perf.SchedulerPerfOption {
	return []perf.SchedulerPerfOption{perf.WithPrepareFn(prepareWorkload), perf.WithPodsSchedulingTimeout(podsSchedulingTimeout)}
}
