//go:build !kube1.35

package command

import (
	"context"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// signPod returns a profile's signature of a pod (nil: not batchable).
func signPod(ctx context.Context, f framework.Framework, pod *v1.Pod) fwk.PodSignature {
	return f.SignPod(ctx, pod)
}
