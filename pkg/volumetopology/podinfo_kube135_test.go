//go:build kube1.35

package volumetopology

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	schedpluginsutil "sigs.k8s.io/scheduler-plugins/test/util"
)

// mustNewPodInfo wraps a pod for the PreFilter extensions with
// scheduler-plugins' helper, which compiles against Kubernetes 1.35.
func mustNewPodInfo(t testing.TB, pod *v1.Pod) fwk.PodInfo {
	return schedpluginsutil.MustNewPodInfo(t, pod)
}
