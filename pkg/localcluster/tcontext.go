//go:build !kube1.35

package localcluster

import "k8s.io/kubernetes/test/utils/ktesting"

// withCancel returns a context that its test server cancels when torn down.
// From Kubernetes 1.36 ktesting.TContext is a struct with methods.
func withCancel(tCtx ktesting.TContext) ktesting.TContext { return tCtx.WithCancel() }
