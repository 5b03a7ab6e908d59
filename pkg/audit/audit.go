// Package audit checks a cluster's state against the placement rules of cloud
// block disks and reports every violation: shared disks attached to more nodes
// of a zone than the cloud allows, nodes with two holders of one shared disk,
// shared-disk pods on nodes that are not NVMe-capable, pods outside their
// disks' zones, and single-attach disks used on two nodes at once. It reads the same domain facts as the scheduler plugin
// (package disk), so the two cannot disagree, and it is useful on clusters
// scheduled before the plugin was installed.
package audit

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// Rules, as they appear in a report.
const (
	RuleAttachLimit = "attach-limit"
	RuleHolder      = "holder"
	RuleNVMe        = "nvme"
	RuleZone        = "zone"
	// RuleReadWriteOnce: a single-attach disk (not multi-attach, as the
	// plugin classifies it) is used by pods on more than one node at once.
	// Terminating pods do not count (the plugin lets a new pod go elsewhere
	// once the old one is terminating), nor claims with the ReadWriteOncePod
	// access mode (VolumeRestrictions' business).
	RuleReadWriteOnce = "read-write-once"
)

// Violation is one broken rule.
type Violation struct {
	Rule string `json:"rule"`
	// Disk is the disk's volume handle.
	Disk string `json:"disk,omitempty"`
	Zone string `json:"zone,omitempty"`
	Node string `json:"node,omitempty"`
	// Pods are "namespace/name" of the pods involved.
	Pods []string `json:"pods,omitempty"`
	// Nodes are the nodes involved, for the attach limit.
	Nodes  []string `json:"nodes,omitempty"`
	Detail string   `json:"detail"`
}

// Report is what an audit found.
type Report struct {
	Pods        int `json:"podsChecked"`
	SharedDisks int `json:"sharedDisksChecked"`
	// SingleAttachDisks are the single-attach disks in use.
	SingleAttachDisks int `json:"singleAttachDisksChecked"`
	// MostNodesInZone is the most nodes of one zone that any shared disk is
	// attached to: the headroom left under the limit.
	MostNodesInZone int         `json:"mostNodesInZone"`
	Violations      []Violation `json:"violations"`
}

// State is the cluster objects an audit reads.
type State struct {
	Nodes             []v1.Node
	Pods              []v1.Pod
	Claims            []v1.PersistentVolumeClaim
	Volumes           []v1.PersistentVolume
	Classes           []storagev1.StorageClass
	VolumeAttachments []storagev1.VolumeAttachment
}

// Read lists the objects an audit needs.
func Read(ctx context.Context, c kubernetes.Interface) (*State, error) {
	var s State
	opts := metav1.ListOptions{}
	nodes, err := c.CoreV1().Nodes().List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	pods, err := c.CoreV1().Pods("").List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	pvcs, err := c.CoreV1().PersistentVolumeClaims("").List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing persistentvolumeclaims: %w", err)
	}
	pvs, err := c.CoreV1().PersistentVolumes().List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing persistentvolumes: %w", err)
	}
	scs, err := c.StorageV1().StorageClasses().List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing storageclasses: %w", err)
	}
	vas, err := c.StorageV1().VolumeAttachments().List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("listing volumeattachments: %w", err)
	}
	s.Nodes, s.Pods, s.Claims, s.Volumes, s.Classes, s.VolumeAttachments = nodes.Items, pods.Items, pvcs.Items, pvs.Items, scs.Items, vas.Items
	return &s, nil
}

