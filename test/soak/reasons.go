package soak

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	vt "github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// ReasonReport is what CheckReasons found in the pending pods' messages.
type ReasonReport struct {
	// Pending is the number of pending pods (no node, not terminating).
	Pending int
	// True counts the VolumeTopology reasons found true, by kind.
	True map[string]int
	// False lists the VolumeTopology reasons that are not true of the cluster.
	False []string
	// Stale lists node counts that no longer match the cluster ("0/N nodes",
	// "K node(s) ..."): nodes came or went since the pod was last tried,
	// and kube-scheduler does not retry a pod when a node goes. Reported,
	// not failures.
	Stale []string
	// Others counts the reasons of other plugins and of the framework, which
	// this checker does not verify, by text.
	Others map[string]int
	// Unexplained lists pending pods without an Unschedulable PodScheduled
	// condition.
	Unexplained []string
}

// reasonKind is one of the plugin's reason formats.
type reasonKind struct {
	name string
	re   *regexp.Regexp
}

// formatRE turns a reason format string into a regular expression: %s
// matches any text, %d a number.
func formatRE(format string) *regexp.Regexp {
	q := regexp.QuoteMeta(format)
	q = strings.ReplaceAll(q, "%s", `(.+?)`)
	q = strings.ReplaceAll(q, "%d", `(\d+)`)
	return regexp.MustCompile("^" + q + "$")
}

// The plugin's reasons, from the exported formats.
var reasonKinds = []reasonKind{
	{"DiskZone", formatRE(vt.ErrReasonDiskZone)},
	{"DiskAffinity", formatRE(vt.ErrReasonDiskAffinity)},
	{"SelectedNodeZone", formatRE(vt.ErrReasonSelectedNodeZone)},
	{"AllowedTopologies", formatRE(vt.ErrReasonAllowedTopologies)},
	{"ClassZone", formatRE(vt.ErrReasonClassZone)},
	{"DiskType", formatRE(vt.ErrReasonDiskType)},
	{"DefaultDiskType", formatRE(vt.ErrReasonDefaultDiskType)},
	{"ZoneConflict", formatRE(vt.ErrReasonZoneConflict)},
	{"NoZone", formatRE(vt.ErrReasonNoZone)},
	{"NotNVMe", formatRE(vt.ErrReasonNotNVMe)},
	{"Holder", formatRE(vt.ErrReasonHolder)},
	{"AttachLimit", formatRE(vt.ErrReasonAttachLimit)},
}

var (
	fitErrorRE = regexp.MustCompile(`(?s)^0/(\d+) nodes are available: (.*)$`)
	countRE    = regexp.MustCompile(`(?s)^(\d+) (.*)$`)
	// missingRE is disk.MissingObjectError, which PreFilter returns.
	missingRE = regexp.MustCompile(`^(persistentvolumeclaim|persistentvolume|storageclass) "([^"]+)" not found`)
)

// Reason is one entry of a FitError message: Count nodes failed for Text
// (Count is -1 for a PreFilter message, which names no nodes).
type Reason struct {
	Count int
	Text  string
}

// ParseFitError splits kube-scheduler's "0/N nodes are available: ..."
// message into its node count and reasons; ok is false for other messages.
// The PostFilter part (preemption) is dropped.
func ParseFitError(msg string) (nodes int, reasons []Reason, ok bool) {
	m := fitErrorRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, nil, false
	}
	nodes, _ = strconv.Atoi(m[1])
	// "<reasons>. <PostFilter messages>": the reasons end at the first
	// ". " (no reason contains one); PostFilter plugins (DynamicResources'
	// "no new claims to deallocate", DefaultPreemption's "preemption: ...")
	// follow.
	body := m[2]
	if i := strings.Index(body, ". "); i >= 0 {
		body = body[:i]
	}
	body = strings.TrimSuffix(strings.TrimSpace(body), ".")
	// Reasons are joined with ", " and each starts with its count; a piece
	// that does not start with a count continues the previous reason.
	var parts []string
	for _, p := range strings.Split(body, ", ") {
		if len(parts) > 0 && !countRE.MatchString(p) {
			parts[len(parts)-1] += ", " + p
			continue
		}
		parts = append(parts, p)
	}
	if len(parts) > 0 && !countRE.MatchString(parts[0]) {
		// A PreFilter rejection: one message for every node.
		return nodes, []Reason{{Count: -1, Text: body}}, true
	}
	for _, p := range parts {
		c := countRE.FindStringSubmatch(p)
		n, _ := strconv.Atoi(c[1])
		reasons = append(reasons, Reason{Count: n, Text: c[2]})
	}
	return nodes, reasons, true
}

