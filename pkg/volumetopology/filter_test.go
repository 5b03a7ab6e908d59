package volumetopology

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/component-base/metrics/testutil"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// TestZoneRules covers rule 1: a pod goes only where its disks live or can be created.
func TestZoneRules(t *testing.T) {
	threeZones := []*v1.Node{
		zoneNode("a1", zoneA, plainType),
		zoneNode("b1", zoneB, plainType),
		zoneNode("c1", zoneC, plainType),
	}
	essdZoned := wffcClass("zoned", map[string]string{"type": "cloud_essd", "zoneId": "cn-a,cn-b"})
	tests := []struct {
		name      string
		cluster   cluster
		pod       *v1.Pod
		preFilter *fwk.Status
		want      map[string]*fwk.Status
	}{
		{
			name: "zoneId: only its zones",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				essdZoned, makeClaim("data", "zoned", v1.ReadWriteOnce),
			}},
			pod: makePod("p", "", "data"),
			want: map[string]*fwk.Status{
				"c1": unresolvable(ErrReasonClassZone, "cn-a,cn-b", "zoned"),
			},
		},
		{
			// The driver does not trim the entries: " cn-b" matches no zone,
			// and a pod in cn-b would get its disk in cn-a (ConflictingZone).
			name: "zoneId with spaces after commas: the padded entries match no zone",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				wffcClass("spaced", map[string]string{"type": "cloud_essd", "zoneId": "cn-a, cn-b"}),
				makeClaim("data", "spaced", v1.ReadWriteOnce),
			}},
			pod: makePod("p", "", "data"),
			want: map[string]*fwk.Status{
				"b1": unresolvable(ErrReasonClassZone, "cn-a, cn-b", "spaced"),
				"c1": unresolvable(ErrReasonClassZone, "cn-a, cn-b", "spaced"),
			},
		},
		{
			name: "zoneid, the driver's fallback key, restricts the zones too",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				wffcClass("lower", map[string]string{"type": "cloud_essd", "zoneid": zoneB}),
				makeClaim("data", "lower", v1.ReadWriteOnce),
			}},
			pod: makePod("p", "", "data"),
			want: map[string]*fwk.Status{
				"a1": unresolvable(ErrReasonClassZone, zoneB, "lower"),
				"c1": unresolvable(ErrReasonClassZone, zoneB, "lower"),
			},
		},
		{
			name: "zoneId and zoneid both set: zoneId wins, as in the driver",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				wffcClass("both", map[string]string{"type": "cloud_essd", "zoneId": zoneA, "zoneid": zoneC}),
				makeClaim("data", "both", v1.ReadWriteOnce),
			}},
			pod: makePod("p", "", "data"),
			want: map[string]*fwk.Status{
				"b1": unresolvable(ErrReasonClassZone, zoneA, "both"),
				"c1": unresolvable(ErrReasonClassZone, zoneA, "both"),
			},
		},
		{
			name: "allowedTopologies on the standard key, node with only the driver's key",
			cluster: cluster{
				nodes: []*v1.Node{
					makeNode("a1", disk.LabelDriverZone, zoneA),
					makeNode("b1", disk.LabelDriverZone, zoneB),
				},
				objs: []runtime.Object{
					func() *storagev1.StorageClass {
						sc := wffcClass("topo", map[string]string{"type": "cloud_essd"})
						sc.AllowedTopologies = []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{
							{Key: v1.LabelTopologyZone, Values: []string{zoneA}},
						}}}
						return sc
					}(),
					makeClaim("data", "topo", v1.ReadWriteOnce),
				},
			},
			pod:  makePod("p", "", "data"),
			want: map[string]*fwk.Status{"b1": unresolvable(ErrReasonAllowedTopologies, "topo")},
		},
		{
			name: "PV with driver-key affinity, node with only the legacy zone label",
			cluster: cluster{
				nodes: []*v1.Node{
					makeNode("a1", v1.LabelFailureDomainBetaZone, zoneA),
					makeNode("b1", v1.LabelFailureDomainBetaZone, zoneB),
				},
				objs: []runtime.Object{
					boundTo(makeClaim("data", "zoned", v1.ReadWriteOnce), "pv-1"),
					diskPV("pv-1", "d-1", "data", false, disk.LabelDriverZone, zoneA),
				},
			},
			pod:  makePod("p", "", "data"),
			want: map[string]*fwk.Status{"b1": unresolvable(ErrReasonDiskZone, zoneA, "d-1")},
		},
		{
			name: "regional type: any zone of the region, whatever zoneId says",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				wffcClass("regional", map[string]string{"type": "cloud_regional_disk_auto", "zoneId": zoneA}),
				makeClaim("data", "regional", v1.ReadWriteOnce),
			}},
			pod:  makePod("p", "", "data"),
			want: map[string]*fwk.Status{},
		},
		{
			name: "disk-type labels present but none matching; a node without them passes",
			cluster: cluster{
				nodes: []*v1.Node{
					zoneNode("ssd-only", zoneA, plainType, disk.DiskTypeLabel("cloud_ssd"), "available"),
					zoneNode("essd", zoneA, plainType, disk.DiskTypeLabel("cloud_essd"), "available"),
					zoneNode("undescribed", zoneA, plainType),
				},
				objs: []runtime.Object{
					wffcClass("essd", map[string]string{"type": "cloud_essd,cloud_auto"}),
					makeClaim("data", "essd", v1.ReadWriteOnce),
				},
			},
			pod:  makePod("p", "", "data"),
			want: map[string]*fwk.Status{"ssd-only": unresolvable(ErrReasonDiskType, "cloud_essd,cloud_auto", "essd")},
		},
		{
			// The driver reads which categories a node offers from the label
			// keys, whatever their values.
			name: "a disk-type label offers its category whatever its value",
			cluster: cluster{
				nodes: []*v1.Node{
					zoneNode("essd-true", zoneA, plainType, disk.DiskTypeLabel("cloud_essd"), "true", disk.DiskTypeLabel("cloud_ssd"), "available"),
					zoneNode("ssd-only", zoneA, plainType, disk.DiskTypeLabel("cloud_ssd"), "available"),
				},
				objs: []runtime.Object{
					wffcClass("essd", map[string]string{"type": "cloud_essd"}),
					makeClaim("data", "essd", v1.ReadWriteOnce),
				},
			},
			pod:  makePod("p", "", "data"),
			want: map[string]*fwk.Status{"ssd-only": unresolvable(ErrReasonDiskType, "cloud_essd", "essd")},
		},
		{
			// The driver skips a type whose smallest disk is larger than the
			// claim: a 10GiB claim gets no cloud_essd (20GiB at least).
			name: "a type too large for the claim does not count",
			cluster: cluster{
				nodes: []*v1.Node{
					zoneNode("essd-only", zoneA, plainType, disk.DiskTypeLabel("cloud_essd"), "available"),
					zoneNode("auto", zoneA, plainType, disk.DiskTypeLabel("cloud_auto"), "available"),
				},
				objs: []runtime.Object{
					wffcClass("essd-auto", map[string]string{"type": "cloud_essd,cloud_auto"}),
					sized(makeClaim("data", "essd-auto", v1.ReadWriteOnce), "10Gi"),
				},
			},
			pod:  makePod("p", "", "data"),
			want: map[string]*fwk.Status{"essd-only": unresolvable(ErrReasonDiskType, "cloud_auto", "essd-auto")},
		},
		{
			name: "a claim too small for every type of its class",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				wffcClass("essd", map[string]string{"type": "cloud_essd"}),
				sized(makeClaim("data", "essd", v1.ReadWriteOnce), "10Gi"),
			}},
			pod:       makePod("p", "", "data"),
			preFilter: unresolvable(`persistentvolumeclaim "default/data": requests 10GiB, less than the smallest disk of every type storageclass essd tries (cloud_essd: 20GiB)`),
		},
		{
			name: "no type: the driver's default types, cloud_ssd then cloud_efficiency",
			cluster: cluster{
				nodes: []*v1.Node{
					zoneNode("essd-only", zoneA, nvmeType, disk.DiskTypeLabel("cloud_essd"), "available", disk.DiskTypeLabel("cloud_auto"), "available"),
					zoneNode("efficiency", zoneA, plainType, disk.DiskTypeLabel("cloud_efficiency"), "available"),
					zoneNode("undescribed", zoneA, plainType),
				},
				objs: []runtime.Object{
					wffcClass("notype", nil),
					makeClaim("data", "notype", v1.ReadWriteOnce),
				},
			},
			pod:  makePod("p", "", "data"),
			want: map[string]*fwk.Status{"essd-only": unresolvable(ErrReasonDefaultDiskType, "cloud_ssd,cloud_efficiency", "notype")},
		},
		{
			name: "type available: the driver's default types too",
			cluster: cluster{
				nodes: []*v1.Node{
					zoneNode("essd-only", zoneA, nvmeType, disk.DiskTypeLabel("cloud_essd"), "available"),
					zoneNode("ssd", zoneA, plainType, disk.DiskTypeLabel("cloud_ssd"), "available"),
				},
				objs: []runtime.Object{
					wffcClass("available", map[string]string{"type": "available"}),
					makeClaim("data", "available", v1.ReadWriteOnce),
				},
			},
			pod:  makePod("p", "", "data"),
			want: map[string]*fwk.Status{"essd-only": unresolvable(ErrReasonDefaultDiskType, "cloud_ssd,cloud_efficiency", "available")},
		},
		{
			name: "available in a list: the driver refuses the class",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				wffcClass("mixed", map[string]string{"type": "cloud_essd,available"}),
				makeClaim("data", "mixed", v1.ReadWriteOnce),
			}},
			pod:       makePod("p", "", "data"),
			preFilter: unresolvable(`storageclass "mixed": parameter type="cloud_essd,available": "available" stands only alone, for the driver's default types`),
		},
		{
			name: "selected node in another zone pins the claim to that zone",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				essdZoned, selected(makeClaim("data", "zoned", v1.ReadWriteOnce), "b1"),
			}},
			pod: makePod("p", "", "data"),
			want: map[string]*fwk.Status{
				"a1": unresolvable(ErrReasonSelectedNodeZone, zoneB, "b1", "default/data"),
				"c1": unresolvable(ErrReasonSelectedNodeZone, zoneB, "b1", "default/data"),
			},
		},
		{
			name: "selected node that no longer exists is ignored",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				essdZoned, selected(makeClaim("data", "zoned", v1.ReadWriteOnce), "gone"),
			}},
			pod:  makePod("p", "", "data"),
			want: map[string]*fwk.Status{"c1": unresolvable(ErrReasonClassZone, "cn-a,cn-b", "zoned")},
		},
		{
			name: "generic ephemeral volume is resolved",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				essdZoned,
				func() *v1.PersistentVolumeClaim {
					c := makeClaim("eph-scratch", "zoned", v1.ReadWriteOnce)
					c.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "eph", UID: "eph", Controller: ptr.To(true)}}
					return c
				}(),
			}},
			pod:  ephemeralPod("eph", "scratch"),
			want: map[string]*fwk.Status{"c1": unresolvable(ErrReasonClassZone, "cn-a,cn-b", "zoned")},
		},
		{
			name:      "generic ephemeral volume whose claim is not created yet",
			cluster:   cluster{nodes: threeZones, objs: []runtime.Object{essdZoned}},
			pod:       ephemeralPod("eph", "scratch"),
			preFilter: unresolvable(`persistentvolumeclaim "default/eph-scratch" not found: waiting for the ephemeral volume controller to create it`),
		},
		{
			name:      "missing PVC",
			cluster:   cluster{nodes: threeZones},
			pod:       makePod("p", "", "nope"),
			preFilter: unresolvable(`persistentvolumeclaim "default/nope" not found`),
		},
		{
			name:      "missing StorageClass",
			cluster:   cluster{nodes: threeZones, objs: []runtime.Object{makeClaim("data", "gone-class", v1.ReadWriteOnce)}},
			pod:       makePod("p", "", "data"),
			preFilter: unresolvable(`storageclass "gone-class" not found: named by persistentvolumeclaim default/data`),
		},
		{
			name: "StorageClass parameters the driver refuses",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				wffcClass("bad", map[string]string{"type": "cloud_essd,"}), makeClaim("data", "bad", v1.ReadWriteOnce),
			}},
			pod:       makePod("p", "", "data"),
			preFilter: unresolvable(`storageclass "bad": parameter type="cloud_essd,": empty element in comma list`),
		},
		{
			// The driver reads multiAttach "maybe" as off, without an
			// error, and a trailing comma in zoneId does no harm.
			name: "spellings the driver accepts: multiAttach maybe, zoneId with a trailing comma",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				wffcClass("lenient", map[string]string{"type": "cloud_essd", "zoneId": "cn-a,cn-b,", "multiAttach": "maybe"}),
				makeClaim("data", "lenient", v1.ReadWriteOnce),
			}},
			pod:  makePod("p", "", "data"),
			want: map[string]*fwk.Status{"c1": unresolvable(ErrReasonClassZone, "cn-a,cn-b", "lenient")},
		},
		{
			name: "a shared claim on a class whose multiAttach is off: the driver would refuse it",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				wffcClass("single", map[string]string{"type": "cloud_essd", "multiAttach": "yes"}), sharedClaim("data", "single"),
			}},
			pod:       makePod("p", "", "data"),
			preFilter: unresolvable(`persistentvolumeclaim "default/data": `+disk.ErrReasonMultiAttachRequired, v1.ReadWriteMany, "single", `multiAttach "yes"`),
		},
		{
			name: "PV whose node affinity has no terms",
			cluster: cluster{nodes: threeZones, objs: []runtime.Object{
				boundTo(makeClaim("data", "zoned", v1.ReadWriteOnce), "pv-1"),
				func() *v1.PersistentVolume {
					pv := diskPV("pv-1", "d-1", "data", false, "", "")
					pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{}}
					return pv
				}(),
			}},
			pod:       makePod("p", "", "data"),
			preFilter: unresolvable(`persistentvolume "pv-1": unusable node affinity: it has no node selector term, so it matches no node`),
		},
		{
			name: "conflicting zone labels fail a zonal claim",
			cluster: cluster{
				nodes: []*v1.Node{makeNode("x", disk.LabelDriverZone, zoneA, v1.LabelTopologyZone, zoneB)},
				objs:  []runtime.Object{essdZoned, makeClaim("data", "zoned", v1.ReadWriteOnce)},
			},
			pod:  makePod("p", "", "data"),
			want: map[string]*fwk.Status{"x": unresolvable(ErrReasonZoneConflict)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, snap := tt.cluster.setup(t, nil)
			o := run(t, pl, snap, tt.pod)
			if diff := cmp.Diff(tt.preFilter, o.preFilter); diff != "" {
				t.Fatalf("PreFilter status (-want +got):\n%s", diff)
			}
			if tt.preFilter != nil {
				return
			}
			for _, n := range tt.cluster.nodes {
				if diff := cmp.Diff(tt.want[n.Name], o.filter[n.Name]); diff != "" {
					t.Errorf("Filter on %s (-want +got):\n%s", n.Name, diff)
				}
			}
		})
	}
}

