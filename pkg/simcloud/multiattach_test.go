package simcloud

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"
)

// startAttachCloud runs the cloud on a fake API server with two nodes of
// zone a and the objects given. The fake API server does not remove a
// deleted object once its finalizers are gone: a goroutine does, as the real
// one would.
func startAttachCloud(t *testing.T, o Options, objs ...runtime.Object) (kubernetes.Interface, context.Context, *Cloud) {
	t.Helper()
	n1, c1 := testNode("n1", "cn-beijing-a")
	n2, c2 := testNode("n2", "cn-beijing-a")
	all := []runtime.Object{n1, c1, n2, c2}
	all = append(all, objs...)
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	client := fake.NewClientset(all...)
	// The fake API server deletes at once; the real one only marks an
	// object with finalizers as being deleted.
	client.PrependReactor("delete", "volumeattachments", func(action clienttesting.Action) (bool, runtime.Object, error) {
		name := action.(clienttesting.DeleteAction).GetName()
		obj, err := client.Tracker().Get(storagev1.SchemeGroupVersion.WithResource("volumeattachments"), "", name)
		if err != nil {
			return false, nil, nil
		}
		va := obj.(*storagev1.VolumeAttachment).DeepCopy()
		if len(va.Finalizers) == 0 {
			return false, nil, nil
		}
		if va.DeletionTimestamp == nil {
			va.DeletionTimestamp = ptr.To(metav1.Now())
			if err := client.Tracker().Update(storagev1.SchemeGroupVersion.WithResource("volumeattachments"), va, ""); err != nil {
				return true, nil, err
			}
		}
		return true, nil, nil
	})
	o.Seed = 1
	cloud, err := Start(ctx, client, o)
	if err != nil {
		t.Fatal(err)
	}
	go wait.UntilWithContext(ctx, func(ctx context.Context) {
		vas, err := client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		for _, va := range vas.Items {
			if va.DeletionTimestamp != nil && len(va.Finalizers) == 0 {
				_ = client.StorageV1().VolumeAttachments().Delete(ctx, va.Name, metav1.DeleteOptions{})
			}
		}
	}, 20*time.Millisecond)
	return client, ctx, cloud
}

// attachmentNodes lists the nodes with an attached VolumeAttachment that is
// not being deleted, and those with one being deleted.
func attachmentNodes(ctx context.Context, t *testing.T, client kubernetes.Interface) (attached, detaching []string) {
	t.Helper()
	vas, err := client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, va := range vas.Items {
		switch {
		case va.DeletionTimestamp != nil:
			detaching = append(detaching, va.Spec.NodeName)
		case va.Status.Attached:
			attached = append(attached, va.Spec.NodeName)
		}
	}
	slices.Sort(attached)
	slices.Sort(detaching)
	return attached, detaching
}

func waitUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		t.Fatalf("timed out waiting until %s", what)
	}
}

func warningMessages(ctx context.Context, t *testing.T, client kubernetes.Interface, pod string) []string {
	t.Helper()
	events, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events.Items {
		if e.InvolvedObject.Name == pod && e.Type == v1.EventTypeWarning && e.Reason == ReasonFailedAttachVolume {
			out = append(out, e.Message)
		}
	}
	return out
}

func withUID(p *v1.Pod) *v1.Pod {
	p.UID = types.UID("uid-" + p.Name)
	return p
}

