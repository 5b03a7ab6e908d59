package disk

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// testResolver returns a resolver reading the objects, with the disk index.
func testResolver(t *testing.T, objs ...any) *Resolver {
	t.Helper()
	pvcs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	pvs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{VolumeHandleIndex: IndexByVolumeHandle})
	classes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *v1.PersistentVolumeClaim:
			err = pvcs.Add(o)
		case *v1.PersistentVolume:
			err = pvs.Add(o)
		case *storagev1.StorageClass:
			err = classes.Add(o)
		default:
			t.Fatalf("unexpected object %T", o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return &Resolver{
		PVCs:    corelisters.NewPersistentVolumeClaimLister(pvcs),
		PVs:     corelisters.NewPersistentVolumeLister(pvs),
		Classes: storagelisters.NewStorageClassLister(classes),
		Volumes: IndexedVolumes{Indexer: pvs},
		Drivers: []string{DriverName},
	}
}

func staticPV(name, handle, claim string, mode v1.PersistentVolumeAccessMode, attrs map[string]string) *v1.PersistentVolume {
	return &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			AccessModes:            []v1.PersistentVolumeAccessMode{mode},
			ClaimRef:               &v1.ObjectReference{Namespace: "ns", Name: claim},
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{Driver: DriverName, VolumeHandle: handle, VolumeAttributes: attrs}},
		},
	}
}

func boundClaim(name, pv string, mode v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec:       v1.PersistentVolumeClaimSpec{VolumeName: pv, AccessModes: []v1.PersistentVolumeAccessMode{mode}, StorageClassName: ptr.To("")},
	}
}

// TestSharedPerDisk: a disk is shared when any of the volumes sharing its
// handle is, so a writer claim on a ReadWriteOnce volume of a disk whose
// readers use a ReadWriteMany volume is a shared-disk claim.
func TestSharedPerDisk(t *testing.T) {
	writer := boundClaim("writer", "pv-w", v1.ReadWriteOnce)
	rwo := staticPV("pv-w", "d-1", "writer", v1.ReadWriteOnce, nil)
	tests := []struct {
		name string
		objs []any
		want bool
	}{
		{name: "one ReadWriteOnce volume: single-attach", objs: []any{writer, rwo}},
		{
			name: "readers' ReadWriteMany volume of the same disk",
			objs: []any{writer, rwo, staticPV("pv-r", "d-1", "readers", v1.ReadWriteMany, nil)},
			want: true,
		},
		{
			name: "readers' volume says multiAttach in its attributes",
			objs: []any{writer, rwo, staticPV("pv-r", "d-1", "readers", v1.ReadWriteOnce, map[string]string{ParamMultiAttach: "true"})},
			want: true,
		},
		{
			name: "readers' volume's class says multiAttach",
			objs: []any{
				writer, rwo,
				func() *v1.PersistentVolume {
					pv := staticPV("pv-r", "d-1", "readers", v1.ReadWriteOnce, nil)
					pv.Spec.StorageClassName = "shared"
					return pv
				}(),
				&storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Provisioner: DriverName, Parameters: map[string]string{ParamMultiAttach: "enabled"}},
			},
			want: true,
		},
		{
			name: "the claim bound to the other volume asks for ReadOnlyMany",
			objs: []any{writer, rwo, staticPV("pv-r", "d-1", "readers", v1.ReadWriteOnce, nil), boundClaim("readers", "pv-r", v1.ReadOnlyMany)},
			want: true,
		},
		{
			name: "another disk's ReadWriteMany volume does not count",
			objs: []any{writer, rwo, staticPV("pv-r", "d-2", "readers", v1.ReadWriteMany, nil)},
		},
		{
			name: "same handle, another driver: another disk",
			objs: []any{writer, rwo, func() *v1.PersistentVolume {
				pv := staticPV("pv-r", "d-1", "readers", v1.ReadWriteMany, nil)
				pv.Spec.CSI.Driver = "other.csi.example.com"
				return pv
			}()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testResolver(t, tt.objs...)
			c, ours, err := r.Classify(writer)
			if err != nil || !ours {
				t.Fatalf("Classify = %v, %v", ours, err)
			}
			if c.MultiAttach != tt.want {
				t.Errorf("writer claim MultiAttach = %v, want %v", c.MultiAttach, tt.want)
			}
			if got, err := r.SharedDisk(rwo); err != nil || got != tt.want {
				t.Errorf("SharedDisk(pv-w) = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
