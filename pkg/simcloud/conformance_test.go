package simcloud

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// Driver conformance: StorageClass spellings with what the driver
// (kubernetes-sigs/alibaba-cloud-csi-driver, pkg/disk; see pkg/disk's
// README.md) makes of them, run through the plugin's reading (package disk),
// the simulated driver's own reading (driver.go) and the audit.

var (
	conformanceSeed  = flag.Uint64("conformance-seed", 0, "seed of TestDriverConformanceRandom; 0 picks one from the clock")
	conformanceCases = flag.Int("conformance-cases", 3000, "classes TestDriverConformanceRandom generates")
)

// driverOutcome is what the driver makes of a class.
type driverOutcome struct {
	// err is the driver's error, for every node; "" when it provisions.
	err string
	// types are the categories it tries, in order, each once.
	types []string
	// zones are the zones it may create a zonal disk in; nil when it does
	// not read zoneId (none set, or no zonal type).
	zones    []string
	multi    bool
	sizeAuto bool
}

var defaultTypes = []string{disk.CategorySSD, disk.CategoryEfficiency}

var conformanceTable = []struct {
	name   string
	params map[string]string
	driver driverOutcome
	// plugin is package disk's error for a class the driver refuses.
	plugin string
}{
	{name: "nothing set", params: nil, driver: driverOutcome{types: defaultTypes}},
	{name: "type available", params: map[string]string{"type": "available"}, driver: driverOutcome{types: defaultTypes}},
	{
		name: "type Available, capitalised", params: map[string]string{"type": "Available"},
		driver: driverOutcome{err: "illegal required parameter type: Available"},
		plugin: `parameter type="Available": unknown disk category "Available"`,
	},
	{name: "type list", params: map[string]string{"type": "cloud_essd,cloud_ssd"}, driver: driverOutcome{types: []string{"cloud_essd", "cloud_ssd"}}},
	{name: "type repeated", params: map[string]string{"type": "cloud_auto,cloud_essd,cloud_auto"}, driver: driverOutcome{types: []string{"cloud_auto", "cloud_essd"}}},
	{
		name: "type trailing comma", params: map[string]string{"type": "cloud_essd,"},
		driver: driverOutcome{err: "illegal required parameter type: "},
		plugin: `parameter type="cloud_essd,": empty element in comma list`,
	},
	{
		name: "type empty", params: map[string]string{"type": ""},
		driver: driverOutcome{err: "illegal required parameter type: "},
		plugin: `parameter type="": empty element in comma list`,
	},
	{
		name: "type space after comma", params: map[string]string{"type": "cloud_essd, cloud_ssd"},
		driver: driverOutcome{err: "illegal required parameter type:  cloud_ssd"},
		plugin: `parameter type="cloud_essd, cloud_ssd": disk category " cloud_ssd" has spaces around it, which the driver does not trim`,
	},
	{
		name: "type in capitals", params: map[string]string{"type": "CLOUD_ESSD"},
		driver: driverOutcome{err: "illegal required parameter type: CLOUD_ESSD"},
		plugin: `parameter type="CLOUD_ESSD": unknown disk category "CLOUD_ESSD"`,
	},
	{
		name: "type available in a list", params: map[string]string{"type": "cloud_essd,available"},
		driver: driverOutcome{err: "illegal required parameter type: available"},
		plugin: `parameter type="cloud_essd,available": "available" stands only alone, for the driver's default types`,
	},
	{
		name: "type the driver dropped", params: map[string]string{"type": "san_ssd"},
		driver: driverOutcome{err: "illegal required parameter type: san_ssd"},
		plugin: `parameter type="san_ssd": unknown disk category "san_ssd"`,
	},
	{
		name:   "zoneId trailing comma",
		params: map[string]string{"type": "cloud_essd", "zoneId": "cn-a,cn-b,"},
		driver: driverOutcome{types: []string{"cloud_essd"}, zones: []string{"cn-a", "cn-b"}},
	},
	{
		name:   "zoneId empty entries and repeats",
		params: map[string]string{"type": "cloud_essd", "zoneId": ",cn-a,,cn-b,cn-a"},
		driver: driverOutcome{types: []string{"cloud_essd"}, zones: []string{"cn-a", "cn-b"}},
	},
	{
		name:   "zoneId space after comma: kept, matches no zone",
		params: map[string]string{"type": "cloud_essd", "zoneId": "cn-a, cn-b"},
		driver: driverOutcome{types: []string{"cloud_essd"}, zones: []string{"cn-a", " cn-b"}},
	},
	{
		name:   "zoneId in capitals: kept",
		params: map[string]string{"type": "cloud_essd", "zoneId": "CN-A"},
		driver: driverOutcome{types: []string{"cloud_essd"}, zones: []string{"CN-A"}},
	},
	{
		name:   "zoneid, read when zoneId is absent",
		params: map[string]string{"type": "cloud_essd", "zoneid": "cn-b,"},
		driver: driverOutcome{types: []string{"cloud_essd"}, zones: []string{"cn-b"}},
	},
	{
		name:   "zoneId and zoneid: zoneId wins",
		params: map[string]string{"type": "cloud_essd", "zoneId": "cn-a", "zoneid": "cn-b"},
		driver: driverOutcome{types: []string{"cloud_essd"}, zones: []string{"cn-a"}},
	},
	{
		name:   "empty zoneId wins over zoneid",
		params: map[string]string{"type": "cloud_essd", "zoneId": "", "zoneid": "cn-b"},
		driver: driverOutcome{err: "empty zone ID is invalid"},
		plugin: `parameter zoneId="": ` + disk.ReasonNoZoneInList,
	},
	{
		name:   "zoneId only commas",
		params: map[string]string{"zoneId": ",,"},
		driver: driverOutcome{err: "empty zone ID is invalid"},
		plugin: `parameter zoneId=",,": ` + disk.ReasonNoZoneInList,
	},
	{
		name:   "zoneId only commas, regional type: not read",
		params: map[string]string{"type": "cloud_regional_disk_auto", "zoneId": ","},
		driver: driverOutcome{types: []string{"cloud_regional_disk_auto"}},
	},
	{
		name:   "zoneId, regional type: not read",
		params: map[string]string{"type": "cloud_regional_disk_auto", "zoneId": "cn-b"},
		driver: driverOutcome{types: []string{"cloud_regional_disk_auto"}},
	},
	{
		name:   "zoneId, regional then zonal type: read",
		params: map[string]string{"type": "cloud_regional_disk_auto,cloud_essd", "zoneId": "cn-b,"},
		driver: driverOutcome{types: []string{"cloud_regional_disk_auto", "cloud_essd"}, zones: []string{"cn-b"}},
	},
	{name: "multiAttach true", params: map[string]string{"multiAttach": "true"}, driver: driverOutcome{types: defaultTypes, multi: true}},
	{name: "multiAttach TRUE", params: map[string]string{"multiAttach": "TRUE"}, driver: driverOutcome{types: defaultTypes, multi: true}},
	{name: "multiAttach Enabled", params: map[string]string{"multiAttach": "Enabled"}, driver: driverOutcome{types: defaultTypes, multi: true}},
	{name: "multiAttach yes: off", params: map[string]string{"multiAttach": "yes"}, driver: driverOutcome{types: defaultTypes}},
	{name: "multiAttach 1: off", params: map[string]string{"multiAttach": "1"}, driver: driverOutcome{types: defaultTypes}},
	{name: "multiAttach on: off", params: map[string]string{"multiAttach": "on"}, driver: driverOutcome{types: defaultTypes}},
	{name: "multiAttach leading space: off", params: map[string]string{"multiAttach": " true"}, driver: driverOutcome{types: defaultTypes}},
	{name: "multiAttach trailing space: off", params: map[string]string{"multiAttach": "enabled "}, driver: driverOutcome{types: defaultTypes}},
	{name: "multiAttach disabled", params: map[string]string{"multiAttach": "disabled"}, driver: driverOutcome{types: defaultTypes}},
	{name: "multiAttach empty", params: map[string]string{"multiAttach": ""}, driver: driverOutcome{types: defaultTypes}},
	{name: "performanceLevel list", params: map[string]string{"type": "cloud_essd", "performanceLevel": "PL2,PL1"}, driver: driverOutcome{types: []string{"cloud_essd"}}},
	{name: "performanceLevel repeated", params: map[string]string{"type": "cloud_essd", "performanceLevel": "PL1,PL1"}, driver: driverOutcome{types: []string{"cloud_essd"}}},
	{name: "performanceLevel empty: none", params: map[string]string{"type": "cloud_essd", "performanceLevel": ""}, driver: driverOutcome{types: []string{"cloud_essd"}}},
	{
		name: "performanceLevel lower case", params: map[string]string{"type": "cloud_essd", "performanceLevel": "pl1"},
		driver: driverOutcome{err: "illegal performance level type: pl1"},
		plugin: `parameter performanceLevel="pl1": unknown performance level "pl1" (want PL0, PL1, PL2 or PL3)`,
	},
	{
		name: "performanceLevel trailing comma", params: map[string]string{"type": "cloud_essd", "performanceLevel": "PL1,"},
		driver: driverOutcome{err: "illegal performance level type: "},
		plugin: `parameter performanceLevel="PL1,": empty element in comma list`,
	},
	{
		name: "performanceLevel space", params: map[string]string{"type": "cloud_essd", "performanceLevel": "PL0, PL1"},
		driver: driverOutcome{err: "illegal performance level type:  PL1"},
		plugin: `parameter performanceLevel="PL0, PL1": unknown performance level " PL1" (want PL0, PL1, PL2 or PL3)`,
	},
	{
		name: "performanceLevel unknown, checked whatever the type", params: map[string]string{"type": "cloud_auto", "performanceLevel": "PL4"},
		driver: driverOutcome{err: "illegal performance level type: PL4"},
		plugin: `parameter performanceLevel="PL4": unknown performance level "PL4" (want PL0, PL1, PL2 or PL3)`,
	},
	{name: "volumeSizeAutoAvailable Yes", params: map[string]string{"volumeSizeAutoAvailable": "Yes"}, driver: driverOutcome{types: defaultTypes, sizeAuto: true}},
	{name: "volumeSizeAutoAvailable 1", params: map[string]string{"volumeSizeAutoAvailable": "1"}, driver: driverOutcome{types: defaultTypes, sizeAuto: true}},
	{name: "volumeSizeAutoAvailable with a space: off", params: map[string]string{"volumeSizeAutoAvailable": " true"}, driver: driverOutcome{types: defaultTypes}},
}

