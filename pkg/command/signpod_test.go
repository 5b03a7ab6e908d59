//go:build !kube1.35

package command

import (
	"context"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
)

// podSigner is a profile's framework as the test signs pods with it; its
// SignPod gained and lost a parameter between minors.
type podSigner interface {
	SignPod(ctx context.Context, pod *v1.Pod) fwk.PodSignature
}

func signPod(ctx context.Context, fw podSigner, pod *v1.Pod) fwk.PodSignature {
	return fw.SignPod(ctx, pod)
}
