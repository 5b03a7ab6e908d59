//go:build kube1.35

package localcluster

import "k8s.io/kubernetes/test/utils/ktesting"

// withCancel returns a context that its test server cancels when torn down.
// In Kubernetes 1.35 ktesting.TContext is an interface with free functions.
func withCancel(tCtx ktesting.TContext) ktesting.TContext { return ktesting.WithCancel(tCtx) }