const probeGiB = 2000 // large enough for every type and level

// probeZone is a zone the driver creates the class's zonal disks in.
func probeZone(o driverOutcome) string {
	if len(o.zones) > 0 {
		return o.zones[0]
	}
	return "cn-a"
}

func classOf(params map[string]string) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "sc"}, Provisioner: disk.DriverName, Parameters: params,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
}

// distinct is a list with each entry once, in order.
func distinct(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// pluginOutcome is what package disk makes of a class.
func pluginOutcome(params map[string]string) (driverOutcome, error) {
	p, err := disk.ParseParameters(params)
	if err != nil {
		return driverOutcome{}, err
	}
	rule := disk.NewClassRule(classOf(params), p, disk.DefaultZoneLabelKeys)
	return driverOutcome{types: rule.Types, zones: rule.ZoneIDs, multi: p.MultiAttach, sizeAuto: p.SizeAutoAvailable}, nil
}

// simOutcome is what the simulated driver makes of a class: its reading, and
// CreateVolume for a probe node in a zone of the class, offering every type,
// and a ReadWriteOnce claim large enough for every type.
func simOutcome(params map[string]string, zone string) (driverOutcome, Disk, error) {
	d, _, err := createVolume(volumeRequest{
		params: params, bytes: probeGiB << 30, access: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
		nodeZones: []string{zone}, nodeLabels: map[string]string{}, region: "cn-r",
	})
	if err != nil {
		return driverOutcome{}, Disk{}, err
	}
	c, err := readDriverClass(params)
	if err != nil {
		return driverOutcome{}, Disk{}, fmt.Errorf("createVolume succeeded but the class reads as an error: %w", err)
	}
	o := driverOutcome{types: distinct(c.types), multi: c.multiAttach, sizeAuto: c.sizeAuto}
	if c.zoneSet && c.hasZonal() {
		o.zones = slices.DeleteFunc(distinct(c.zones), func(z string) bool { return z == "" })
	}
	return o, d, nil
}

var outcomeCmp = cmp.AllowUnexported(driverOutcome{})

// TestDriverConformancePlugin: package disk reads each spelling as the
// driver does, and refuses exactly what it refuses, with a reason.
func TestDriverConformancePlugin(t *testing.T) {
	for _, tt := range conformanceTable {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pluginOutcome(tt.params)
			if tt.driver.err != "" {
				if err == nil || err.Error() != tt.plugin {
					t.Fatalf("error = %v, want %q (the driver: %q)", err, tt.plugin, tt.driver.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused a class the driver accepts: %v", err)
			}
			if diff := cmp.Diff(tt.driver, got, outcomeCmp); diff != "" {
				t.Errorf("reading (-driver +plugin):\n%s", diff)
			}
		})
	}
}

// TestDriverConformanceSimcloud: the simulated driver's own reading gives
// the driver's outcome for each spelling.
func TestDriverConformanceSimcloud(t *testing.T) {
	for _, tt := range conformanceTable {
		t.Run(tt.name, func(t *testing.T) {
			got, d, err := simOutcome(tt.params, probeZone(tt.driver))
			if tt.driver.err != "" {
				if err == nil || err.Error() != tt.driver.err {
					t.Fatalf("error = %v, want %q", err, tt.driver.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused a class the driver accepts: %v", err)
			}
			if diff := cmp.Diff(tt.driver, got, outcomeCmp); diff != "" {
				t.Errorf("reading (-driver +simcloud):\n%s", diff)
			}
			want := Disk{Category: tt.driver.types[0], Region: "cn-r", MultiAttach: tt.driver.multi, SizeGiB: probeGiB}
			if !disk.IsRegionalType(want.Category) {
				want.Zone = probeZone(tt.driver)
			}
			if diff := cmp.Diff(want, d); diff != "" {
				t.Errorf("disk (-want +got):\n%s", diff)
			}
		})
	}
}

func auditArgs() *config.VolumeTopologyArgs {
	return &config.VolumeTopologyArgs{
		Drivers: []string{disk.DriverName}, MaxNodesPerZone: disk.DefaultMaxNodesPerZone,
		NVMeInstanceFamilies: disk.DefaultNVMeInstanceFamilies, NVMeLabelKey: disk.LabelNVMeMultiAttach,
		ZoneLabelKeys: disk.DefaultZoneLabelKeys,
	}
}

func auditNode(name, zone string) v1.Node {
	return v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		disk.LabelDriverZone: zone, v1.LabelTopologyZone: zone, v1.LabelTopologyRegion: "cn-r",
		v1.LabelInstanceTypeStable: "ecs.g6.large", // not NVMe-capable
	}}}
}

