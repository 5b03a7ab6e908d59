package explain

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// TestExplainAttachmentsAndUsers: a ReadWriteOnce disk of zone b used by a
// running pod on one node, attached there, detaching from a second node,
// attached to a NotReady third and attaching to a node that is gone. The
// explanation of a second pod of its claim names each attachment, the user,
// the in-use verdict on every other node, what DiskLocality prefers, and why
// an attach waits on the NotReady and gone nodes.
func TestExplainAttachmentsAndUsers(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	state := fleet(t)
	b := nvmeNodes(state, "cn-beijing-b")
	for i := range state.Nodes {
		if state.Nodes[i].Name == b[2] {
			state.Nodes[i].Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionFalse}}
		}
	}
	state.Classes = append(state.Classes, storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "essd"}, Provisioner: disk.DriverName,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	})
	state.Claims = append(state.Claims, v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "rwo", Name: "data"},
		Spec: v1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("essd"), VolumeName: "pv-rwo",
			AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}},
	})
	state.Volumes = append(state.Volumes, v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-rwo"},
		Spec: v1.PersistentVolumeSpec{
			AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			ClaimRef:    &v1.ObjectReference{Namespace: "rwo", Name: "data"},
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver: disk.DriverName, VolumeHandle: "d-rwo",
			}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: disk.LabelDriverZone, Operator: v1.NodeSelectorOpIn, Values: []string{"cn-beijing-b"}}},
			}}}},
		},
	})
	va := func(node string, attached, deleting bool) storagev1.VolumeAttachment {
		a := storagev1.VolumeAttachment{
			ObjectMeta: metav1.ObjectMeta{Name: "csi-" + node},
			Spec: storagev1.VolumeAttachmentSpec{Attacher: disk.DriverName, NodeName: node,
				Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-rwo")}},
			Status: storagev1.VolumeAttachmentStatus{Attached: attached},
		}
		if deleting {
			a.DeletionTimestamp = &metav1.Time{}
			a.Finalizers = []string{"external-attacher/" + disk.DriverName}
		}
		return a
	}
	state.VolumeAttachments = append(state.VolumeAttachments,
		va(b[0], true, false), va(b[1], true, true), va(b[2], true, false), va("gone-1", false, false))
	pod := func(name, node string) v1.Pod {
		p := v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "rwo", Name: name, UID: k8stypes.UID("uid-" + name)},
			Spec: v1.PodSpec{NodeName: node, SchedulerName: "volume-topology-scheduler", Volumes: []v1.Volume{{Name: "data",
				VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
		}
		if node != "" {
			p.Status.Phase = v1.PodRunning
		}
		return p
	}
	state.Pods = append(state.Pods, pod("old", b[0]), pod("new", ""))

	r := explainPod(ctx, t, state, volumetopology.DefaultArgs(), "rwo", "new")
	if !slices.Equal(r.Fits, []string{b[0]}) {
		t.Errorf("fits %v, want only %s, where the disk is in use", r.Fits, b[0])
	}
	wantAttachments := []Attachment{
		{Disk: "d-rwo", Node: b[0], State: "attached", NodeState: "Ready"},
		{Disk: "d-rwo", Node: b[1], State: "detaching", NodeState: "Ready"},
		{Disk: "d-rwo", Node: b[2], State: "attached", NodeState: "NotReady"},
		{Disk: "d-rwo", Node: "gone-1", State: "attaching", NodeState: "gone"},
	}
	slices.SortFunc(wantAttachments, func(x, y Attachment) int { return strings.Compare(x.Node, y.Node) })
	if !slices.Equal(r.Attachments, wantAttachments) {
		t.Errorf("attachments = %+v, want %+v", r.Attachments, wantAttachments)
	}

	var out bytes.Buffer
	if err := Print(&out, []*Report{r}, "table"); err != nil {
		t.Fatal(err)
	}
	inUse := fmt.Sprintf(volumetopology.ErrReasonInUse, "d-rwo", "rwo/old", b[0])
	wantLines := []string{
		"Disk d-rwo: attached to node " + b[0],
		"Disk d-rwo: detaching from node " + b[1],
		"Disk d-rwo: attached to node " + b[2],
		"  " + StuckAttachmentNote(Attachment{Disk: "d-rwo", Node: b[2], NodeState: "NotReady"}),
		"Disk d-rwo: attaching to node gone-1",
		"  " + StuckAttachmentNote(Attachment{Disk: "d-rwo", Node: "gone-1", NodeState: "gone"}),
		"Disk d-rwo: in use by pod rwo/old on node " + b[0] + " (a single-attach disk serves other pods only on that node)",
		fmt.Sprintf("DiskLocality prefers, among the nodes that fit: %s (100), %s (100), gone-1 (100)", b[0], b[2]),
		LinePrediction + fmt.Sprintf("1/72 nodes are available: 23 %s, 48 %s.", inUse, fmt.Sprintf(volumetopology.ErrReasonDiskZone, "cn-beijing-b", "d-rwo")),
	}
	lines := strings.Split(out.String(), "\n")
	for _, line := range wantLines {
		if !slices.Contains(lines, line) {
			t.Errorf("output lacks the line %q:\n%s", line, out.String())
		}
	}
	for _, note := range []string{"node " + b[2] + " is NotReady: an attach of disk d-rwo to another node waits", "node gone-1 is gone: an attach", "node.kubernetes.io/out-of-service"} {
		if !strings.Contains(out.String(), note) {
			t.Errorf("output lacks %q", note)
		}
	}
	if strings.Contains(out.String(), "node "+b[0]+" is") || strings.Contains(out.String(), "node "+b[1]+" is") {
		t.Errorf("a Ready node got a stuck-attachment note:\n%s", out.String())
	}
}