// Check applies the rules to a state, with the plugin's args.
func Check(s *State, args *config.VolumeTopologyArgs) *Report {
	pvcIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	pvIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{disk.VolumeHandleIndex: disk.IndexByVolumeHandle})
	scIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for i := range s.Claims {
		_ = pvcIdx.Add(&s.Claims[i])
	}
	for i := range s.Volumes {
		_ = pvIdx.Add(&s.Volumes[i])
	}
	for i := range s.Classes {
		_ = scIdx.Add(&s.Classes[i])
	}
	resolver := &disk.Resolver{
		PVCs:    corelisters.NewPersistentVolumeClaimLister(pvcIdx),
		PVs:     corelisters.NewPersistentVolumeLister(pvIdx),
		Classes: storagelisters.NewStorageClassLister(scIdx),
		Volumes: disk.IndexedVolumes{Indexer: pvIdx},
		Drivers: args.Drivers,
	}
	classifier := disk.NewNodeClassifier(args.ZoneLabelKeys, args.NVMeInstanceFamilies, args.NVMeLabelKey)
	nodes := map[string]*v1.Node{}
	facts := map[string]disk.NodeFacts{}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		nodes[n.Name] = n
		facts[n.Name] = classifier.Describe(n.Labels)
	}

	r := &Report{}
	// attached[disk][node] is true for each node a shared disk is attached to.
	attached := map[string]map[string]bool{}
	// holders[disk][node] are the pods using a shared disk on a node.
	holders := map[string]map[string][]string{}
	// single[disk][node] are the pods using a single-attach disk on a node.
	single := map[string]map[string][]string{}
	attach := func(diskID, node string) {
		if attached[diskID] == nil {
			attached[diskID] = map[string]bool{}
		}
		attached[diskID][node] = true
	}

	for i := range s.Pods {
		pod := &s.Pods[i]
		if pod.Spec.NodeName == "" || pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
			continue
		}
		claims, err := resolver.PodClaims(pod)
		if err != nil || len(claims) == 0 {
			continue
		}
		r.Pods++
		podKey := pod.Namespace + "/" + pod.Name
		node, f := nodes[pod.Spec.NodeName], facts[pod.Spec.NodeName]
		for _, c := range claims {
			if !c.Bound() {
				// A pod given a node before its claim is provisioned (its
				// nodeName set by hand, or provisioning still running): the
				// class must be able to create a disk the node can use, as
				// the plugin's Filter requires.
				if node == nil {
					continue
				}
				rule, err := disk.ClaimRule(&c, args.ZoneLabelKeys)
				if err != nil { // no node can get its disk
					r.Violations = append(r.Violations, Violation{
						Rule: RuleZone, Zone: f.Zone, Node: node.Name, Pods: []string{podKey},
						Detail: fmt.Sprintf("claim %s is not bound yet and storageclass %s cannot create a disk for it: it %v", c.Key, c.Class.Name, err),
					})
					continue
				}
				if v := rule.Check(&f, disk.NodeView{Name: node.Name, Zone: f.Zone, Region: f.Region, Labels: node.Labels}); v != disk.Fits {
					r.Violations = append(r.Violations, Violation{
						Rule: RuleZone, Zone: f.Zone, Node: node.Name, Pods: []string{podKey},
						Detail: fmt.Sprintf("claim %s is not bound yet and storageclass %s cannot create a disk for the pod's node: %s", c.Key, c.Class.Name, v),
					})
				}
				continue
			}
			if node != nil {
				if t, err := disk.PVTopology(c.PV, args.ZoneLabelKeys); err == nil && !t.Admits(disk.NodeView{Name: node.Name, Zone: f.Zone, Region: f.Region, Labels: node.Labels}) {
					r.Violations = append(r.Violations, Violation{
						Rule: RuleZone, Disk: c.DiskID, Zone: f.Zone, Node: node.Name, Pods: []string{podKey},
						Detail: fmt.Sprintf("pod runs in zone %s, outside the topology of persistentvolume %s", zoneName(f.Zone), c.PV.Name),
					})
				}
			}
			if !c.MultiAttach {
				if pod.DeletionTimestamp == nil && !slices.Contains(c.PVC.Spec.AccessModes, v1.ReadWriteOncePod) {
					if single[c.DiskID] == nil {
						single[c.DiskID] = map[string][]string{}
					}
					single[c.DiskID][pod.Spec.NodeName] = append(single[c.DiskID][pod.Spec.NodeName], podKey)
				}
				continue
			}
			if node != nil && !f.NVMe {
				r.Violations = append(r.Violations, Violation{
					Rule: RuleNVMe, Disk: c.DiskID, Zone: f.Zone, Node: node.Name, Pods: []string{podKey},
					Detail: "shared disk on a node that cannot attach it: " + f.NVMeWhy,
				})
			}
			attach(c.DiskID, pod.Spec.NodeName)
			if holders[c.DiskID] == nil {
				holders[c.DiskID] = map[string][]string{}
			}
			if !slices.Contains(holders[c.DiskID][pod.Spec.NodeName], podKey) {
				holders[c.DiskID][pod.Spec.NodeName] = append(holders[c.DiskID][pod.Spec.NodeName], podKey)
			}
		}
	}

	// diskZone is the one zone a shared disk's volumes pin it to: where an
	// attachment to an instance with no Node object (lost, or deleted before
	// the disk detached) must be, since a zonal disk attaches only there.
	diskZone := map[string]string{}
	if args.CountVolumeAttachments {
		shared := sharedVolumes(s, resolver)
		for i := range s.Volumes {
			pv := &s.Volumes[i]
			if _, ok := shared[pv.Name]; !ok {
				continue
			}
			if t, err := disk.PVTopology(pv, args.ZoneLabelKeys); err == nil {
				if zones, ok := t.ZoneSet(); ok && len(zones) == 1 {
					diskZone[pv.Spec.CSI.VolumeHandle] = zones[0]
				}
			}
		}
		for i := range s.VolumeAttachments {
			va := &s.VolumeAttachments[i]
			if va.Spec.Source.PersistentVolumeName == nil {
				continue
			}
			if handle, ok := shared[*va.Spec.Source.PersistentVolumeName]; ok {
				attach(handle, va.Spec.NodeName)
			}
		}
	}

	r.SharedDisks = len(attached)
	for _, diskID := range slices.Sorted(maps.Keys(attached)) {
		byZone := map[string][]string{}
		for n := range attached[diskID] {
			z := facts[n].Zone
			if _, known := nodes[n]; !known && diskZone[diskID] != "" {
				z = diskZone[diskID]
			}
			byZone[z] = append(byZone[z], n)
		}
		for _, z := range slices.Sorted(maps.Keys(byZone)) {
			r.MostNodesInZone = max(r.MostNodesInZone, len(byZone[z]))
			if ns := byZone[z]; len(ns) > int(args.MaxNodesPerZone) {
				slices.Sort(ns)
				r.Violations = append(r.Violations, Violation{
					Rule: RuleAttachLimit, Disk: diskID, Zone: z, Nodes: ns,
					Detail: fmt.Sprintf("disk %s is attached to %d nodes in zone %s (limit %d)", diskID, len(ns), zoneName(z), args.MaxNodesPerZone),
				})
			}
		}
		for _, n := range slices.Sorted(maps.Keys(holders[diskID])) {
			if ps := holders[diskID][n]; len(ps) > 1 {
				slices.Sort(ps)
				r.Violations = append(r.Violations, Violation{
					Rule: RuleHolder, Disk: diskID, Zone: facts[n].Zone, Node: n, Pods: ps,
					Detail: fmt.Sprintf("%d pods on one node use shared disk %s (NVMe reservations are per node)", len(ps), diskID),
				})
			}
		}
	}
	r.SingleAttachDisks = len(single)
	for _, diskID := range slices.Sorted(maps.Keys(single)) {
		if len(single[diskID]) < 2 {
			continue
		}
		ns := slices.Sorted(maps.Keys(single[diskID]))
		var ps, where []string
		for _, n := range ns {
			ps = append(ps, single[diskID][n]...)
			where = append(where, fmt.Sprintf("%s (%s)", n, strings.Join(single[diskID][n], ", ")))
		}
		slices.Sort(ps)
		r.Violations = append(r.Violations, Violation{
			Rule: RuleReadWriteOnce, Disk: diskID, Nodes: ns, Pods: ps,
			Detail: fmt.Sprintf("single-attach disk %s is used on %d nodes at once: %s", diskID, len(ns), strings.Join(where, "; ")),
		})
	}
	slices.SortStableFunc(r.Violations, func(a, b Violation) int {
		return cmp.Or(strings.Compare(a.Rule, b.Rule), strings.Compare(a.Disk, b.Disk), strings.Compare(a.Node, b.Node))
	})
	return r
}

// sharedVolumes maps the name of each PV of our drivers whose disk is shared
// to its volume handle: every volume of a shared disk, whichever of them says
// it is shared.
func sharedVolumes(s *State, resolver *disk.Resolver) map[string]string {
	out := map[string]string{}
	for i := range s.Volumes {
		pv := &s.Volumes[i]
		if pv.Spec.CSI == nil || !slices.Contains(resolver.Drivers, pv.Spec.CSI.Driver) {
			continue
		}
		if shared, err := resolver.SharedDisk(pv); err == nil && shared {
			out[pv.Name] = pv.Spec.CSI.VolumeHandle
		}
	}
	return out
}

func zoneName(z string) string {
	if z == "" {
		return "<none>"
	}
	return z
}
