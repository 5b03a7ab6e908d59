package validation

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
)

// The details apimachinery gives for names that are not qualified names. Its
// wording changes between releases (0.35 says "a valid label key" where 0.34
// said "a qualified name"), so they are read from it; the tests pin where and
// whether an error is reported.
var (
	badNamePart = validation.IsQualifiedName("-zone")[0]
	badPrefix   = validation.IsQualifiedName("Example_COM/zone")[0]
	badSlashes  = validation.IsQualifiedName("example.com/nvme/multi-attach")[0]
)

const (
	badDriver = "a CSI driver name must consist of alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'diskplugin.csi.alibabacloud.com')"
	badFamily = "an instance family must consist of lowercase alphanumeric characters only (e.g. 'g7se' or 'c8y')"
)

// validArgs are the defaults, spelled out.
func validArgs() *config.VolumeTopologyArgs {
	return &config.VolumeTopologyArgs{
		Drivers:                []string{"diskplugin.csi.alibabacloud.com"},
		MaxNodesPerZone:        16,
		NVMeInstanceFamilies:   []string{"g7se", "c7se", "r7se", "c8y", "g8y", "r8y", "g8ae", "c8ae", "r8ae", "g8i", "c8i", "r8i"},
		NVMeLabelKey:           "volume-topology.scheduling.io/nvme-multi-attach",
		CountVolumeAttachments: true,
		ZoneLabelKeys: []string{
			"topology.diskplugin.csi.alibabacloud.com/zone",
			"topology.kubernetes.io/zone",
			"failure-domain.beta.kubernetes.io/zone",
		},
	}
}

