package simcloud

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// This file is the simulated driver's own reading of a StorageClass's
// parameters and of CreateVolume, written from the driver's source
// (kubernetes-sigs/alibaba-cloud-csi-driver, pkg/disk: getDiskVolumeOptions,
// validateDiskType, getZone, validateDiskPerformanceLevel,
// validateCapabilities, generateCreateAttempts and createDisk). It does not
// use package disk's parser on purpose: the plugin reads classes with that
// parser, and the conformance tests run both readings, so the plugin reading
// a class differently from the driver fails a test.

// driverCategory is what the driver knows of a disk category (its
// AllCategories): the smallest disk, whether it is regional, and the ESSD
// performance levels with their smallest disks.
type driverCategory struct {
	minGiB   int64
	regional bool
	levels   map[string]int64
}

var driverCategories = map[string]driverCategory{
	"cloud":            {},
	"cloud_efficiency": {minGiB: 20},
	"cloud_ssd":        {minGiB: 20},
	"cloud_essd_xc0":   {minGiB: 40},
	"cloud_essd_xc1":   {minGiB: 40},
	"cloud_essd": {minGiB: 20, levels: map[string]int64{
		"PL0": 1, "PL1": 20, "PL2": 461, "PL3": 1261,
	}},
	"cloud_auto":                      {minGiB: 1},
	"cloud_essd_entry":                {minGiB: 10},
	"elastic_ephemeral_disk_standard": {minGiB: 64},
	"elastic_ephemeral_disk_premium":  {minGiB: 64},
	"cloud_regional_disk_auto":        {minGiB: 10, regional: true},
	"cloud_pperf":                     {},
	"cloud_sperf":                     {},
}

// driverMinimumGiB is what volumeSizeAutoAvailable rounds a request up to.
const driverMinimumGiB = 20

// driverClass is a StorageClass's parameters as the driver reads them.
type driverClass struct {
	// types are tried in order; the driver tries a repeated one again.
	types []string
	// zoneParam is the zoneId (or zoneid) value; zoneSet tells whether
	// either key is present.
	zoneParam string
	zoneSet   bool
	// zones is the set the driver makes of zoneParam, in written order,
	// entries verbatim (an empty one included).
	zones       []string
	multiAttach bool
	levels      []string
	sizeAuto    bool
}

// driverParameters is how the driver reads each parameter: the keys it
// looks up (the first present one is read) and what it makes of the value.
var driverParameters = []struct {
	keys []string
	read func(c *driverClass, v string, present bool) error
}{
	// validateDiskType: absent or exactly "available" is the default
	// list; otherwise every comma-separated entry, untrimmed and
	// case-sensitive, must be a category.
	{keys: []string{"type"}, read: func(c *driverClass, v string, present bool) error {
		if !present || v == "available" {
			c.types = []string{"cloud_ssd", "cloud_efficiency"}
			return nil
		}
		for _, t := range strings.Split(v, ",") {
			if _, ok := driverCategories[t]; !ok {
				return fmt.Errorf("illegal required parameter type: %s", t)
			}
			c.types = append(c.types, t)
		}
		return nil
	}},
	// getZone: zoneId, or zoneid when zoneId is absent, split on commas
	// into a set; it is used only when a type is zonal (createVolume).
	{keys: []string{"zoneId", "zoneid"}, read: func(c *driverClass, v string, present bool) error {
		if present {
			c.zoneParam, c.zoneSet = v, true
			for _, z := range strings.Split(v, ",") {
				if !slices.Contains(c.zones, z) {
					c.zones = append(c.zones, z)
				}
			}
		}
		return nil
	}},
	// validateDiskPerformanceLevel: empty is none; every entry must be an
	// ESSD level, whatever the types.
	{keys: []string{"performanceLevel"}, read: func(c *driverClass, v string, _ bool) error {
		if v == "" {
			return nil
		}
		for _, l := range strings.Split(v, ",") {
			if _, ok := driverCategories["cloud_essd"].levels[l]; !ok {
				return fmt.Errorf("illegal performance level type: %s", l)
			}
			c.levels = append(c.levels, l)
		}
		return nil
	}},
	// getDiskVolumeOptions: lower-cased, not trimmed; anything but true or
	// enabled is off, never an error.
	{keys: []string{"multiAttach"}, read: func(c *driverClass, v string, _ bool) error {
		switch strings.ToLower(v) {
		case "true", "enabled":
			c.multiAttach = true
		}
		return nil
	}},
	// getDiskVolumeOptions: lower-cased yes, true or 1 turn it on.
	{keys: []string{"volumeSizeAutoAvailable"}, read: func(c *driverClass, v string, _ bool) error {
		switch strings.ToLower(v) {
		case "yes", "true", "1":
			c.sizeAuto = true
		}
		return nil
	}},
}

// readDriverClass reads a class's parameters as the driver does; an error is
// the driver's, for a value it refuses whatever the node.
func readDriverClass(params map[string]string) (driverClass, error) {
	var c driverClass
	for _, p := range driverParameters {
		v, present := "", false
		for _, k := range p.keys {
			if v, present = params[k]; present {
				break
			}
		}
		if err := p.read(&c, v, present); err != nil {
			return driverClass{}, err
		}
	}
	return c, nil
}

// hasZonal tells whether a type is zonal: only then does the driver read the
// zone (getDiskVolumeOptions calls getZone).
func (c *driverClass) hasZonal() bool {
	return slices.ContainsFunc(c.types, func(t string) bool { return !driverCategories[t].regional })
}

