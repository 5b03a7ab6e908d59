package volumetopology

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// benchCluster: 5000 nodes over 3 zones, 30% NVMe-capable, with disk-type
// labels; a shared disk d-1 in zone A held by 10 pods, a single-attach disk
// d-2 in use on one node, and 20000 other pods, each with a claim of its
// own.
func benchCluster(b *testing.B) (*VolumeTopology, []fwk.NodeInfo) {
	const nodes = 5000
	c := cluster{objs: []runtime.Object{
		wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true"}),
		boundTo(sharedClaim("data", "shared"), "pv-1"),
		diskPV("pv-1", "d-1", "data", true, disk.LabelDriverZone, zoneA),
		wffcClass("zoned", map[string]string{"type": "cloud_essd,cloud_ssd", "zoneId": "cn-a,cn-b"}),
		makeClaim("zoned", "zoned", v1.ReadWriteOnce),
		wffcClass("essd", map[string]string{"type": "cloud_essd"}),
		boundTo(makeClaim("rwo", "essd", v1.ReadWriteOnce), "pv-2"),
		diskPV("pv-2", "d-2", "rwo", false, disk.LabelDriverZone, zoneA),
	}}
	zones := []string{zoneA, zoneB, zoneC}
	for i := 0; i < nodes; i++ {
		it := plainType
		if i%10 < 3 {
			it = nvmeType
		}
		c.nodes = append(c.nodes, zoneNode(fmt.Sprintf("node-%04d", i), zones[i%3], it,
			disk.DiskTypeLabel("cloud_essd"), "available", "pool", fmt.Sprintf("p%d", i%7)))
	}
	for i := 0; i < 10; i++ {
		c.pods = append(c.pods, makePod(fmt.Sprintf("h%d", i), fmt.Sprintf("node-%04d", i*30), "data"))
	}
	c.pods = append(c.pods, makePod("rwo-user", "node-0003", "rwo"))
	for i := 0; i < 20000; i++ {
		c.pods = append(c.pods, makePod(fmt.Sprintf("bg%d", i), fmt.Sprintf("node-%04d", i%nodes), fmt.Sprintf("bg-claim-%d", i)))
	}
	pl, snap := c.setup(b, nil)
	list, err := snap.NodeInfos().List()
	if err != nil {
		b.Fatal(err)
	}
	return pl, list
}

func BenchmarkPreFilter(b *testing.B) {
	pl, nodes := benchCluster(b)
	ctx := context.Background()
	cases := map[string]*v1.Pod{
		"skip/no-volumes": makePod("p", ""),
		"skip/configmap-volume": func() *v1.Pod {
			p := makePod("p", "")
			p.Spec.Volumes = []v1.Volume{{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}}}
			return p
		}(),
		"single-attach-zoneId": makePod("p", "", "zoned"),
		"single-attach-in-use": makePod("p", "", "rwo"),
		"shared-disk":          makePod("p", "", "data"),
	}
	for name, pod := range cases {
		// index: where disks are used, from the holder index; scan: the
		// pass over every node it replaced (its tests' oracle).
		for _, how := range []string{"index", "scan"} {
			b.Run(name+"/"+how, func(b *testing.B) {
				pl.scanHolders = how == "scan"
				defer func() { pl.scanHolders = false }()
				b.ReportAllocs()
				cs := framework.NewCycleState()
				for b.Loop() {
					pl.PreFilter(ctx, cs, pod, nodes)
				}
			})
		}
	}
}

// BenchmarkFilter measures one Filter call, cycling over the nodes.
func BenchmarkFilter(b *testing.B) {
	pl, nodes := benchCluster(b)
	ctx := context.Background()
	for _, name := range []string{"shared-disk", "single-attach-zoneId"} {
		pod := makePod("p", "", map[string]string{"shared-disk": "data", "single-attach-zoneId": "zoned"}[name])
		cs := framework.NewCycleState()
		if _, st := pl.PreFilter(ctx, cs, pod, nodes); !st.IsSuccess() {
			b.Fatal(st)
		}
		var feasible []fwk.NodeInfo
		for _, ni := range nodes {
			if pl.Filter(ctx, cs, pod, ni) == nil {
				feasible = append(feasible, ni)
			}
		}
		for set, list := range map[string][]fwk.NodeInfo{"feasible-nodes": feasible, "all-nodes": nodes} {
			b.Run(name+"/"+set, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					pl.Filter(ctx, cs, pod, list[i])
					if i++; i == len(list) {
						i = 0
					}
				}
			})
		}
	}
}