func auditClaim(name string, modes []v1.PersistentVolumeAccessMode, mode v1.PersistentVolumeMode) v1.PersistentVolumeClaim {
	return v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: v1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To("sc"), AccessModes: modes, VolumeMode: ptr.To(mode),
			Resources: v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse(fmt.Sprint(probeGiB, "Gi"))}},
		},
	}
}

func auditPod(name, node, claim string) v1.Pod {
	return v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: v1.PodSpec{NodeName: node, Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
			PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
		}}}},
	}
}

func violations(s *audit.State) []string {
	var out []string
	for _, v := range audit.Check(s, auditArgs()).Violations {
		out = append(out, v.Rule+" "+strings.Join(v.Pods, ","))
	}
	return out
}

// TestDriverConformanceAudit: the audit classifies each class the driver
// accepts as the driver does: a pod whose unbound claim the driver would
// provision next to it is no violation, one outside the class's zoneId is;
// a bound disk whose PV carries the class's parameters (as the provisioner
// copies them) is shared, and so needs an NVMe-capable node, exactly when
// the driver turned multi-attach on.
func TestDriverConformanceAudit(t *testing.T) {
	for _, tt := range conformanceTable {
		if tt.driver.err != "" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			zone := probeZone(tt.driver)
			attrs := maps.Clone(tt.params)
			if attrs == nil {
				attrs = map[string]string{}
			}
			pv := v1.PersistentVolume{
				ObjectMeta: metav1.ObjectMeta{Name: "pv"},
				Spec: v1.PersistentVolumeSpec{
					PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{Driver: disk.DriverName, VolumeHandle: "d-1", VolumeAttributes: attrs}},
					AccessModes:            []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
					StorageClassName:       "sc",
					ClaimRef:               &v1.ObjectReference{Namespace: "default", Name: "bound"},
				},
			}
			bound := auditClaim("bound", []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}, v1.PersistentVolumeFilesystem)
			bound.Spec.VolumeName = "pv"
			s := &audit.State{
				Nodes:   []v1.Node{auditNode("in", zone), auditNode("out", "cn-z")},
				Classes: []storagev1.StorageClass{*classOf(tt.params)},
				Claims: []v1.PersistentVolumeClaim{
					auditClaim("in", []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}, v1.PersistentVolumeFilesystem),
					auditClaim("out", []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}, v1.PersistentVolumeFilesystem),
					bound,
				},
				Volumes: []v1.PersistentVolume{pv},
				Pods:    []v1.Pod{auditPod("p-in", "in", "in"), auditPod("p-out", "out", "out"), auditPod("p-bound", "in", "bound")},
			}
			var want []string
			if tt.driver.multi {
				want = append(want, audit.RuleNVMe+" default/p-bound")
			}
			// The driver's disk for the first type: a zonal one outside
			// zoneId is in a zone the pod cannot reach.
			if tt.driver.zones != nil && !disk.IsRegionalType(tt.driver.types[0]) {
				want = append(want, audit.RuleZone+" default/p-out")
			}
			if diff := cmp.Diff(want, violations(s)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDriverConformanceAccess: the driver refuses a claim's access modes
// without multi-attach, and multi-node writing without a Block volume; the
// plugin's rule for the claim says so, the simulated driver refuses it, and
// the audit reports a pod given a node anyway.
func TestDriverConformanceAccess(t *testing.T) {
	rwx, rox, rwo, rwop := v1.ReadWriteMany, v1.ReadOnlyMany, v1.ReadWriteOnce, v1.ReadWriteOncePod
	block, fs := v1.PersistentVolumeBlock, v1.PersistentVolumeFilesystem
	tests := []struct {
		multiAttach string // "-" when absent
		modes       []v1.PersistentVolumeAccessMode
		mode        v1.PersistentVolumeMode
		driverErr   string
		pluginErr   string
	}{
		{multiAttach: "true", modes: []v1.PersistentVolumeAccessMode{rwx}, mode: block},
		{multiAttach: "Enabled", modes: []v1.PersistentVolumeAccessMode{rox}, mode: fs},
		{
			multiAttach: "yes", modes: []v1.PersistentVolumeAccessMode{rwx}, mode: block,
			driverErr: "multiAttach is required for this access mode",
			pluginErr: fmt.Sprintf(disk.ErrReasonMultiAttachRequired, rwx, "sc", `multiAttach "yes"`),
		},
		{
			multiAttach: " true", modes: []v1.PersistentVolumeAccessMode{rox}, mode: block,
			driverErr: "multiAttach is required for this access mode",
			pluginErr: fmt.Sprintf(disk.ErrReasonMultiAttachRequired, rox, "sc", `multiAttach " true"`),
		},
		{
			multiAttach: "-", modes: []v1.PersistentVolumeAccessMode{rwo, rox}, mode: fs,
			driverErr: "multiAttach is required for this access mode",
			pluginErr: fmt.Sprintf(disk.ErrReasonMultiAttachRequired, rox, "sc", "no multiAttach"),
		},
		{
			multiAttach: "true", modes: []v1.PersistentVolumeAccessMode{rwx}, mode: fs,
			driverErr: "multi-node writing is only supported for block volume; use ReadWriteOnce for a filesystem disk volume",
			pluginErr: disk.ErrReasonMultiWriterNeedsBlock,
		},
		{multiAttach: "1", modes: []v1.PersistentVolumeAccessMode{rwo}, mode: block},
		{multiAttach: "-", modes: []v1.PersistentVolumeAccessMode{rwop}, mode: fs},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%v %s multiAttach=%q", tt.modes, tt.mode, tt.multiAttach)
		t.Run(name, func(t *testing.T) {
			params := map[string]string{disk.ParamType: disk.CategoryESSD}
			if tt.multiAttach != "-" {
				params[disk.ParamMultiAttach] = tt.multiAttach
			}
			_, _, err := createVolume(volumeRequest{
				params: params, bytes: 20 << 30, access: tt.modes, block: tt.mode == block,
				nodeZones: []string{"cn-a"}, nodeLabels: map[string]string{}, region: "cn-r",
			})
			if got := fmt.Sprint(err); (err != nil || tt.driverErr != "") && got != tt.driverErr {
				t.Errorf("simulated driver: %v, want %q", err, tt.driverErr)
			}

			pvc := auditClaim("data", tt.modes, tt.mode)
			c, ours, err := resolverOf(classOf(params), &pvc).Classify(&pvc)
			if err != nil || !ours {
				t.Fatalf("Classify = %v, %v", ours, err)
			}
			_, err = disk.ClaimRule(&c, disk.DefaultZoneLabelKeys)
			if got := fmt.Sprint(err); (err != nil || tt.pluginErr != "") && got != tt.pluginErr {
				t.Errorf("plugin: %v, want %q", err, tt.pluginErr)
			}

			s := &audit.State{
				Nodes:   []v1.Node{auditNode("n", "cn-a")},
				Classes: []storagev1.StorageClass{*classOf(params)},
				Claims:  []v1.PersistentVolumeClaim{pvc},
				Pods:    []v1.Pod{auditPod("p", "n", "data")},
			}
			var want []string // an unbound claim: the NVMe rule applies once a disk exists
			if tt.pluginErr != "" {
				want = []string{audit.RuleZone + " default/p"}
			}
			if diff := cmp.Diff(want, violations(s)); diff != "" {
				t.Errorf("audit violations (-want +got):\n%s", diff)
			}
		})
	}
}

// resolverOf is a disk.Resolver over one class and claim.
func resolverOf(class *storagev1.StorageClass, pvc *v1.PersistentVolumeClaim) *disk.Resolver {
	pvcs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	classes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	_ = pvcs.Add(pvc)
	_ = classes.Add(class)
	return &disk.Resolver{
		PVCs:    corelisters.NewPersistentVolumeClaimLister(pvcs),
		PVs:     corelisters.NewPersistentVolumeLister(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})),
		Classes: storagelisters.NewStorageClassLister(classes),
		Drivers: []string{disk.DriverName},
	}
}

