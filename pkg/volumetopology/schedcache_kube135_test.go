//go:build kube1.35

package volumetopology

import (
	"context"

	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
)

// newSchedulerCache returns the scheduler's own cache. 1.35: assumed pods
// never expire (ttl 0), no API dispatcher.
func newSchedulerCache(ctx context.Context) cache.Cache { return cache.New(ctx, 0, nil) }
