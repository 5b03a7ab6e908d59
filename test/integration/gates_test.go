//go:build !kube1.35 && !kube1.36

package integration

// podGroupGates turn on pod groups in the shared environment: the API
// serves scheduling.k8s.io/v1beta1 PodGroups and accepts spec.schedulingGroup,
// and the schedulers (the in-process one shares the API server's process-wide
// feature gates; replicas get the flag) schedule a group all or nothing with
// the GangScheduling plugin. GenericWorkload is beta and off by default in
// 1.37; there is no separate GangScheduling gate any more.
var podGroupGates = []string{"GenericWorkload=true"}

// podGroupAPIServerFlags are the API server flags that go with podGroupGates.
var podGroupAPIServerFlags = []string{
	"--feature-gates=GenericWorkload=true",
	"--runtime-config=scheduling.k8s.io/v1beta1=true",
}
