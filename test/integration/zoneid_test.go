package integration

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
)

// A StorageClass zoneId list restricts where the provisioner creates disks.
// Without the plugin the default scheduler spreads replicas over every zone
// whose nodes offer the disk type, and the provisioner then creates a disk in
// a zoneId zone the pod cannot reach (ConflictingZone). With it, every
// replica lands in a zoneId zone and its disk next to it.
func TestZoneIDKeepsDisksReachable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		zoneID string
		types  string
		// lower is the driver's fallback key, zoneid, read when zoneId is absent.
		lower string
		zones []string
	}{
		// Zone c nodes offer cloud_essd too: only zoneId keeps pods out of it.
		{name: "two-zones", zoneID: zoneA + "," + zoneB, types: disk.CategoryESSD + "," + disk.CategorySSD, zones: []string{zoneA, zoneB}},
		// The driver does not trim the entries: "  cn-beijing-b" matches no
		// zone, and a pod in zone b would get its disk in zone a.
		{name: "spaces-after-commas", zoneID: zoneA + ",  " + zoneB, types: disk.CategoryESSD + "," + disk.CategorySSD, zones: []string{zoneA}},
		// A trailing comma, as templates write it: the driver's set gets an
		// empty entry, which matches no zone and does no harm.
		{name: "trailing-comma", zoneID: zoneA + "," + zoneB + ",", types: disk.CategoryESSD + "," + disk.CategorySSD, zones: []string{zoneA, zoneB}},
		{name: "excludes-two-zones", zoneID: zoneC, types: disk.CategorySSD, zones: []string{zoneC}},
		{name: "lowercase-key", lower: zoneB, types: disk.CategoryESSD, zones: []string{zoneB}},
		{name: "both-keys-zoneId-wins", zoneID: zoneA, lower: zoneB, types: disk.CategoryESSD, zones: []string{zoneA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			ns := newNamespace(ctx, t, "zoneid")
			class := "zoneid-" + ns
			sts := withClaimTemplate(statefulSet("zoned", localcluster.SchedulerName, 6), "data", class)
			params := map[string]string{disk.ParamType: tc.types}
			if tc.zoneID != "" {
				params[disk.ParamZoneID] = tc.zoneID
			}
			if tc.lower != "" {
				params[disk.ParamZoneIDLower] = tc.lower
			}
			apply(ctx, t, ns, wffcClass(class, params), sts)
			c := waitPods(ctx, t, ns, "app=zoned", 6, 0, 60*time.Second)
			for _, p := range c.running {
				if z := zoneOfNode(node(ctx, t, p.Spec.NodeName)); !slices.Contains(tc.zones, z) {
					t.Errorf("pod %s runs in zone %s, outside zones %q", p.Name, z, tc.zones)
				}
			}
			assertDisksNextToPods(ctx, t, ns, c.running)
			checkRules(ctx, t, ns)
		})
	}
}

// assertDisksNextToPods checks that each pod's disks were provisioned in the
// zone of its node and that their PVs say so with the driver's zone key.
func assertDisksNextToPods(ctx context.Context, t *testing.T, ns string, pods []v1.Pod) {
	t.Helper()
	for _, p := range pods {
		zone := zoneOfNode(node(ctx, t, p.Spec.NodeName))
		for _, name := range disk.ClaimNames(&p) {
			pvc, err := cluster.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			pv, err := cluster.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(pv.Spec.CSI.VolumeHandle, "d-") {
				t.Errorf("pv %s has volume handle %q, want a disk ID", pv.Name, pv.Spec.CSI.VolumeHandle)
			}
			d, ok := cloud.Disk(pv.Spec.CSI.VolumeHandle)
			if !ok {
				t.Errorf("pv %s: the cloud has no disk %s", pv.Name, pv.Spec.CSI.VolumeHandle)
				continue
			}
			if d.Zone != zone {
				t.Errorf("pod %s runs in zone %s but its disk %s was created in zone %s", p.Name, zone, d.ID, d.Zone)
			}
			terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms
			want := v1.NodeSelectorRequirement{Key: disk.LabelDriverZone, Operator: v1.NodeSelectorOpIn, Values: []string{zone}}
			if len(terms) != 1 || len(terms[0].MatchExpressions) != 1 || terms[0].MatchExpressions[0].Key != want.Key || !slices.Equal(terms[0].MatchExpressions[0].Values, want.Values) {
				t.Errorf("pv %s node affinity %+v, want %+v", pv.Name, terms, want)
			}
		}
	}
}