// A single-attach disk in use on n1 is not attached to n2 for a second pod:
// the pod gets the attach-detach controller's event naming the pod using it,
// once, and the cloud is never asked (no refused attach). Once the first
// pod is gone, the disk is detached from n1 (after UnmountDelay and
// DetachDelay) and attached to n2.
func TestSingleAttachDiskWaitsForDetach(t *testing.T) {
	pv, pvc := staticVolumeOf("pv-a", "d-single", "a", "cn-beijing-a", v1.ReadWriteOnce)
	client, ctx, cloud := startAttachCloud(t, Options{
		DetachDelay: 200 * time.Millisecond, UnmountDelay: 300 * time.Millisecond, RetryInterval: 100 * time.Millisecond,
	}, pv, pvc, withUID(podOn("a-0", "n1", "a")))
	waitUntil(ctx, t, "d-single is attached to n1", func() bool {
		attached, _ := attachmentNodes(ctx, t, client)
		return slices.Equal(attached, []string{"n1"})
	})

	if _, err := client.CoreV1().Pods("default").Create(ctx, withUID(podOn("a-1", "n2", "a")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := MultiAttachMessage("pv-a", "default", []string{"default/a-0"})
	waitUntil(ctx, t, "a-1 gets the Multi-Attach event", func() bool {
		return len(warningMessages(ctx, t, client, "a-1")) > 0
	})
	// Long enough for several syncs (retries, pod updates): still one event,
	// no attachment to n2.
	if _, err := client.CoreV1().Pods("default").UpdateStatus(ctx, withUID(podOn("a-1", "n2", "a")), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if got := warningMessages(ctx, t, client, "a-1"); !slices.Equal(got, []string{want}) {
		t.Errorf("events of a-1 = %q, want once %q", got, want)
	}
	if attached, detaching := attachmentNodes(ctx, t, client); !slices.Equal(attached, []string{"n1"}) || len(detaching) > 0 {
		t.Errorf("attachments: attached %v detaching %v, want attached [n1] only", attached, detaching)
	}
	errs := cloud.MultiAttachErrors()
	if len(errs) != 1 {
		t.Fatalf("Multi-Attach errors = %+v, want 1", errs)
	}
	wantErr := MultiAttachError{Pod: "default/a-1", Node: "n2", Disk: "d-single", Volume: "pv-a",
		Others: []OtherAttachment{{Node: "n1", UsedBy: []string{"default/a-0"}}}}
	if diff := cmp.Diff(wantErr, errs[0], cmpopts.IgnoreFields(MultiAttachError{}, "At"), cmpopts.IgnoreFields(OtherAttachment{}, "NodeObject")); diff != "" {
		t.Errorf("Multi-Attach error (-want +got):\n%s", diff)
	}
	if errs[0].Others[0].NodeObject == nil || errs[0].Others[0].NodeObject.Name != "n1" {
		t.Errorf("the other attachment's node object = %v, want n1", errs[0].Others[0].NodeObject)
	}

	if err := client.CoreV1().Pods("default").Delete(ctx, "a-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitUntil(ctx, t, "d-single is attached to n2", func() bool {
		attached, detaching := attachmentNodes(ctx, t, client)
		return slices.Equal(attached, []string{"n2"}) && len(detaching) == 0
	})
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("the disk moved in %s, want at least UnmountDelay+DetachDelay (500ms)", took)
	}
	got := cloud.Counts("default")
	want2 := Counts{Attaches: 2, Detaches: 1, Refused: map[string]int{}, MultiAttachErrors: 1}
	if diff := cmp.Diff(want2, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if other := cloud.Counts("other"); other.Attaches != 0 || other.MultiAttachErrors != 0 {
		t.Errorf("counts of namespace other = %+v, want none", other)
	}
}

// A pod of the disk back on its node within UnmountDelay keeps the
// attachment: no detach, no second attach.
func TestUnmountDelayKeepsTheAttachment(t *testing.T) {
	pv, pvc := staticVolumeOf("pv-a", "d-single", "a", "cn-beijing-a", v1.ReadWriteOnce)
	client, ctx, cloud := startAttachCloud(t, Options{DetachDelay: 100 * time.Millisecond, UnmountDelay: 2 * time.Second},
		pv, pvc, withUID(podOn("a-0", "n1", "a")))
	waitUntil(ctx, t, "d-single is attached to n1", func() bool {
		attached, _ := attachmentNodes(ctx, t, client)
		return slices.Equal(attached, []string{"n1"})
	})
	if err := client.CoreV1().Pods("default").Delete(ctx, "a-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := client.CoreV1().Pods("default").Create(ctx, withUID(podOn("a-0b", "n1", "a")), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // past the delay counted from the first pod's removal
	if attached, detaching := attachmentNodes(ctx, t, client); !slices.Equal(attached, []string{"n1"}) || len(detaching) > 0 {
		t.Errorf("attachments: attached %v detaching %v, want attached [n1] only", attached, detaching)
	}
	if got := cloud.Counts(""); got.Attaches != 1 || got.Detaches != 0 || got.MultiAttachErrors != 0 {
		t.Errorf("counts = %+v, want 1 attach, no detach", got)
	}
}

// A shared (ReadWriteMany) disk is attached to both nodes at once: no
// Multi-Attach error.
func TestSharedDiskAttachesToTwoNodes(t *testing.T) {
	pv, pvc := staticVolumeOf("pv-s", "d-shared", "s", "cn-beijing-a", v1.ReadWriteMany)
	client, ctx, cloud := startAttachCloud(t, Options{}, pv, pvc, withUID(podOn("s-0", "n1", "s")), withUID(podOn("s-1", "n2", "s")))
	waitUntil(ctx, t, "d-shared is attached to n1 and n2", func() bool {
		attached, _ := attachmentNodes(ctx, t, client)
		return slices.Equal(attached, []string{"n1", "n2"})
	})
	if got := cloud.Counts("default"); got.Attaches != 2 || got.MultiAttachErrors != 0 || got.RefusedTotal() != 0 {
		t.Errorf("counts = %+v, want 2 attaches and nothing else", got)
	}
}

// An attach the cloud refuses (a zonal disk and a node of another zone) is
// counted once by its code, however often it is retried.
func TestRefusedAttachIsCounted(t *testing.T) {
	pv, pvc := staticVolumeOf("pv-b", "d-zone-b", "b", "cn-beijing-b", v1.ReadWriteOnce)
	client, ctx, cloud := startAttachCloud(t, Options{RetryInterval: 50 * time.Millisecond}, pv, pvc, withUID(podOn("b-0", "n1", "b")))
	waitUntil(ctx, t, "the attach to n1 fails", func() bool {
		vas, _ := client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
		return len(vas.Items) == 1 && vas.Items[0].Status.AttachError != nil
	})
	time.Sleep(400 * time.Millisecond) // several retries
	want := map[string]int{CodeZoneMismatch: 1}
	if got := cloud.Counts("default"); !cmp.Equal(got.Refused, want) || got.Attaches != 0 || got.RefusedTotal() != 1 {
		t.Errorf("counts = %+v, want refused %v only", got, want)
	}
}

func TestMultiAttachMessage(t *testing.T) {
	for _, tc := range []struct {
		users []string
		want  string
	}{
		{nil, multiAttachPrefix + ` for volume "pv-1" ` + MultiAttachAttachedDetail},
		{[]string{"default/a", "default/b"}, multiAttachPrefix + ` for volume "pv-1" Volume is already used by pod(s) a, b`},
		{[]string{"default/a", "other/c"}, multiAttachPrefix + ` for volume "pv-1" Volume is already used by pod(s) a and 1 pod(s) in different namespaces`},
		{[]string{"other/c", "other/d"}, multiAttachPrefix + ` for volume "pv-1" Volume is already used by 2 pod(s) in different namespaces`},
	} {
		if got := MultiAttachMessage("pv-1", "default", tc.users); got != tc.want {
			t.Errorf("MultiAttachMessage(%v) = %q, want %q", tc.users, got, tc.want)
		}
	}
}
