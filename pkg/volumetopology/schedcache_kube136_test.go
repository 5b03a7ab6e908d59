//go:build kube1.36

package volumetopology

import (
	"context"

	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
)

// newSchedulerCache returns the scheduler's own cache. 1.36: no API
// dispatcher, pod groups (GenericWorkload) off.
func newSchedulerCache(ctx context.Context) cache.Cache { return cache.New(ctx, nil, false) }
