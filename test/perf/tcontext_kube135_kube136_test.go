//go:build kube1.35 || kube1.36

package perf

import "k8s.io/kubernetes/test/utils/ktesting"

// tContext is the test context scheduler_perf hands its hooks; before
// Kubernetes 1.37 it lives in test/utils/ktesting.
type tContext = ktesting.TContext