// world is what the checker knows of one snapshot, read with the same domain
// facts (package disk) as the plugin and the audit.
type world struct {
	args     *config.VolumeTopologyArgs
	resolver *disk.Resolver
	nodes    map[string]*v1.Node
	facts    map[string]disk.NodeFacts
	// attached[disk][zone] are the nodes a shared disk is attached to: live
	// pods using it and VolumeAttachments of its volumes.
	attached map[string]map[string]map[string]bool
	// holders[disk] are the nodes with a live pod using a shared disk.
	holders map[string]map[string]bool
	// volumes by disk handle.
	volumes map[string][]*v1.PersistentVolume
}

func newWorld(s *audit.State, args *config.VolumeTopologyArgs) *world {
	pvcIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	pvIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{disk.VolumeHandleIndex: disk.IndexByVolumeHandle})
	scIdx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	w := &world{
		args:     args,
		nodes:    map[string]*v1.Node{},
		facts:    map[string]disk.NodeFacts{},
		attached: map[string]map[string]map[string]bool{},
		holders:  map[string]map[string]bool{},
		volumes:  map[string][]*v1.PersistentVolume{},
	}
	for i := range s.Claims {
		_ = pvcIdx.Add(&s.Claims[i])
	}
	for i := range s.Volumes {
		pv := &s.Volumes[i]
		_ = pvIdx.Add(pv)
		if pv.Spec.CSI != nil {
			w.volumes[pv.Spec.CSI.VolumeHandle] = append(w.volumes[pv.Spec.CSI.VolumeHandle], pv)
		}
	}
	for i := range s.Classes {
		_ = scIdx.Add(&s.Classes[i])
	}
	w.resolver = &disk.Resolver{
		PVCs:    corelisters.NewPersistentVolumeClaimLister(pvcIdx),
		PVs:     corelisters.NewPersistentVolumeLister(pvIdx),
		Classes: storagelisters.NewStorageClassLister(scIdx),
		Volumes: disk.IndexedVolumes{Indexer: pvIdx},
		Drivers: args.Drivers,
	}
	classifier := disk.NewNodeClassifier(args.ZoneLabelKeys, args.NVMeInstanceFamilies, args.NVMeLabelKey)
	for i := range s.Nodes {
		n := &s.Nodes[i]
		w.nodes[n.Name] = n
		w.facts[n.Name] = classifier.Describe(n.Labels)
	}
	for i := range s.Pods {
		pod := &s.Pods[i]
		if pod.Spec.NodeName == "" || pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
			continue
		}
		claims, err := w.resolver.PodClaims(pod)
		if err != nil {
			continue
		}
		for _, c := range claims {
			if c.Bound() && c.MultiAttach {
				w.attach(c.DiskID, pod.Spec.NodeName)
				if w.holders[c.DiskID] == nil {
					w.holders[c.DiskID] = map[string]bool{}
				}
				w.holders[c.DiskID][pod.Spec.NodeName] = true
			}
		}
	}
	if args.CountVolumeAttachments {
		for i := range s.VolumeAttachments {
			va := &s.VolumeAttachments[i]
			if va.Spec.Source.PersistentVolumeName == nil {
				continue
			}
			pv, err := w.resolver.PVs.Get(*va.Spec.Source.PersistentVolumeName)
			if err != nil || pv.Spec.CSI == nil || !slices.Contains(args.Drivers, pv.Spec.CSI.Driver) {
				continue
			}
			if shared, err := w.resolver.SharedDisk(pv); err == nil && shared {
				w.attach(pv.Spec.CSI.VolumeHandle, va.Spec.NodeName)
			}
		}
	}
	return w
}

func (w *world) attach(diskID, node string) {
	z := w.facts[node].Zone
	if w.attached[diskID] == nil {
		w.attached[diskID] = map[string]map[string]bool{}
	}
	if w.attached[diskID][z] == nil {
		w.attached[diskID][z] = map[string]bool{}
	}
	w.attached[diskID][z][node] = true
}