// volumeRequest is what CreateVolume gets: the class's parameters, the
// claim's size, access modes and volume mode, and the selected node's zones
// (its accessibility requirements) and labels (nil without a selected node).
type volumeRequest struct {
	params     map[string]string
	bytes      int64
	access     []v1.PersistentVolumeAccessMode
	block      bool
	nodeZones  []string
	nodeLabels map[string]string
	region     string
}

// requestFor is the request CreateVolume gets for a claim of a class, before
// the node's topology is added.
func requestFor(pvc *v1.PersistentVolumeClaim, class *storagev1.StorageClass) volumeRequest {
	req := pvc.Spec.Resources.Requests[v1.ResourceStorage]
	return volumeRequest{
		params: class.Parameters,
		bytes:  req.Value(),
		access: pvc.Spec.AccessModes,
		block:  pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode == v1.PersistentVolumeBlock,
	}
}

// errNoZone: no zone from the class or the node; the driver falls back to
// its own zone, unrelated to the node, which the simulation cannot know.
var errNoZone = errors.New("no zone info: the class has no zoneId and the node no zone topology")

// createVolume decides, as the driver's CreateVolume does, the disk it
// creates for a request: its category, zone (none for a regional disk),
// region, size and multi-attach. conflict is the ConflictingZone message
// when the zone comes from zoneId against the node's topology. The error is
// the driver's, for a request it refuses.
func createVolume(r volumeRequest) (d Disk, conflict string, err error) {
	c, err := readDriverClass(r.params)
	if err != nil {
		return Disk{}, "", err
	}
	// getZone, only for a class with a zonal type.
	zone, zoneErr := "", error(nil)
	if c.hasZonal() {
		zone, conflict, zoneErr = c.zoneFor(r.nodeZones, r.nodeLabels != nil)
		if zoneErr == nil && zone == "" {
			return Disk{}, "", errors.New("empty zone ID is invalid")
		}
	}
	// validateCapabilities and the multiAttach check.
	multiRequired := false
	for _, m := range r.access {
		switch m {
		case v1.ReadOnlyMany:
			multiRequired = true
		case v1.ReadWriteMany:
			multiRequired = true
			if !r.block {
				return Disk{}, "", errors.New("multi-node writing is only supported for block volume; use ReadWriteOnce for a filesystem disk volume")
			}
		}
	}
	if multiRequired && !c.multiAttach {
		return Disk{}, "", errors.New("multiAttach is required for this access mode")
	}
	gib := (r.bytes + 1<<30 - 1) >> 30
	if gib < driverMinimumGiB && c.sizeAuto {
		gib = driverMinimumGiB
	}
	// createDisk: each category (cloud_essd once per level) in order,
	// skipping those the selected node does not offer (when it says) and
	// those whose smallest disk is larger than the request.
	var failed []string
	for _, t := range c.types {
		desc := driverCategories[t]
		mins := []int64{desc.minGiB}
		if len(desc.levels) > 0 && len(c.levels) > 0 {
			mins = nil
			for _, l := range c.levels {
				mins = append(mins, desc.levels[l])
			}
		}
		for _, min := range mins {
			if _, ok := r.nodeLabels[disk.LabelDiskTypePrefix+t]; !ok && offersTypes(r.nodeLabels) {
				failed = append(failed, t+": not supported by the node")
				continue
			}
			if min > 0 && gib < min {
				failed = append(failed, fmt.Sprintf("%s: requested size %dGiB is less than minimum %dGiB", t, gib, min))
				continue
			}
			d := Disk{Category: t, Region: r.region, MultiAttach: c.multiAttach, SizeGiB: max(gib, 1)}
			if desc.regional {
				if r.region == "" {
					return Disk{}, "", errors.New("regional disk needs the node's region (topology.kubernetes.io/region)")
				}
				return d, conflict, nil
			}
			if zoneErr != nil {
				return Disk{}, "", zoneErr
			}
			d.Zone = zone
			return d, conflict, nil
		}
	}
	return Disk{}, "", fmt.Errorf("all attempts failed: %s", strings.Join(failed, "; "))
}

// zoneFor is the driver's getZone: the first of the node's zones in the
// class's set (any of them when the class sets none); otherwise a zone of the
// set, with a ConflictingZone message when a node was selected. The driver
// takes a random entry of the set; the simulation takes the first non-empty
// one, one of the driver's outcomes (an empty entry fails, and the
// provisioner's retries end up with a non-empty one).
func (c *driverClass) zoneFor(nodeZones []string, selected bool) (zone, conflict string, err error) {
	if !c.zoneSet {
		if len(nodeZones) == 0 {
			return "", "", errNoZone
		}
		return nodeZones[0], "", nil
	}
	for _, z := range nodeZones {
		if slices.Contains(c.zones, z) {
			return z, "", nil
		}
	}
	if selected {
		conflict = "no zone info found in accessibility requirements"
		if len(nodeZones) > 0 {
			conflict = fmt.Sprintf("conflicting zone, parameters specified: %s, accessibility requires: %v", c.zoneParam, nodeZones)
		}
	}
	for _, z := range c.zones {
		if z != "" {
			return z, conflict, nil
		}
	}
	return "", conflict, nil
}

// offersTypes tells whether a node's labels say which disk types it offers
// (the driver's getSupportedDiskTypes reads the label keys, whatever their
// values); a node that says none is not checked.
func offersTypes(labels map[string]string) bool {
	for k := range labels {
		if strings.HasPrefix(k, disk.LabelDiskTypePrefix) {
			return true
		}
	}
	return false
}
