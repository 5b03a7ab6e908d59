package soak

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
)

// Snapshot is the cluster at one etcd revision.
type Snapshot struct {
	*audit.State
	// ResourceVersion is the revision every list was read at.
	ResourceVersion string
}

// ReadSnapshot lists what the audit reads, all at one revision. audit.Read
// lists each kind at whatever revision is newest when it asks, which is what
// an operator's audit of a settled cluster wants; a sampler that audits a
// cluster in motion would see a pod that has left and the attachment of the
// pod that replaced it, and report an attach set that never existed.
func ReadSnapshot(ctx context.Context, c kubernetes.Interface) (*Snapshot, error) {
	for attempt := 0; ; attempt++ {
		s, err := readAt(ctx, c)
		// A revision compacted between the lists: read again.
		if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
			if attempt < 3 {
				continue
			}
		}
		return s, err
	}
}

func readAt(ctx context.Context, c kubernetes.Interface) (*Snapshot, error) {
	var s audit.State
	pods, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	rv := pods.ResourceVersion
	at := metav1.ListOptions{ResourceVersion: rv, ResourceVersionMatch: metav1.ResourceVersionMatchExact}
	nodes, err := c.CoreV1().Nodes().List(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("listing nodes at %s: %w", rv, err)
	}
	pvcs, err := c.CoreV1().PersistentVolumeClaims("").List(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("listing persistentvolumeclaims at %s: %w", rv, err)
	}
	pvs, err := c.CoreV1().PersistentVolumes().List(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("listing persistentvolumes at %s: %w", rv, err)
	}
	scs, err := c.StorageV1().StorageClasses().List(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("listing storageclasses at %s: %w", rv, err)
	}
	vas, err := c.StorageV1().VolumeAttachments().List(ctx, at)
	if err != nil {
		return nil, fmt.Errorf("listing volumeattachments at %s: %w", rv, err)
	}
	s.Pods, s.Nodes, s.Claims, s.Volumes, s.Classes, s.VolumeAttachments = pods.Items, nodes.Items, pvcs.Items, pvs.Items, scs.Items, vas.Items
	return &Snapshot{State: &s, ResourceVersion: rv}, nil
}