// The grammar of random classes: entries the driver accepts, and the
// spellings it treats differently (case, spaces, empty entries, repeats,
// unknown values).
var (
	typeTokens = append(slices.Sorted(maps.Keys(driverCategories)),
		"available", "Available", "CLOUD_ESSD", " cloud_essd", "cloud_ssd ", "", "san_ssd", "cloud_magic")
	zoneTokens  = []string{"cn-a", "cn-b", "cn-c", "cn-a", " cn-b", "cn-c ", "CN-A", "", ""}
	multiTokens = []string{"true", "TRUE", "True", "enabled", "Enabled", "ENABLED", "false", "disabled", "Disabled",
		"yes", "1", "on", "", " true", "true ", "enabled\t", "ture"}
	levelTokens = []string{"PL0", "PL1", "PL2", "PL3", "pl1", " PL1", "PL4", ""}
	autoTokens  = []string{"true", "Yes", "1", "no", " yes", ""}
	zonePool    = []string{"cn-a", "cn-b", "cn-c", ""}
	nodeTypes   = append(slices.Sorted(maps.Keys(driverCategories)), "cloud_magic")
	claimGiB    = []int64{1, 5, 10, 19, 20, 30, 40, 64, 100, 461, 1261, 2000}
)

func pick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// list joins 1 to n tokens with commas.
func list(r *rand.Rand, tokens []string, n int) string {
	parts := make([]string, 1+r.IntN(n))
	for i := range parts {
		parts[i] = pick(r, tokens)
	}
	return strings.Join(parts, ",")
}

