package v1

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

func defaulted() *VolumeTopologyArgs {
	return &VolumeTopologyArgs{
		Drivers:                []string{"diskplugin.csi.alibabacloud.com"},
		MaxNodesPerZone:        ptr.To[int32](16),
		NVMeInstanceFamilies:   slices.Clone(disk.DefaultNVMeInstanceFamilies),
		NVMeLabelKey:           ptr.To("volume-topology.scheduling.io/nvme-multi-attach"),
		CountVolumeAttachments: ptr.To(true),
		ZoneLabelKeys: []string{
			"topology.diskplugin.csi.alibabacloud.com/zone",
			"topology.kubernetes.io/zone",
			"failure-domain.beta.kubernetes.io/zone",
		},
		EnforceReadWriteOnce: ptr.To(true),
	}
}

func TestSetDefaultsVolumeTopologyArgs(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		in   *VolumeTopologyArgs
		want *VolumeTopologyArgs
	}{
		{
			name: "empty args take every default",
			in:   &VolumeTopologyArgs{},
			want: defaulted(),
		},
		{
			name: "empty required lists take the defaults",
			in: &VolumeTopologyArgs{
				Drivers:       []string{},
				ZoneLabelKeys: []string{},
			},
			want: defaulted(),
		},
		{
			name: "explicit zero values are kept, an empty family list included",
			in: &VolumeTopologyArgs{
				MaxNodesPerZone:        ptr.To[int32](0),
				NVMeInstanceFamilies:   []string{},
				NVMeLabelKey:           ptr.To(""),
				CountVolumeAttachments: ptr.To(false),
				EnforceReadWriteOnce:   ptr.To(false),
			},
			want: func() *VolumeTopologyArgs {
				a := defaulted()
				a.MaxNodesPerZone = ptr.To[int32](0)
				a.NVMeInstanceFamilies = []string{}
				a.NVMeLabelKey = ptr.To("")
				a.CountVolumeAttachments = ptr.To(false)
				a.EnforceReadWriteOnce = ptr.To(false)
				return a
			}(),
		},
		{
			name: "every field set is kept",
			in: &VolumeTopologyArgs{
				Drivers:                []string{"disk.csi.example.com", "Other-Driver"},
				MaxNodesPerZone:        ptr.To[int32](4),
				NVMeInstanceFamilies:   []string{"g9x"},
				NVMeLabelKey:           ptr.To("example.com/nvme"),
				CountVolumeAttachments: ptr.To(false),
				ZoneLabelKeys:          []string{"example.com/zone"},
				EnforceReadWriteOnce:   ptr.To(false),
			},
			want: &VolumeTopologyArgs{
				Drivers:                []string{"disk.csi.example.com", "Other-Driver"},
				MaxNodesPerZone:        ptr.To[int32](4),
				NVMeInstanceFamilies:   []string{"g9x"},
				NVMeLabelKey:           ptr.To("example.com/nvme"),
				CountVolumeAttachments: ptr.To(false),
				ZoneLabelKeys:          []string{"example.com/zone"},
				EnforceReadWriteOnce:   ptr.To(false),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			direct := tt.in.DeepCopy()
			SetObjectDefaults_VolumeTopologyArgs(direct)
			if diff := cmp.Diff(tt.want, direct); diff != "" {
				t.Errorf("SetObjectDefaults_VolumeTopologyArgs (-want,+got):\n%s", diff)
			}
			// The scheme must default the same way: that is the path
			// kube-scheduler takes.
			viaScheme := tt.in.DeepCopy()
			scheme.Default(viaScheme)
			if diff := cmp.Diff(tt.want, viaScheme); diff != "" {
				t.Errorf("scheme.Default (-want,+got):\n%s", diff)
			}
		})
	}
}

// TestDefaultsDoNotAliasPackageLists: changing defaulted args must never change
// package disk's defaults, which every later defaulting starts from.
func TestDefaultsDoNotAliasPackageLists(t *testing.T) {
	wantFamilies := slices.Clone(disk.DefaultNVMeInstanceFamilies)
	wantZones := slices.Clone(disk.DefaultZoneLabelKeys)

	var args VolumeTopologyArgs
	SetObjectDefaults_VolumeTopologyArgs(&args)
	args.NVMeInstanceFamilies[0] = "changed"
	args.ZoneLabelKeys[0] = "changed"
	args.Drivers[0] = "changed"

	if diff := cmp.Diff(wantFamilies, disk.DefaultNVMeInstanceFamilies); diff != "" {
		t.Errorf("disk.DefaultNVMeInstanceFamilies changed (-want,+got):\n%s", diff)
	}
	if diff := cmp.Diff(wantZones, disk.DefaultZoneLabelKeys); diff != "" {
		t.Errorf("disk.DefaultZoneLabelKeys changed (-want,+got):\n%s", diff)
	}
	var again VolumeTopologyArgs
	SetObjectDefaults_VolumeTopologyArgs(&again)
	if diff := cmp.Diff(defaulted(), &again); diff != "" {
		t.Errorf("defaults after changing earlier args (-want,+got):\n%s", diff)
	}
}
