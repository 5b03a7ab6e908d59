//go:build !kube1.35 && !kube1.36

package volumetopology

import (
	"context"

	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
)

// newSchedulerCache returns the scheduler's own cache, whose constructor
// changes with every Kubernetes minor. 1.37: no API dispatcher, pod groups
// (GenericWorkload, CompositePodGroup) off.
func newSchedulerCache(ctx context.Context) cache.Cache { return cache.New(ctx, nil, false, false) }