// countNodes counts the nodes for which ok holds.
func (w *world) countNodes(ok func(*v1.Node, disk.NodeFacts) bool) int {
	n := 0
	for name, node := range w.nodes {
		if ok(node, w.facts[name]) {
			n++
		}
	}
	return n
}

// IsPending tells whether a pod waits for a node.
func IsPending(p *v1.Pod) bool {
	return p.Spec.NodeName == "" && p.DeletionTimestamp == nil && p.Status.Phase == v1.PodPending
}

// CheckReasons checks every pending pod's PodScheduled message against the
// snapshot.
func CheckReasons(s *audit.State, args *config.VolumeTopologyArgs) *ReasonReport {
	w := newWorld(s, args)
	r := &ReasonReport{True: map[string]int{}, Others: map[string]int{}}
	for i := range s.Pods {
		pod := &s.Pods[i]
		if !IsPending(pod) {
			continue
		}
		r.Pending++
		key := pod.Namespace + "/" + pod.Name
		var cond *v1.PodCondition
		for j := range pod.Status.Conditions {
			if pod.Status.Conditions[j].Type == v1.PodScheduled {
				cond = &pod.Status.Conditions[j]
			}
		}
		if cond == nil || cond.Status != v1.ConditionFalse {
			r.Unexplained = append(r.Unexplained, key+": no PodScheduled=False condition")
			continue
		}
		if cond.Reason != v1.PodReasonUnschedulable {
			r.Others[cond.Reason+": "+truncate(cond.Message, 160)]++
			continue
		}
		total, reasons, ok := ParseFitError(cond.Message)
		if !ok {
			r.Others["unparsed: "+truncate(cond.Message, 160)]++
			continue
		}
		if total != len(w.nodes) {
			r.Stale = append(r.Stale, fmt.Sprintf("%s: message counts %d nodes, the cluster has %d", key, total, len(w.nodes)))
		}
		claims, claimErr := w.resolver.PodClaims(pod)
		for _, reason := range reasons {
			kind, args := matchReason(reason.Text)
			if kind == "" {
				if reason.Count < 0 {
					if ok, why := w.checkPreFilter(pod, reason.Text, claimErr); ok {
						r.True["MissingObject"]++
					} else if why != "" {
						r.False = append(r.False, fmt.Sprintf("%s: %q: %s", key, reason.Text, why))
					} else {
						r.Others[reason.Text]++
					}
					continue
				}
				r.Others[reason.Text]++
				continue
			}
			if claimErr != nil {
				r.False = append(r.False, fmt.Sprintf("%s: %q: the pod's claims do not resolve: %v", key, reason.Text, claimErr))
				continue
			}
			why, stale := w.check(kind, args, reason.Count, claims)
			switch {
			case why != "":
				r.False = append(r.False, fmt.Sprintf("%s: %d %q: %s", key, reason.Count, reason.Text, why))
			default:
				r.True[kind]++
				if stale != "" {
					r.Stale = append(r.Stale, fmt.Sprintf("%s: %d %q: %s", key, reason.Count, reason.Text, stale))
				}
			}
		}
	}
	sort.Strings(r.False)
	sort.Strings(r.Stale)
	sort.Strings(r.Unexplained)
	return r
}

func matchReason(text string) (string, []string) {
	for _, k := range reasonKinds {
		if m := k.re.FindStringSubmatch(text); m != nil {
			return k.name, m[1:]
		}
	}
	return "", nil
}

// checkPreFilter checks a PreFilter message the plugin writes (a missing
// object); ok and why are both empty for messages of other plugins.
func (w *world) checkPreFilter(pod *v1.Pod, text string, claimErr error) (ok bool, why string) {
	m := missingRE.FindStringSubmatch(text)
	if m == nil {
		return false, ""
	}
	var err error
	switch m[1] {
	case "persistentvolumeclaim":
		ns, name, _ := strings.Cut(m[2], "/")
		_, err = w.resolver.PVCs.PersistentVolumeClaims(ns).Get(name)
	case "persistentvolume":
		_, err = w.resolver.PVs.Get(m[2])
	case "storageclass":
		_, err = w.resolver.Classes.Get(m[2])
	}
	if apierrors.IsNotFound(err) {
		return true, ""
	}
	return false, fmt.Sprintf("%s %s exists", m[1], m[2])
}

