//go:build !kube1.35 && !kube1.36

package perf

import "k8s.io/kubernetes/test/utils/client-go/ktesting"

// tContext is the test context scheduler_perf hands its hooks. From
// Kubernetes 1.37 the one with a client lives in test/utils/client-go/ktesting.
type tContext = ktesting.TContext
