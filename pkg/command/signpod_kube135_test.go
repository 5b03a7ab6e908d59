//go:build kube1.35

package command

import (
	"context"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
)

// podSigner is a profile's framework as the test signs pods with it. 1.35:
// SignPod also takes whether to record plugin metrics.
type podSigner interface {
	SignPod(ctx context.Context, pod *v1.Pod, recordPluginStats bool) fwk.PodSignature
}

func signPod(ctx context.Context, fw podSigner, pod *v1.Pod) fwk.PodSignature {
	return fw.SignPod(ctx, pod, false)
}