func randomParams(r *rand.Rand) map[string]string {
	p := map[string]string{}
	switch r.IntN(10) {
	case 0, 1, 2: // no type
	case 3:
		p["type"] = "available"
	default:
		// Mostly known categories, sometimes a spelling the driver refuses.
		if r.IntN(4) == 0 {
			p["type"] = list(r, typeTokens, 3)
		} else {
			p["type"] = list(r, typeTokens[:len(driverCategories)], 3)
		}
	}
	switch r.IntN(5) {
	case 0: // no zone key
	case 1:
		p["zoneid"] = list(r, zoneTokens, 4)
	case 2:
		p["zoneId"], p["zoneid"] = list(r, zoneTokens, 4), list(r, zoneTokens, 4)
	default:
		p["zoneId"] = list(r, zoneTokens, 4)
	}
	if r.IntN(3) > 0 {
		p["multiAttach"] = pick(r, multiTokens)
	}
	if r.IntN(4) == 0 {
		if r.IntN(3) == 0 {
			p["performanceLevel"] = list(r, levelTokens, 2)
		} else {
			p["performanceLevel"] = list(r, levelTokens[:4], 2)
		}
	}
	if r.IntN(4) == 0 {
		p["volumeSizeAutoAvailable"] = pick(r, autoTokens)
	}
	return p
}