// check verifies one plugin reason reported for count nodes. why says what is
// false; stale says that only the node count no longer matches.
func (w *world) check(kind string, args []string, count int, claims []disk.Claim) (why, stale string) {
	// The disk a reason names must be one of the pod's.
	claimOfDisk := func(name string) *disk.Claim {
		for i := range claims {
			if claims[i].DiskName() == name {
				return &claims[i]
			}
		}
		return nil
	}
	unboundOfClass := func(class string) *disk.Claim {
		for i := range claims {
			if !claims[i].Bound() && claims[i].Class != nil && claims[i].Class.Name == class {
				return &claims[i]
			}
		}
		return nil
	}
	atMost := func(have int, what string) string {
		if count > have {
			return fmt.Sprintf("%d nodes are %s now", have, what)
		}
		return ""
	}
	switch kind {
	case "AttachLimit":
		diskName, zone, n, limit := args[0], args[2], atoi(args[1]), atoi(args[3])
		c := claimOfDisk(diskName)
		if c == nil || !c.MultiAttach || !c.Bound() {
			return "the pod has no bound shared disk " + diskName, ""
		}
		if limit != int(w.args.MaxNodesPerZone) {
			return fmt.Sprintf("limit %d, the configured limit is %d", limit, w.args.MaxNodesPerZone), ""
		}
		if zone == "<none>" {
			zone = ""
		}
		have := len(w.attached[diskName][zone])
		if have != n {
			return fmt.Sprintf("disk %s is attached to %d nodes in zone %s (%v)", diskName, have, args[2], slices.Sorted(maps.Keys(w.attached[diskName][zone]))), ""
		}
		if n < limit {
			return fmt.Sprintf("%d attachments are under the limit %d", n, limit), ""
		}
		// Nodes of the zone that could take the disk but for the limit.
		return "", atMost(w.countNodes(func(node *v1.Node, f disk.NodeFacts) bool {
			return f.Zone == zone && f.NVMe && !w.attached[diskName][zone][node.Name]
		}), "NVMe-capable in zone "+args[2]+" without the disk")
	case "Holder":
		diskName := args[0]
		c := claimOfDisk(diskName)
		if c == nil || !c.MultiAttach {
			return "the pod has no shared disk " + diskName, ""
		}
		holders := len(w.holders[diskName])
		if holders == 0 {
			return "no node runs a pod using disk " + diskName, ""
		}
		return "", atMost(holders, "holding disk "+diskName)
	case "NotNVMe":
		diskName := args[0]
		c := claimOfDisk(diskName)
		if c == nil || !c.MultiAttach {
			return "the pod has no shared disk " + diskName, ""
		}
		have := w.countNodes(func(_ *v1.Node, f disk.NodeFacts) bool { return !f.NVMe })
		if have == 0 {
			return "every node supports NVMe multi-attach", ""
		}
		return "", atMost(have, "not NVMe-capable")
	case "DiskZone":
		zones, diskName := strings.Split(args[0], ","), args[1]
		c := claimOfDisk(diskName)
		if c == nil || !c.Bound() {
			return "the pod has no bound disk " + diskName, ""
		}
		t, err := disk.PVTopology(c.PV, w.args.ZoneLabelKeys)
		if err != nil {
			return fmt.Sprintf("the topology of persistentvolume %s does not read: %v", c.PV.Name, err), ""
		}
		if have, ok := t.ZoneSet(); !ok || !sameSet(have, zones) {
			return fmt.Sprintf("persistentvolume %s is in zones %v", c.PV.Name, have), ""
		}
		outside := w.countNodes(func(_ *v1.Node, f disk.NodeFacts) bool { return !slices.Contains(zones, f.Zone) })
		if outside == 0 {
			return "every node is inside zones " + args[0], ""
		}
		return "", atMost(outside, "outside zones "+args[0])
	case "DiskAffinity":
		pvName, diskName := args[0], args[1]
		c := claimOfDisk(diskName)
		if c == nil || !c.Bound() || c.PV.Name != pvName {
			return fmt.Sprintf("the pod has no claim bound to persistentvolume %s of disk %s", pvName, diskName), ""
		}
		return "", ""
	case "SelectedNodeZone":
		zone, nodeName, claimKey := args[0], args[1], args[2]
		var c *disk.Claim
		for i := range claims {
			if claims[i].Key == claimKey {
				c = &claims[i]
			}
		}
		switch {
		case c == nil:
			return "the pod has no claim " + claimKey, ""
		case c.Bound():
			return "claim " + claimKey + " is bound", ""
		case c.SelectedNode != nodeName:
			return fmt.Sprintf("claim %s has selected node %q", claimKey, c.SelectedNode), ""
		case w.nodes[nodeName] == nil:
			return "node " + nodeName + " does not exist", ""
		case w.facts[nodeName].Zone != zone:
			return fmt.Sprintf("node %s is in zone %s", nodeName, w.facts[nodeName].Zone), ""
		}
		return "", atMost(w.countNodes(func(_ *v1.Node, f disk.NodeFacts) bool { return f.Zone != zone }), "outside zone "+zone)
	case "AllowedTopologies":
		c := unboundOfClass(args[0])
		if c == nil || len(c.Class.AllowedTopologies) == 0 {
			return "the pod has no unbound claim of storageclass " + args[0] + " with allowedTopologies", ""
		}
		return "", ""
	case "ClassZone":
		zones, class := strings.Split(args[0], ","), args[1]
		c := unboundOfClass(class)
		if c == nil {
			return "the pod has no unbound claim of storageclass " + class, ""
		}
		if !slices.Equal(c.Params.Zones, zones) {
			return fmt.Sprintf("storageclass %s has zoneId %v", class, c.Params.Zones), ""
		}
		outside := w.countNodes(func(_ *v1.Node, f disk.NodeFacts) bool { return !slices.Contains(zones, f.Zone) })
		if outside == 0 {
			return "every node is inside zoneId " + args[0], ""
		}
		return "", atMost(outside, "outside zoneId "+args[0])
	case "DiskType", "DefaultDiskType":
		types, class := strings.Split(args[0], ","), args[1]
		c := unboundOfClass(class)
		if c == nil {
			return "the pod has no unbound claim of storageclass " + class, ""
		}
		rule, err := disk.ClaimRule(c, w.args.ZoneLabelKeys)
		if err != nil {
			return fmt.Sprintf("claim %s has no disk type for its size: %v", c.Key, err), ""
		}
		if !slices.Equal(rule.Types, types) {
			return fmt.Sprintf("storageclass %s tries types %v for claim %s", class, rule.Types, c.Key), ""
		}
		if c.Params.DefaultTypes != (kind == "DefaultDiskType") {
			return fmt.Sprintf("storageclass %s names its types: %v", class, !c.Params.DefaultTypes), ""
		}
		lacking := w.countNodes(func(_ *v1.Node, f disk.NodeFacts) bool {
			_, _, ok := rule.Category(&f)
			return !ok
		})
		if lacking == 0 {
			return "no node that describes its disk types lacks all of " + args[0], ""
		}
		return "", atMost(lacking, "without disk types "+args[0])
	case "NoZone":
		class := args[0]
		c := unboundOfClass(class)
		if c == nil {
			return "the pod has no unbound claim of storageclass " + class, ""
		}
		rule, err := disk.ClaimRule(c, w.args.ZoneLabelKeys)
		if err != nil {
			return fmt.Sprintf("claim %s has no disk type for its size: %v", c.Key, err), ""
		}
		have := w.countNodes(func(n *v1.Node, f disk.NodeFacts) bool {
			return rule.Check(&f, disk.NodeView{Name: n.Name, Zone: f.Zone, Region: f.Region, Labels: n.Labels}) == disk.NoZone
		})
		if have == 0 {
			return "no node without a zone label would get a zonal disk of storageclass " + class, ""
		}
		return "", atMost(have, "without a zone label")
	case "ZoneConflict":
		have := w.countNodes(func(_ *v1.Node, f disk.NodeFacts) bool { return f.ZoneConflict != "" })
		if have == 0 {
			return "no node has conflicting zone labels", ""
		}
		return "", atMost(have, "with conflicting zone labels")
	}
	return "unknown reason kind " + kind, ""
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
