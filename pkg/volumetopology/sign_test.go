package volumetopology

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/utils/ptr"
)

func TestSignPod(t *testing.T) {
	otherDriver := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: "nas"},
		Provisioner:       "nasplugin.csi.alibabacloud.com",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	c := cluster{
		nodes: []*v1.Node{zoneNode("a0", zoneA, nvmeType)},
		objs: []runtime.Object{
			wffcClass("essd", map[string]string{"type": "cloud_essd"}),
			wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true"}),
			otherDriver,
			makeClaim("single", "essd", v1.ReadWriteOnce),
			sharedClaim("data", "shared"),
			makeClaim("files", "nas", v1.ReadWriteMany),
		},
	}
	pl, _ := c.setup(t, nil)
	withConfigMap := makePod("cm", "")
	withConfigMap.Spec.Volumes = []v1.Volume{{Name: "cfg", VolumeSource: v1.VolumeSource{ConfigMap: &v1.ConfigMapVolumeSource{}}}}
	volumes := func(p *v1.Pod) []fwk.SignFragment {
		return []fwk.SignFragment{{Key: fwk.VolumesSignerName, Value: fwk.VolumesSigner(p)}}
	}
	single := makePod("single", "", "single")
	tests := []struct {
		name  string
		pod   *v1.Pod
		want  []fwk.SignFragment
		wantS *fwk.Status
	}{
		{name: "no volumes: nothing added", pod: makePod("none", "")},
		{name: "configMap volume: nothing added", pod: withConfigMap},
		{name: "claim of another driver: nothing added", pod: makePod("nas", "", "files")},
		{name: "single-attach disk: signed by its volumes", pod: single, want: volumes(single)},
		{name: "shared disk: refused", pod: makePod("shared", "", "data"), wantS: fwk.NewStatus(fwk.Unschedulable, signRefusedShared)},
		{name: "shared and single-attach disks: refused", pod: makePod("both", "", "single", "data"), wantS: fwk.NewStatus(fwk.Unschedulable, signRefusedShared)},
		{name: "missing claim: refused", pod: makePod("missing", "", "nope"), wantS: fwk.NewStatus(fwk.Unschedulable, signRefusedUnresolved)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st := pl.SignPod(context.Background(), tt.pod)
			if diff := cmp.Diff(tt.wantS, st); diff != "" {
				t.Errorf("status (-want,+got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fragments (-want,+got):\n%s", diff)
			}
		})
	}
}

// TestSignPodEphemeralReplicas: replicas with the same generic ephemeral
// volume template have a claim each, of one class, so they sign alike and
// can be batched.
func TestSignPodEphemeralReplicas(t *testing.T) {
	template := &v1.PersistentVolumeClaimTemplate{Spec: v1.PersistentVolumeClaimSpec{
		StorageClassName: ptr.To("essd"),
		AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
	}}
	var pods []*v1.Pod
	objs := []runtime.Object{wffcClass("essd", map[string]string{"type": "cloud_essd"})}
	for _, name := range []string{"web-0", "web-1"} {
		p := makePod(name, "")
		p.Spec.Volumes = []v1.Volume{{Name: "scratch", VolumeSource: v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{VolumeClaimTemplate: template}}}}
		claim := makeClaim(name+"-scratch", "essd", v1.ReadWriteOnce)
		claim.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: name, UID: p.UID, Controller: ptr.To(true)}}
		pods = append(pods, p)
		objs = append(objs, claim)
	}
	pl, _ := cluster{nodes: []*v1.Node{zoneNode("a0", zoneA, plainType)}, objs: objs}.setup(t, nil)
	var sigs [][]fwk.SignFragment
	for _, p := range pods {
		f, st := pl.SignPod(context.Background(), p)
		if !st.IsSuccess() || len(f) == 0 {
			t.Fatalf("SignPod(%s) = %v, %v; want a volumes fragment", p.Name, f, st)
		}
		sigs = append(sigs, f)
	}
	if diff := cmp.Diff(sigs[0], sigs[1]); diff != "" {
		t.Errorf("replicas of one template sign differently (-web-0,+web-1):\n%s", diff)
	}
}

// TestSignPodBeforeItsEphemeralClaimExists: the queue signs a pod when it is
// added, before the ephemeral volume controller has created its claims. The
// template says what the rules need, so replicas of one template sign alike
// right away; a template of a shared class is refused as a shared disk is;
// a missing ordinary claim is still refused.
func TestSignPodBeforeItsEphemeralClaimExists(t *testing.T) {
	withTemplate := func(name, class string, mode v1.PersistentVolumeAccessMode) *v1.Pod {
		p := makePod(name, "")
		p.Spec.Volumes = []v1.Volume{{Name: "scratch", VolumeSource: v1.VolumeSource{Ephemeral: &v1.EphemeralVolumeSource{
			VolumeClaimTemplate: &v1.PersistentVolumeClaimTemplate{Spec: v1.PersistentVolumeClaimSpec{
				StorageClassName: ptr.To(class),
				AccessModes:      []v1.PersistentVolumeAccessMode{mode},
			}},
		}}}}
		return p
	}
	pl, _ := cluster{nodes: []*v1.Node{zoneNode("a0", zoneA, plainType)}, objs: []runtime.Object{
		wffcClass("essd", map[string]string{"type": "cloud_essd"}),
		wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true"}),
	}}.setup(t, nil)

	web0, web1 := withTemplate("web-0", "essd", v1.ReadWriteOnce), withTemplate("web-1", "essd", v1.ReadWriteOnce)
	f0, st0 := pl.SignPod(context.Background(), web0)
	f1, st1 := pl.SignPod(context.Background(), web1)
	if st0 != nil || st1 != nil {
		t.Fatalf("SignPod before the claims exist: %v, %v; want signatures", st0, st1)
	}
	want := []fwk.SignFragment{{Key: fwk.VolumesSignerName, Value: fwk.VolumesSigner(web0)}}
	if diff := cmp.Diff(want, f0); diff != "" {
		t.Errorf("web-0 fragments (-want,+got):\n%s", diff)
	}
	if diff := cmp.Diff(f0, f1); diff != "" {
		t.Errorf("replicas of one template sign differently (-web-0,+web-1):\n%s", diff)
	}
	if _, st := pl.SignPod(context.Background(), withTemplate("lease-0", "shared", v1.ReadWriteMany)); !cmp.Equal(st, fwk.NewStatus(fwk.Unschedulable, signRefusedShared)) {
		t.Errorf("template of a shared class: status %v, want %q", st, signRefusedShared)
	}
	if _, st := pl.SignPod(context.Background(), withTemplate("x-0", "missing-class", v1.ReadWriteOnce)); !cmp.Equal(st, fwk.NewStatus(fwk.Unschedulable, signRefusedUnresolved)) {
		t.Errorf("template of a missing class: status %v, want %q", st, signRefusedUnresolved)
	}
}
