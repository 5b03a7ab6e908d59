// Package simcloud simulates Alibaba Cloud block disks behind the CSI driver
// diskplugin.csi.alibabacloud.com, against a real API server: a provisioner
// that creates disks and PersistentVolumes the way the driver and
// external-provisioner do (including the ConflictingZone fallback), and an
// attacher that plays the attach-detach controller and external-attacher,
// creating VolumeAttachments and attaching disks with ECS's rules: a zonal
// disk attaches only in its zone, a single-attach disk to one instance, and a
// multi-attach disk to at most 16 instances per zone. As the attach-detach
// controller, it does not ask the cloud to attach a single-attach disk to a
// second node while it is attached to another: the waiting pods get a
// FailedAttachVolume event (MultiAttachMessage) until the disk is detached.
// Attaching, unmounting and detaching take time (Options; the Realistic*
// constants are values for demonstrations), and Counts and MultiAttachErrors tell
// what happened.
//
// The node facts (zones, regions) come from package disk, as for the
// scheduler plugin; StorageClass parameters do not: the simulated driver
// reads them with its own table (driver.go), written from the driver's
// source, so that a test catches the plugin reading a class differently from
// the driver. Nothing here is used by the plugin.
package simcloud

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// Event reasons the simulated driver records.
const (
	// ReasonConflictingZone is recorded on a claim when the node's zone is not
	// in the StorageClass zoneId list; the disk is then created in a zoneId
	// zone, which the pod cannot reach.
	ReasonConflictingZone = "ConflictingZone"
	// ReasonProvisioning, ReasonProvisioningSucceeded and
	// ReasonProvisioningFailed are external-provisioner's.
	ReasonProvisioning          = "Provisioning"
	ReasonProvisioningSucceeded = "ProvisioningSucceeded"
	ReasonProvisioningFailed    = "ProvisioningFailed"
	// ReasonFailedAttachVolume and ReasonSuccessfulAttachVolume are the
	// attach-detach controller's, recorded on the pods.
	ReasonFailedAttachVolume     = "FailedAttachVolume"
	ReasonSuccessfulAttachVolume = "SuccessfulAttachVolume"
)

// Annotations and finalizers of the Kubernetes storage components played here.
const (
	AnnStorageProvisioner     = "volume.kubernetes.io/storage-provisioner"
	AnnBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner"
	AnnProvisionedBy          = "pv.kubernetes.io/provisioned-by"
	// AttacherFinalizer keeps a VolumeAttachment until its disk is detached.
	AttacherFinalizer = "external-attacher/diskplugin-csi-alibabacloud-com"
)

// Options tune the simulated cloud.
type Options struct {
	// Seed makes disk IDs reproducible: the same seed and the same order of
	// provisioning give the same IDs. Zero picks a seed from the clock.
	Seed uint64
	// MaxAttachNodesPerZone is how many instances of one zone a multi-attach
	// disk can be attached to; default disk.DefaultMaxNodesPerZone (16).
	MaxAttachNodesPerZone int
	// DetachDelay is how long detaching takes: a VolumeAttachment is deleted
	// once the last pod using the volume on its node is gone (and
	// UnmountDelay has passed), and the object stays (being detached) this
	// long. Default one second; negative means none. See RealisticDetachDelay.
	DetachDelay time.Duration
	// AttachDelay is how long an attach takes before it succeeds or fails,
	// from the VolumeAttachment's creation. Default none.
	AttachDelay time.Duration
	// UnmountDelay is how long after the last pod using a disk on a node is
	// gone the attach-detach controller starts detaching it: the time the
	// kubelet takes to report the unmount in the node's status.volumesInUse.
	// A pod of the disk placed on the node meanwhile keeps the attachment.
	// Default none.
	UnmountDelay time.Duration
	// ProvisionDelay is how long creating a disk takes.
	ProvisionDelay time.Duration
	// RetryInterval is how soon a failed attach is tried again; default 5s.
	RetryInterval time.Duration
	// Workers per controller; default 4.
	Workers int
}

