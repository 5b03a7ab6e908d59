package simcloud

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Realistic timings of ECS and Kubernetes for a single-attach disk, for
// demonstrations (tests use shorter ones). They are estimates, not
// measurements:
//   - RealisticAttachDelay: ECS AttachDisk is asynchronous; the driver's
//     ControllerPublish polls DescribeDisks until the disk is In_use, which
//     takes a few seconds for a cloud disk.
//   - RealisticDetachDelay: DetachDisk is asynchronous too, and waits for the
//     guest to release the device; the driver polls until the disk is
//     Available: usually longer than an attach.
//   - RealisticUnmountDelay: the attach-detach controller detaches only once
//     the kubelet no longer lists the volume in the node's
//     status.volumesInUse, which it reports with the node status, every 10s
//     (nodeStatusUpdateFrequency): half that on average.
const (
	RealisticAttachDelay  = 5 * time.Second
	RealisticDetachDelay  = 10 * time.Second
	RealisticUnmountDelay = 5 * time.Second
)

// Counts are what the simulated attach-detach controller and cloud did.
type Counts struct {
	// Attaches and Detaches count disks attached to and detached from an
	// instance in the cloud.
	Attaches int
	Detaches int
	// Refused counts attaches the cloud refused, by ECS error code (for
	// example CodeDiskAttached: a single-attach disk still attached to
	// another instance), once per attachment and error.
	Refused map[string]int
	// MultiAttachErrors counts the attach-detach controller's Multi-Attach
	// events (see MultiAttachError), one per pod it waits for.
	MultiAttachErrors int
}

// RefusedTotal is the number of refused attaches of every code.
func (c Counts) RefusedTotal() int {
	n := 0
	for _, v := range c.Refused {
		n += v
	}
	return n
}

func (c *Counts) add(o *Counts) {
	c.Attaches += o.Attaches
	c.Detaches += o.Detaches
	c.MultiAttachErrors += o.MultiAttachErrors
	for k, v := range o.Refused {
		if c.Refused == nil {
			c.Refused = map[string]int{}
		}
		c.Refused[k] += v
	}
}

// Counts returns the counts for disks whose claims are in namespace, or for
// every disk when namespace is "".
func (c *Cloud) Counts(namespace string) Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out Counts
	for ns, n := range c.counts {
		if namespace == "" || ns == namespace {
			out.add(n)
		}
	}
	return out
}

func (c *Cloud) count(namespace string, f func(*Counts)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.counts[namespace]
	if n == nil {
		n = &Counts{Refused: map[string]int{}}
		c.counts[namespace] = n
	}
	f(n)
}

// MultiAttachError is one time the attach-detach controller would not attach
// a single-attach disk to a node because it is attached to another: it
// records a Warning event FailedAttachVolume on each pod waiting for it, and
// attaches once the other attachment is gone (ReasonFailedAttachVolume,
// MultiAttachMessage).
type MultiAttachError struct {
	At time.Time
	// Pod is "namespace/name" of a pod waiting on Node.
	Pod  string
	Node string
	// Disk is the volume handle, Volume the PersistentVolume the pod uses.
	Disk   string
	Volume string
	// Others are the other nodes the disk is attached to (or attaching,
	// detaching), as the controller saw them.
	Others []OtherAttachment
}

// OtherAttachment is the disk's attachment to another node.
type OtherAttachment struct {
	Node string
	// Detaching is true once the VolumeAttachment is being deleted.
	Detaching bool
	// UsedBy are "namespace/name" of the pods using the disk on the node that
	// are not terminating; Terminating those that are.
	UsedBy      []string
	Terminating []string
	// NodeObject is the node as the controller's cache had it, nil when it
	// does not exist.
	NodeObject *v1.Node
}

// MultiAttachErrors returns every Multi-Attach error so far, oldest first.
func (c *Cloud) MultiAttachErrors() []MultiAttachError {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.multiAttachs)
}

func (c *Cloud) recordMultiAttach(namespace string, e MultiAttachError) {
	c.count(namespace, func(n *Counts) { n.MultiAttachErrors++ })
	c.mu.Lock()
	defer c.mu.Unlock()
	c.multiAttachs = append(c.multiAttachs, e)
}

// sortedKeys is the sorted keys of a map.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// MultiAttachMessage is the message of the attach-detach controller's
// FailedAttachVolume event for a pod in namespace that waits for volume:
// users are "namespace/name" of the pods using it on the other nodes. Only
// the names of pods in the pod's own namespace are shown.
func MultiAttachMessage(volume, namespace string, users []string) string {
	detail := MultiAttachAttachedDetail
	if len(users) > 0 {
		var local []string
		others := 0
		for _, u := range users {
			if ns, name, ok := strings.Cut(u, "/"); ok && ns == namespace {
				local = append(local, name)
			} else {
				others++
			}
		}
		switch {
		case len(local) > 0 && others > 0:
			detail = fmt.Sprintf("Volume is already used by pod(s) %s and %d pod(s) in different namespaces", strings.Join(local, ", "), others)
		case len(local) > 0:
			detail = "Volume is already used by pod(s) " + strings.Join(local, ", ")
		default:
			detail = fmt.Sprintf("Volume is already used by %d pod(s) in different namespaces", others)
		}
	}
	return fmt.Sprintf("%s for volume %q %s", multiAttachPrefix, volume, detail)
}