// randomNode is the labels of a node: a zone (or none), the region, and the
// disk types it offers (or no description).
func randomNode(r *rand.Rand) (labels map[string]string, zone string) {
	zone = pick(r, zonePool)
	labels = map[string]string{v1.LabelTopologyRegion: "cn-r"}
	if zone != "" {
		labels[disk.LabelDriverZone], labels[v1.LabelTopologyZone] = zone, zone
	}
	if r.IntN(2) == 0 {
		for range 1 + r.IntN(3) {
			labels[disk.DiskTypeLabel(pick(r, nodeTypes))] = disk.DiskTypeAvailable
		}
	}
	return labels, zone
}

// TestDriverConformanceRandom generates classes from the table's grammar,
// nodes and claims, and checks that the plugin never refuses a class the
// simulated driver accepts, that both read an accepted class alike, and
// that the plugin lets a claim's pod onto a node exactly when the driver
// would create a disk the node can use. Any seed must pass:
// go test ./pkg/simcloud -run DriverConformanceRandom -conformance-seed=N.
func TestDriverConformanceRandom(t *testing.T) {
	seed := *conformanceSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d: rerun with -conformance-seed=%d", seed, seed)
		}
	})
	r := rand.New(rand.NewPCG(seed, 0))
	classifier := disk.NewNodeClassifier(disk.DefaultZoneLabelKeys, disk.DefaultNVMeInstanceFamilies, disk.LabelNVMeMultiAttach)
	modes := [][]v1.PersistentVolumeAccessMode{{v1.ReadWriteOnce}, {v1.ReadWriteOncePod}, {v1.ReadWriteMany}, {v1.ReadOnlyMany}, {v1.ReadWriteOnce, v1.ReadOnlyMany}}
	failures, accepted, fits := 0, 0, 0
	fail := func(format string, args ...any) {
		failures++
		if failures <= 10 {
			t.Errorf(format, args...)
		}
	}
	for i := range *conformanceCases {
		params := randomParams(r)

		// The class: accepted by both, or refused by both.
		pluginRead, pluginErr := pluginOutcome(params)
		zone := "cn-a"
		if c, err := readDriverClass(params); err == nil {
			if z := slices.DeleteFunc(slices.Clone(c.zones), func(z string) bool { return z == "" }); len(z) > 0 {
				zone = z[0]
			}
		}
		simRead, _, simErr := simOutcome(params, zone)
		if (pluginErr == nil) != (simErr == nil) {
			fail("case %d, class %q: plugin error %v, simulated driver error %v", i, params, pluginErr, simErr)
			continue
		}
		if simErr != nil {
			continue
		}
		accepted++
		if diff := cmp.Diff(simRead, pluginRead, outcomeCmp); diff != "" {
			fail("case %d, class %q: reading (-simcloud +plugin):\n%s", i, params, diff)
		}

		// Nodes and claims: the plugin's verdict against the driver's disk.
		for range 4 {
			labels, nodeZone := randomNode(r)
			pvc := auditClaim("data", pick(r, modes), pick(r, []v1.PersistentVolumeMode{v1.PersistentVolumeBlock, v1.PersistentVolumeFilesystem}))
			pvc.Spec.Resources.Requests[v1.ResourceStorage] = *resource.NewQuantity(pick(r, claimGiB)<<30, resource.BinarySI)
			req := pvc.Spec.Resources.Requests[v1.ResourceStorage]

			var zones []string
			if nodeZone != "" {
				zones = []string{nodeZone}
			}
			d, _, err := createVolume(volumeRequest{
				params: params, bytes: req.Value(), access: pvc.Spec.AccessModes,
				block: *pvc.Spec.VolumeMode == v1.PersistentVolumeBlock, nodeZones: zones, nodeLabels: labels, region: "cn-r",
			})
			driverFits := err == nil && (d.Zone == nodeZone && nodeZone != "" || d.Zone == "" && d.Region == "cn-r")

			verdict := "refused: "
			c, ours, cerr := resolverOf(classOf(params), &pvc).Classify(&pvc)
			switch {
			case cerr != nil || !ours:
				verdict += fmt.Sprint(ours, cerr)
			default:
				rule, rerr := disk.ClaimRule(&c, disk.DefaultZoneLabelKeys)
				if rerr != nil {
					verdict += rerr.Error()
					break
				}
				f := classifier.Describe(labels)
				verdict = rule.Check(&f, disk.NodeView{Name: "n", Zone: f.Zone, Region: f.Region, Labels: labels}).String()
			}
			pluginFits := verdict == disk.Fits.String()
			if pluginFits {
				fits++
			}
			if pluginFits != driverFits {
				fail("case %d, class %q, node %v, claim %v %s %dGiB: plugin says %q; the simulated driver creates %+v, error %v",
					i, params, labels, pvc.Spec.AccessModes, *pvc.Spec.VolumeMode, req.Value()>>30, verdict, d, err)
			}
		}
	}
	if failures > 10 {
		t.Errorf("... %d failures in all", failures)
	}
	// The grammar must reach both sides of each check.
	if accepted < *conformanceCases/4 || fits == 0 || fits == accepted*4 {
		t.Errorf("grammar too narrow: %d of %d classes accepted, %d of %d node checks fit", accepted, *conformanceCases, fits, accepted*4)
	}
	t.Logf("seed %d: %d classes, %d accepted, %d of %d node checks fit", seed, *conformanceCases, accepted, fits, accepted*4)
}