func ephemeralPod(name, vol string) *v1.Pod {
	p := makePod(name, "")
	p.Spec.Volumes = []v1.Volume{{Name: vol, VolumeSource: v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{}}}}
	return p
}

// TestSkip: pods with nothing of ours cost nothing.
func TestSkip(t *testing.T) {
	nodes := []*v1.Node{zoneNode("a1", zoneA, nvmeType)}
	immediate := wffcClass("immediate", map[string]string{"type": "cloud_essd", "zoneId": zoneB})
	immediate.VolumeBindingMode = ptr.To(storagev1.VolumeBindingImmediate)
	other := wffcClass("other", nil)
	other.Provisioner = "ebs.csi.aws.com"
	tests := []struct {
		name string
		objs []runtime.Object
		pod  *v1.Pod
	}{
		{name: "no volumes", pod: makePod("p", "")},
		{name: "Immediate-mode unbound claim", objs: []runtime.Object{immediate, makeClaim("data", "immediate", v1.ReadWriteOnce)}, pod: makePod("p", "", "data")},
		{name: "claim of another driver", objs: []runtime.Object{other, makeClaim("data", "other", v1.ReadWriteMany)}, pod: makePod("p", "", "data")},
		{
			name: "bound PV of another driver",
			objs: []runtime.Object{
				boundTo(makeClaim("data", "other", v1.ReadWriteOnce), "pv-x"),
				func() *v1.PersistentVolume {
					pv := diskPV("pv-x", "vol-1", "data", true, v1.LabelTopologyZone, zoneB)
					pv.Spec.CSI.Driver = "ebs.csi.aws.com"
					return pv
				}(),
			},
			pod: makePod("p", "", "data"),
		},
		{name: "claim without class", objs: []runtime.Object{makeClaim("data", "", v1.ReadWriteOnce)}, pod: makePod("p", "", "data")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl, snap := cluster{nodes: nodes, objs: tt.objs}.setup(t, nil)
			o := run(t, pl, snap, tt.pod)
			if o.preFilter.Code() != fwk.Skip {
				t.Errorf("PreFilter = %v, want Skip", o.preFilter)
			}
		})
	}
}