func TestValidateVolumeTopologyArgs(t *testing.T) {
	path := field.NewPath("args")
	tests := []struct {
		name   string
		modify func(*config.VolumeTopologyArgs)
		want   field.ErrorList
	}{
		{
			name:   "defaults are valid",
			modify: func(*config.VolumeTopologyArgs) {},
		},
		{
			name: "custom values are valid",
			modify: func(a *config.VolumeTopologyArgs) {
				a.Drivers = []string{
					"Disk.CSI-Driver.example.com", // CSI driver names may have uppercase letters
					strings.Repeat("d", 63),
					"a",
				}
				a.MaxNodesPerZone = 1
				a.NVMeInstanceFamilies = []string{"g9x", "8"}
				a.NVMeLabelKey = "NVMe"
				a.CountVolumeAttachments = false
				a.ZoneLabelKeys = []string{"example.com/Zone_ID"}
			},
		},
		{
			name:   "an empty instance family list is valid",
			modify: func(a *config.VolumeTopologyArgs) { a.NVMeInstanceFamilies = []string{} },
		},
		{
			name:   "a missing instance family list is valid",
			modify: func(a *config.VolumeTopologyArgs) { a.NVMeInstanceFamilies = nil },
		},
		{
			name:   "drivers missing",
			modify: func(a *config.VolumeTopologyArgs) { a.Drivers = nil },
			want:   field.ErrorList{field.Required(path.Child("drivers"), "at least one CSI driver name")},
		},
		{
			name:   "drivers empty",
			modify: func(a *config.VolumeTopologyArgs) { a.Drivers = []string{} },
			want:   field.ErrorList{field.Required(path.Child("drivers"), "at least one CSI driver name")},
		},
		{
			name:   "driver entry empty",
			modify: func(a *config.VolumeTopologyArgs) { a.Drivers = []string{"diskplugin.csi.alibabacloud.com", ""} },
			want:   field.ErrorList{field.Required(path.Child("drivers").Index(1), "a CSI driver name")},
		},
		{
			name:   "driver longer than 63 characters",
			modify: func(a *config.VolumeTopologyArgs) { a.Drivers = []string{strings.Repeat("d", 64)} },
			want:   field.ErrorList{field.Invalid(path.Child("drivers").Index(0), strings.Repeat("d", 64), "must be no more than 63 characters")},
		},
		{
			name: "driver names with bad characters or ends",
			modify: func(a *config.VolumeTopologyArgs) {
				a.Drivers = []string{"-disk.csi.example.com", "disk.csi.example.com.", "disk_csi", "disk csi", "disk/csi"}
			},
			want: field.ErrorList{
				field.Invalid(path.Child("drivers").Index(0), "-disk.csi.example.com", badDriver),
				field.Invalid(path.Child("drivers").Index(1), "disk.csi.example.com.", badDriver),
				field.Invalid(path.Child("drivers").Index(2), "disk_csi", badDriver),
				field.Invalid(path.Child("drivers").Index(3), "disk csi", badDriver),
				field.Invalid(path.Child("drivers").Index(4), "disk/csi", badDriver),
			},
		},
		{
			name: "driver listed twice",
			modify: func(a *config.VolumeTopologyArgs) {
				a.Drivers = []string{"diskplugin.csi.alibabacloud.com", "other.csi.example.com", "diskplugin.csi.alibabacloud.com"}
			},
			want: field.ErrorList{field.Duplicate(path.Child("drivers").Index(2), "diskplugin.csi.alibabacloud.com")},
		},
		{
			name:   "maxNodesPerZone zero",
			modify: func(a *config.VolumeTopologyArgs) { a.MaxNodesPerZone = 0 },
			want:   field.ErrorList{field.Invalid(path.Child("maxNodesPerZone"), int32(0), "must be greater than 0")},
		},
		{
			name:   "maxNodesPerZone negative",
			modify: func(a *config.VolumeTopologyArgs) { a.MaxNodesPerZone = -3 },
			want:   field.ErrorList{field.Invalid(path.Child("maxNodesPerZone"), int32(-3), "must be greater than 0")},
		},
		{
			name:   "instance family empty",
			modify: func(a *config.VolumeTopologyArgs) { a.NVMeInstanceFamilies = []string{"g7se", ""} },
			want:   field.ErrorList{field.Required(path.Child("nvmeInstanceFamilies").Index(1), "an instance family")},
		},
		{
			name: "instance families not lowercase alphanumerics",
			modify: func(a *config.VolumeTopologyArgs) {
				a.NVMeInstanceFamilies = []string{"G7se", "ecs.g7se", "g7-se", "c8y "}
			},
			want: field.ErrorList{
				field.Invalid(path.Child("nvmeInstanceFamilies").Index(0), "G7se", badFamily),
				field.Invalid(path.Child("nvmeInstanceFamilies").Index(1), "ecs.g7se", badFamily),
				field.Invalid(path.Child("nvmeInstanceFamilies").Index(2), "g7-se", badFamily),
				field.Invalid(path.Child("nvmeInstanceFamilies").Index(3), "c8y ", badFamily),
			},
		},
		{
			name:   "instance family listed twice",
			modify: func(a *config.VolumeTopologyArgs) { a.NVMeInstanceFamilies = []string{"g7se", "c8y", "g7se"} },
			want:   field.ErrorList{field.Duplicate(path.Child("nvmeInstanceFamilies").Index(2), "g7se")},
		},
		{
			name:   "nvmeLabelKey missing",
			modify: func(a *config.VolumeTopologyArgs) { a.NVMeLabelKey = "" },
			want:   field.ErrorList{field.Required(path.Child("nvmeLabelKey"), "the node label that declares NVMe multi-attach support")},
		},
		{
			name:   "nvmeLabelKey with spaces",
			modify: func(a *config.VolumeTopologyArgs) { a.NVMeLabelKey = "nvme multi attach" },
			want:   field.ErrorList{field.Invalid(path.Child("nvmeLabelKey"), "nvme multi attach", badNamePart)},
		},
		{
			name:   "nvmeLabelKey with two slashes",
			modify: func(a *config.VolumeTopologyArgs) { a.NVMeLabelKey = "example.com/nvme/multi-attach" },
			want:   field.ErrorList{field.Invalid(path.Child("nvmeLabelKey"), "example.com/nvme/multi-attach", badSlashes)},
		},
		{
			name:   "zoneLabelKeys missing",
			modify: func(a *config.VolumeTopologyArgs) { a.ZoneLabelKeys = nil },
			want:   field.ErrorList{field.Required(path.Child("zoneLabelKeys"), "at least one node zone label key")},
		},
		{
			name:   "zone label key empty",
			modify: func(a *config.VolumeTopologyArgs) { a.ZoneLabelKeys = []string{"topology.kubernetes.io/zone", ""} },
			want:   field.ErrorList{field.Required(path.Child("zoneLabelKeys").Index(1), "a node zone label key")},
		},
		{
			name:   "zone label keys not qualified names",
			modify: func(a *config.VolumeTopologyArgs) { a.ZoneLabelKeys = []string{"Example_COM/zone", "-zone"} },
			want: field.ErrorList{
				field.Invalid(path.Child("zoneLabelKeys").Index(0), "Example_COM/zone", badPrefix),
				field.Invalid(path.Child("zoneLabelKeys").Index(1), "-zone", badNamePart),
			},
		},
		{
			name: "zone label key listed twice",
			modify: func(a *config.VolumeTopologyArgs) {
				a.ZoneLabelKeys = []string{"topology.kubernetes.io/zone", "topology.kubernetes.io/zone"}
			},
			want: field.ErrorList{field.Duplicate(path.Child("zoneLabelKeys").Index(1), "topology.kubernetes.io/zone")},
		},
		{
			name: "every field wrong at once: all reported, in field order",
			modify: func(a *config.VolumeTopologyArgs) {
				*a = config.VolumeTopologyArgs{
					Drivers:              []string{"a", "a"},
					MaxNodesPerZone:      0,
					NVMeInstanceFamilies: []string{"G7"},
					NVMeLabelKey:         "",
					ZoneLabelKeys:        []string{},
				}
			},
			want: field.ErrorList{
				field.Duplicate(path.Child("drivers").Index(1), "a"),
				field.Invalid(path.Child("maxNodesPerZone"), int32(0), "must be greater than 0"),
				field.Invalid(path.Child("nvmeInstanceFamilies").Index(0), "G7", badFamily),
				field.Required(path.Child("nvmeLabelKey"), "the node label that declares NVMe multi-attach support"),
				field.Required(path.Child("zoneLabelKeys"), "at least one node zone label key"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := validArgs()
			tt.modify(args)
			err := ValidateVolumeTopologyArgs(path, args)
			if diff := cmp.Diff(tt.want, errorList(t, err)); diff != "" {
				t.Errorf("errors (-want,+got):\n%s", diff)
			}
		})
	}
}

// TestValidateVolumeTopologyArgsMessage pins the message an operator reads
// when kube-scheduler refuses a configuration.
func TestValidateVolumeTopologyArgsMessage(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*config.VolumeTopologyArgs)
		want   string
	}{
		{
			name:   "one error",
			modify: func(a *config.VolumeTopologyArgs) { a.MaxNodesPerZone = 0 },
			want:   `args.maxNodesPerZone: Invalid value: 0: must be greater than 0`,
		},
		{
			name: "several errors",
			modify: func(a *config.VolumeTopologyArgs) {
				a.Drivers = []string{"diskplugin.csi.alibabacloud.com", "diskplugin.csi.alibabacloud.com"}
				a.NVMeInstanceFamilies = []string{""}
				a.ZoneLabelKeys = nil
			},
			want: `[args.drivers[1]: Duplicate value: "diskplugin.csi.alibabacloud.com", ` +
				`args.nvmeInstanceFamilies[0]: Required value: an instance family, ` +
				`args.zoneLabelKeys: Required value: at least one node zone label key]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := validArgs()
			tt.modify(args)
			err := ValidateVolumeTopologyArgs(field.NewPath("args"), args)
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

// errorList unpacks the aggregate ValidateVolumeTopologyArgs returns.
func errorList(t *testing.T, err error) field.ErrorList {
	t.Helper()
	if err == nil {
		return nil
	}
	var agg utilerrors.Aggregate
	if !errors.As(err, &agg) {
		t.Fatalf("error %v (%T) is not an aggregate", err, err)
	}
	var list field.ErrorList
	for _, e := range agg.Errors() {
		fe, ok := e.(*field.Error)
		if !ok {
			t.Fatalf("error %v (%T) is not a *field.Error", e, e)
		}
		list = append(list, fe)
	}
	return list
}