func (o *Options) defaults() {
	if o.MaxAttachNodesPerZone <= 0 {
		o.MaxAttachNodesPerZone = disk.DefaultMaxNodesPerZone
	}
	if o.DetachDelay == 0 {
		o.DetachDelay = time.Second
	} else if o.DetachDelay < 0 {
		o.DetachDelay = 0
	}
	if o.RetryInterval <= 0 {
		o.RetryInterval = 5 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
}

// Disk is the cloud's view of one disk.
type Disk struct {
	ID string
	// Zone is "" for a regional disk.
	Zone     string
	Region   string
	Category string
	// MultiAttach is the disk's multi-attach setting.
	MultiAttach bool
	SizeGiB     int64
	// Static is true for a disk the cloud learnt about from a PersistentVolume
	// it did not provision.
	Static bool
	// Instances are the nodes the disk is attached to, sorted.
	Instances []string
}

// diskState is a disk and its attachments.
type diskState struct {
	Disk
	attached map[string]string // node -> zone
}

// Cloud is a running simulated disk cloud.
type Cloud struct {
	client   kubernetes.Interface
	opts     Options
	ids      *idSource
	recorder record.EventRecorder
	// podRecorder records the attach-detach controller's events on pods.
	podRecorder record.EventRecorder

	mu    sync.Mutex
	disks map[string]*diskState
	// counts are by the namespace of the claims of the disks involved.
	counts       map[string]*Counts
	multiAttachs []MultiAttachError

	provisioner *provisioner
	attacher    *attacher
}

// Start installs the driver (its CSIDriver object) and runs the provisioner
// and the attacher until ctx ends. It returns once their caches have synced.
func Start(ctx context.Context, client kubernetes.Interface, opts Options) (*Cloud, error) {
	opts.defaults()
	logger := klog.FromContext(ctx).WithName("simcloud")
	ctx = klog.NewContext(ctx, logger)
	if err := installDriver(ctx, client); err != nil {
		return nil, err
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	go func() {
		<-ctx.Done()
		broadcaster.Shutdown()
	}()
	c := &Cloud{
		client:      client,
		opts:        opts,
		ids:         newIDSource(opts.Seed),
		recorder:    broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: disk.DriverName}),
		podRecorder: broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "attachdetach-controller"}),
		disks:       map[string]*diskState{},
		counts:      map[string]*Counts{},
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	var err error
	if c.provisioner, err = newProvisioner(c, factory); err != nil {
		return nil, err
	}
	if c.attacher, err = newAttacher(c, factory); err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("simcloud: informer for %v did not sync", typ)
		}
	}
	go c.provisioner.run(klog.NewContext(ctx, logger.WithName("provisioner")), opts.Workers)
	go c.attacher.run(klog.NewContext(ctx, logger.WithName("attacher")), opts.Workers)
	go func() {
		<-ctx.Done()
		factory.Shutdown()
	}()
	logger.Info("Simulated disk cloud is running", "driver", disk.DriverName, "seed", opts.Seed,
		"maxAttachNodesPerZone", opts.MaxAttachNodesPerZone,
		"attachDelay", opts.AttachDelay, "detachDelay", opts.DetachDelay, "unmountDelay", opts.UnmountDelay)
	return c, nil
}

// installDriver creates the CSIDriver object the driver's chart installs.
func installDriver(ctx context.Context, client kubernetes.Interface) error {
	drv := &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: disk.DriverName},
		Spec: storagev1.CSIDriverSpec{
			AttachRequired:       ptr.To(true),
			PodInfoOnMount:       ptr.To(false),
			VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
		},
	}
	_, err := client.StorageV1().CSIDrivers().Create(ctx, drv, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("installing CSIDriver %s: %w", disk.DriverName, err)
	}
	return nil
}