// sharedDiskCluster is a zone of NVMe nodes where a shared disk d-1 (PV pv-1,
// claim data) lives.
func sharedDiskCluster(nodesInZone int) cluster {
	c := cluster{objs: []runtime.Object{
		wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true"}),
		boundTo(sharedClaim("data", "shared"), "pv-1"),
		diskPV("pv-1", "d-1", "data", true, disk.LabelDriverZone, zoneA),
	}}
	for i := 0; i < nodesInZone; i++ {
		c.nodes = append(c.nodes, zoneNode(fmt.Sprintf("a%02d", i), zoneA, nvmeType))
	}
	return c
}

// TestAttachLimit covers rule 2, the per-zone multi-attach cap.
func TestAttachLimit(t *testing.T) {
	limitMsg := func(n int) *fwk.Status { return unresolvable(ErrReasonAttachLimit, "d-1", n, zoneA, 16) }
	holderMsg := unschedulable(ErrReasonHolder, "d-1")

	t.Run("16 nodes hold the disk: the 17th is rejected, the 16 are not rejected by the cap", func(t *testing.T) {
		c := sharedDiskCluster(18)
		for i := 0; i < 16; i++ {
			c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data"))
		}
		pl, snap := c.setup(t, nil)
		o := run(t, pl, snap, makePod("new", "", "data"))
		if !o.preFilter.IsSuccess() {
			t.Fatal(o.preFilter)
		}
		for i, n := range c.nodes {
			want := holderMsg
			if i >= 16 {
				want = limitMsg(16)
			}
			if diff := cmp.Diff(want, o.filter[n.Name]); diff != "" {
				t.Errorf("node %s (-want +got):\n%s", n.Name, diff)
			}
		}
	})
	t.Run("a limit of 2 from the args", func(t *testing.T) {
		c := sharedDiskCluster(3)
		c.pods = []*v1.Pod{makePod("h0", "a00", "data"), makePod("h1", "a01", "data")}
		args := DefaultArgs()
		args.MaxNodesPerZone = 2
		pl, snap := c.setup(t, args)
		o := run(t, pl, snap, makePod("new", "", "data"))
		if diff := cmp.Diff(unresolvable(ErrReasonAttachLimit, "d-1", 2, zoneA, 2), o.filter["a02"]); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("a VolumeAttachment on a node with no pod counts, and its node passes", func(t *testing.T) {
		c := sharedDiskCluster(18)
		for i := 0; i < 15; i++ {
			c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data"))
		}
		c.objs = append(c.objs, volumeAttachment("pv-1", "a15"))
		pl, snap := c.setup(t, nil)
		o := run(t, pl, snap, makePod("new", "", "data"))
		if o.filter["a15"] != nil {
			t.Errorf("the detaching node already counts, so it passes the cap: %v", o.filter["a15"])
		}
		if diff := cmp.Diff(limitMsg(16), o.filter["a16"]); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("a VolumeAttachment on a node that is gone counts in the disk's zone until it detaches", func(t *testing.T) {
		c := sharedDiskCluster(17)
		for i := 0; i < 15; i++ {
			c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data"))
		}
		// The node lost with its pods; the instance still has the disk.
		c.objs = append(c.objs, volumeAttachment("pv-1", "lost-node"))
		pl, snap := c.setup(t, nil)
		o := run(t, pl, snap, makePod("new", "", "data"))
		for _, n := range []string{"a15", "a16"} {
			if diff := cmp.Diff(limitMsg(16), o.filter[n]); diff != "" {
				t.Errorf("node %s (-want +got):\n%s", n, diff)
			}
		}
	})
	t.Run("a VolumeAttachment on a node that is gone counts in every zone when the volume pins none", func(t *testing.T) {
		c := sharedDiskCluster(17)
		c.objs[2] = diskPV("pv-1", "d-1", "data", true, "", "")
		for i := 0; i < 15; i++ {
			c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data"))
		}
		c.objs = append(c.objs, volumeAttachment("pv-1", "lost-node"))
		pl, snap := c.setup(t, nil)
		o := run(t, pl, snap, makePod("new", "", "data"))
		if diff := cmp.Diff(limitMsg(16), o.filter["a16"]); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("VolumeAttachments are ignored when the args say so", func(t *testing.T) {
		c := sharedDiskCluster(18)
		for i := 0; i < 15; i++ {
			c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data"))
		}
		c.objs = append(c.objs, volumeAttachment("pv-1", "a15"))
		args := DefaultArgs()
		args.CountVolumeAttachments = false
		pl, snap := c.setup(t, args)
		o := run(t, pl, snap, makePod("new", "", "data"))
		if o.filter["a16"] != nil {
			t.Errorf("with VolumeAttachments ignored only 15 nodes count: %v", o.filter["a16"])
		}
	})
	t.Run("assumed pods count: replicas scheduled back to back see each other", func(t *testing.T) {
		c := sharedDiskCluster(17)
		for i := 0; i < 15; i++ {
			c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data"))
		}
		// The previous replica was assumed onto a15 and is not bound yet.
		c.assumed = []*v1.Pod{makePod("just-assumed", "a15", "data")}
		pl, snap := c.setup(t, nil)
		o := run(t, pl, snap, makePod("new", "", "data"))
		if diff := cmp.Diff(holderMsg, o.filter["a15"]); diff != "" {
			t.Errorf("the assumed replica holds its node:\n%s", diff)
		}
		if diff := cmp.Diff(limitMsg(16), o.filter["a16"]); diff != "" {
			t.Errorf("the assumed replica counts toward the limit:\n%s", diff)
		}
	})
	t.Run("a terminating pod still counts", func(t *testing.T) {
		c := sharedDiskCluster(17)
		for i := 0; i < 16; i++ {
			p := makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data")
			if i == 0 {
				p.DeletionTimestamp = &metav1.Time{}
			}
			c.pods = append(c.pods, p)
		}
		pl, snap := c.setup(t, nil)
		o := run(t, pl, snap, makePod("new", "", "data"))
		if diff := cmp.Diff(limitMsg(16), o.filter["a16"]); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("two static PVs with one volumeHandle are one disk", func(t *testing.T) {
		c := sharedDiskCluster(17)
		c.objs = append(c.objs,
			boundTo(sharedClaim("data2", ""), "pv-2"),
			diskPV("pv-2", "d-1", "data2", true, disk.LabelDriverZone, zoneA))
		for i := 0; i < 16; i++ {
			claim := "data"
			if i%2 == 1 {
				claim = "data2"
			}
			c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, claim))
		}
		pl, snap := c.setup(t, nil)
		o := run(t, pl, snap, makePod("new", "", "data2"))
		if diff := cmp.Diff(limitMsg(16), o.filter["a16"]); diff != "" {
			t.Error(diff)
		}
		if diff := cmp.Diff(holderMsg, o.filter["a00"]); diff != "" {
			t.Errorf("a pod of the other PV of the same disk is a holder:\n%s", diff)
		}
	})
	t.Run("the count is per zone", func(t *testing.T) {
		c := sharedDiskCluster(16)
		c.objs[2] = func() *v1.PersistentVolume { // a regional disk, reachable from both zones
			pv := diskPV("pv-1", "d-1", "data", true, v1.LabelTopologyRegion, region)
			return pv
		}()
		c.nodes = append(c.nodes, zoneNode("b00", zoneB, nvmeType))
		for i := 0; i < 16; i++ {
			c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), c.nodes[i].Name, "data"))
		}
		pl, snap := c.setup(t, nil)
		o := run(t, pl, snap, makePod("new", "", "data"))
		if o.filter["b00"] != nil {
			t.Errorf("zone %s has no attachment yet: %v", zoneB, o.filter["b00"])
		}
	})
}

// TestHolder covers rule 3: one pod per node per shared disk.
func TestHolder(t *testing.T) {
	c := sharedDiskCluster(3)
	c.objs = append(c.objs,
		boundTo(sharedClaim("other", "shared"), "pv-9"),
		diskPV("pv-9", "d-9", "other", true, disk.LabelDriverZone, zoneA))
	c.pods = []*v1.Pod{makePod("h0", "a00", "data"), makePod("o1", "a01", "other")}
	pl, snap := c.setup(t, nil)
	o := run(t, pl, snap, makePod("new", "", "data"))
	want := map[string]*fwk.Status{"a00": unschedulable(ErrReasonHolder, "d-1")}
	for _, n := range c.nodes {
		if diff := cmp.Diff(want[n.Name], o.filter[n.Name]); diff != "" {
			t.Errorf("node %s (-want +got):\n%s", n.Name, diff)
		}
	}
}

// TestNVMe covers rule 4 through the plugin.
func TestNVMe(t *testing.T) {
	c := sharedDiskCluster(0)
	c.nodes = []*v1.Node{
		zoneNode("g7se", zoneA, "ecs.g7se.xlarge"),
		zoneNode("g6", zoneA, "ecs.g6.large"),
		zoneNode("g7se-off", zoneA, "ecs.g7se.xlarge", disk.LabelNVMeMultiAttach, "false"),
		zoneNode("unknown-on", zoneA, "ecs.zz1.large", disk.LabelNVMeMultiAttach, "true"),
		makeNode("no-type", disk.LabelDriverZone, zoneA),
	}
	pl, snap := c.setup(t, nil)
	o := run(t, pl, snap, makePod("new", "", "data"))
	notNVMe := unresolvable(ErrReasonNotNVMe, "d-1")
	want := map[string]*fwk.Status{"g6": notNVMe, "g7se-off": notNVMe, "no-type": notNVMe}
	for _, n := range c.nodes {
		if diff := cmp.Diff(want[n.Name], o.filter[n.Name]); diff != "" {
			t.Errorf("node %s (-want +got):\n%s", n.Name, diff)
		}
	}
	// The scheduler only needs to look at the NVMe-capable nodes of the disk's zone.
	if o.result == nil || !o.result.NodeNames.Equal(setOf("g7se", "unknown-on")) {
		t.Errorf("PreFilterResult = %v, want the two NVMe-capable nodes", o.result)
	}
}

// TestRejectionMetric: each rejection is counted under its rule and the
// node's zone; zone-less nodes as "none", and zones past the bound as "other".
func TestRejectionMetric(t *testing.T) {
	c := sharedDiskCluster(0)
	c.nodes = []*v1.Node{zoneNode("g6", zoneA, plainType), zoneNode("g6b", zoneA, plainType), makeNode("nozone", v1.LabelInstanceTypeStable, plainType)}
	pl, snap := c.setup(t, nil)
	value := func(rule, zone string) float64 {
		t.Helper()
		v, err := testutil.GetCounterMetricValue(rejectedNodes.WithLabelValues(rule, zone))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// The disk lives in zone a: the zone-less node fails the zone rule.
	beforeA, beforeNone := value(RuleNVMe, zoneA), value(RuleZone, zoneNone)
	run(t, pl, snap, makePod("new", "", "data"))
	if got := value(RuleNVMe, zoneA) - beforeA; got != 2 {
		t.Errorf("nvme rejections in %s counted %v, want 2", zoneA, got)
	}
	if got := value(RuleZone, zoneNone); got-beforeNone != 1 {
		t.Errorf("zone rejections of zone-less nodes counted %v, want 1", got-beforeNone)
	}

	beforeOther := value(RuleHolder, zoneOther)
	for i := range maxZoneLabels + 5 {
		countRejection(RuleHolder, fmt.Sprintf("zone-%d", i))
	}
	countersMu.RLock()
	distinct := len(zones)
	countersMu.RUnlock()
	if distinct > maxZoneLabels {
		t.Errorf("%d distinct zone label values, want at most %d", distinct, maxZoneLabels)
	}
	if got := value(RuleHolder, zoneOther) - beforeOther; got < 5 {
		t.Errorf("rejections past the zone bound counted under %q: %v, want at least 5", zoneOther, got)
	}
}

// TestSharedPerDisk: two static volumes of one disk, a writer's
// ReadWriteOnce volume and the readers' ReadWriteMany one. The disk is
// shared, so the writer's pod gets every shared-disk rule: NVMe, one holder
// per node (the readers hold nodes), and the attach limit (counting the
// readers' nodes and VolumeAttachments of either volume).
func TestSharedPerDisk(t *testing.T) {
	writerPV := diskPV("pv-w", "d-1", "writer", false, disk.LabelDriverZone, zoneA)
	readerPV := diskPV("pv-r", "d-1", "readers", true, disk.LabelDriverZone, zoneA)
	c := cluster{
		nodes: []*v1.Node{
			zoneNode("a0", zoneA, nvmeType), zoneNode("a1", zoneA, nvmeType), zoneNode("a2", zoneA, nvmeType),
			zoneNode("a3", zoneA, nvmeType), zoneNode("plain", zoneA, plainType),
		},
		objs: []runtime.Object{
			writerPV, readerPV,
			boundTo(makeClaim("writer", "", v1.ReadWriteOnce), "pv-w"),
			boundTo(sharedClaim("readers", ""), "pv-r"),
			// The writer's old attachment, still detaching from a2.
			volumeAttachment("pv-w", "a2"),
		},
		pods: []*v1.Pod{makePod("r0", "a0", "readers"), makePod("r1", "a1", "readers")},
	}
	args := DefaultArgs()
	args.MaxNodesPerZone = 3
	pl, snap := c.setup(t, args)
	writer := makePod("w", "", "writer")
	o := run(t, pl, snap, writer)
	if !o.preFilter.IsSuccess() {
		t.Fatal(o.preFilter)
	}
	want := map[string]*fwk.Status{
		"a0":    unschedulable(ErrReasonHolder, "d-1"),
		"a1":    unschedulable(ErrReasonHolder, "d-1"),
		"a2":    nil, // attached already (its VolumeAttachment): always passes the cap
		"a3":    unresolvable(ErrReasonAttachLimit, "d-1", 3, zoneA, 3),
		"plain": unresolvable(ErrReasonNotNVMe, "d-1"),
	}
	if diff := cmp.Diff(want, o.filter); diff != "" {
		t.Errorf("Filter (-want +got):\n%s", diff)
	}
	// SignPod reads the same classification: the writer is not batched.
	if _, st := pl.SignPod(context.Background(), writer); st.Message() != signRefusedShared {
		t.Errorf("SignPod(writer) = %v, want refused as a shared-disk pod", st)
	}
}

// noZoneNode is an NVMe-capable node with a region but no zone label.
func noZoneNode(name string) *v1.Node {
	return makeNode(name, v1.LabelTopologyRegion, region, v1.LabelInstanceTypeStable, nvmeType)
}

// TestNodesWithoutZone: a node without a zone label gives the provisioner no
// zone, so the driver would create a zonal disk in a zone of its own choosing:
// it cannot take an unbound claim that gets a zonal disk there, single-attach
// or shared, nor a bound zonal one; it can take a regional one.
func TestNodesWithoutZone(t *testing.T) {
	c := cluster{
		nodes: []*v1.Node{zoneNode("a1", zoneA, nvmeType), noZoneNode("nozone")},
		objs: []runtime.Object{
			wffcClass("essd", map[string]string{"type": "cloud_essd"}),
			wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true"}),
			wffcClass("regional", map[string]string{"type": "cloud_regional_disk_auto"}),
			wffcClass("regional-first", map[string]string{"type": "cloud_regional_disk_auto,cloud_essd"}),
			makeClaim("single", "essd", v1.ReadWriteOnce),
			sharedClaim("data", "shared"),
			makeClaim("regional", "regional", v1.ReadWriteOnce),
			makeClaim("regional-first", "regional-first", v1.ReadWriteOnce),
			boundTo(makeClaim("bound", "essd", v1.ReadWriteOnce), "pv-1"),
			diskPV("pv-1", "d-1", "bound", false, disk.LabelDriverZone, zoneA),
		},
	}
	pl, snap := c.setup(t, nil)
	for _, tt := range []struct {
		claim string
		want  *fwk.Status
	}{
		{claim: "single", want: unresolvable(ErrReasonNoZone, "essd")},
		{claim: "data", want: unresolvable(ErrReasonNoZone, "shared")},
		{claim: "bound", want: unresolvable(ErrReasonDiskZone, zoneA, "d-1")},
		{claim: "regional"},
		// A node that does not describe its disk types gets the first type.
		{claim: "regional-first"},
	} {
		t.Run(tt.claim, func(t *testing.T) {
			o := run(t, pl, snap, makePod("p", "", tt.claim))
			if !o.preFilter.IsSuccess() {
				t.Fatal(o.preFilter)
			}
			if diff := cmp.Diff(map[string]*fwk.Status{"a1": nil, "nozone": tt.want}, o.filter); diff != "" {
				t.Errorf("Filter (-want +got):\n%s", diff)
			}
		})
	}
}