// Disks returns every disk the cloud knows, sorted by ID.
func (c *Cloud) Disks() []Disk {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Disk, 0, len(c.disks))
	for _, d := range c.disks {
		out = append(out, d.snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Disk returns one disk.
func (c *Cloud) Disk(id string) (Disk, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.disks[id]
	if !ok {
		return Disk{}, false
	}
	return d.snapshot(), true
}

func (d *diskState) snapshot() Disk {
	out := d.Disk
	out.Instances = make([]string, 0, len(d.attached))
	for n := range d.attached {
		out.Instances = append(out.Instances, n)
	}
	slices.Sort(out.Instances)
	return out
}

// createDisk records a new disk.
func (c *Cloud) createDisk(d Disk) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.disks[d.ID] = &diskState{Disk: d, attached: map[string]string{}}
}

// deleteDisk removes a disk; it fails while the disk is attached, as ECS does.
func (c *Cloud) deleteDisk(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.disks[id]
	if !ok {
		return nil
	}
	if len(d.attached) > 0 {
		return fmt.Errorf("disk %s is still attached to %d instance(s)", id, len(d.attached))
	}
	delete(c.disks, id)
	return nil
}

// AttachError is ECS refusing an attach.
type AttachError struct {
	Code    string
	Message string
}

func (e *AttachError) Error() string { return e.Code + ": " + e.Message }

// ECS error codes returned by attach.
const (
	CodeZoneMismatch        = "InvalidOperation.ZoneMismatch"
	CodeDiskAttached        = "IncorrectDiskStatus.Attached"
	CodeMultiAttachLimit    = "InvalidOperation.MultiAttachLimitExceeded"
	CodeUnknownInstanceZone = "InvalidInstance.ZoneUnknown"
)

// attach attaches disk id to node (in nodeZone, nodeRegion). It is
// idempotent: a disk already attached to the node stays attached. static is
// used when the cloud does not know the disk yet (a static PV): it is
// registered from what the PV says.
func (c *Cloud) attach(id, node, nodeZone, nodeRegion string, static Disk) error {
	_, err := c.attachNew(id, node, nodeZone, nodeRegion, static)
	return err
}

// attachNew is attach, also telling whether the disk was newly attached.
func (c *Cloud) attachNew(id, node, nodeZone, nodeRegion string, static Disk) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.disks[id]
	if !ok {
		static.ID = id
		static.Static = true
		d = &diskState{Disk: static, attached: map[string]string{}}
		c.disks[id] = d
	}
	if _, ok := d.attached[node]; ok {
		return false, nil
	}
	if nodeZone == "" {
		return false, &AttachError{Code: CodeUnknownInstanceZone, Message: fmt.Sprintf("the zone of instance %s is unknown (node has no zone label)", node)}
	}
	switch {
	case d.Zone != "" && d.Zone != nodeZone:
		return false, &AttachError{Code: CodeZoneMismatch, Message: fmt.Sprintf("disk %s is in zone %s; instance %s is in zone %s", id, d.Zone, node, nodeZone)}
	case d.Zone == "" && d.Region != "" && nodeRegion != "" && d.Region != nodeRegion:
		return false, &AttachError{Code: CodeZoneMismatch, Message: fmt.Sprintf("regional disk %s is in region %s; instance %s is in region %s", id, d.Region, node, nodeRegion)}
	}
	if !d.MultiAttach {
		for other := range d.attached {
			return false, &AttachError{Code: CodeDiskAttached, Message: fmt.Sprintf("disk %s does not have multi-attach enabled and is attached to instance %s", id, other)}
		}
	} else {
		inZone := 0
		for _, z := range d.attached {
			if z == nodeZone {
				inZone++
			}
		}
		if inZone >= c.opts.MaxAttachNodesPerZone {
			return false, &AttachError{Code: CodeMultiAttachLimit, Message: fmt.Sprintf(
				"multi-attach disk %s is already attached to %d instances in zone %s, the limit; cannot attach it to instance %s",
				id, inZone, nodeZone, node)}
		}
	}
	d.attached[node] = nodeZone
	return true, nil
}

// detach detaches disk id from node; detaching a disk that is not attached
// there succeeds. It tells whether the disk was attached there.
func (c *Cloud) detach(id, node string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.disks[id]
	if !ok {
		return false
	}
	_, was := d.attached[node]
	delete(d.attached, node)
	return was
}
