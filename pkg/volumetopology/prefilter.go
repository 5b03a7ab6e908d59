package volumetopology

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// PreFilter resolves the pod's managed claims once. A pod without one is not
// ours and gets Skip. For shared disks it counts, per zone, the nodes each
// disk is attached to (pods, assumed pods and VolumeAttachments) and narrows
// the nodes to evaluate to the NVMe-capable ones in the disks' zones; for
// other disks to the nodes of the zones they pin.
func (pl *VolumeTopology) PreFilter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	if !hasClaimVolume(pod) {
		return nil, skip
	}
	claims, err := pl.resolver.PodClaims(pod)
	if err != nil {
		return nil, statusFor(err)
	}
	if len(claims) == 0 {
		return nil, skip
	}
	logger := klog.FromContext(ctx)

	s := &stateData{claims: make([]claimRule, 0, len(claims))}
	for i := range claims {
		rule, err := pl.ruleFor(&claims[i], pl.snapshotZone)
		if err != nil {
			return nil, statusFor(err)
		}
		s.claims = append(s.claims, rule)
	}
	var result *fwk.PreFilterResult
	if pl.hasShared(claims) {
		var err error
		if result, err = pl.preFilterShared(s, pod, claims, nodes); err != nil {
			return nil, fwk.AsStatus(err)
		}
	} else {
		result = pl.preFilterZonal(s, len(nodes))
	}
	if pl.args.EnforceReadWriteOnce {
		if s.inUse, err = pl.disksInUse(pod, claims, nodes); err != nil {
			return nil, fwk.AsStatus(err)
		}
		result = narrowToInUse(result, s.inUse, len(nodes))
	}
	if s.attached, err = pl.attachedNodes(claims); err != nil {
		return nil, fwk.AsStatus(err)
	}
	if result != nil && skipsPostFilter(cs) {
		pl.warnGroupMember(pod, s, result.NodeNames, nodes)
	}
	result = resultForCycle(cs, result)
	if result != nil {
		s.candidates = result.NodeNames
	}
	cs.Write(preFilterStateKey, s)
	if loggerV := logger.V(4); loggerV.Enabled() {
		candidates := -1
		if result != nil {
			candidates = len(result.NodeNames)
		}
		loggerV.Info("Resolved disk claims", "pod", klog.KObj(pod), "claims", len(claims), "sharedDisks", len(s.disks), "disksInUse", len(s.inUse), "attachedNodes", len(s.attached), "candidateNodes", candidates)
	}
	return result, nil
}

// narrowToInUse narrows the nodes to evaluate to those where every disk in
// use is used: no other node can pass. Like preFilterShared it does not
// narrow to nothing, so that Filter then says why each node fails.
func narrowToInUse(result *fwk.PreFilterResult, inUse []diskInUse, nodes int) *fwk.PreFilterResult {
	if len(inUse) == 0 {
		return result
	}
	allowed := sets.New[string]()
	for n := range inUse[0].nodes {
		if result.AllNodes() || result.NodeNames.Has(n) {
			allowed.Insert(n)
		}
	}
	for _, d := range inUse[1:] {
		allowed = allowed.Intersection(sets.KeySet(d.nodes))
	}
	if allowed.Len() == 0 || allowed.Len() >= nodes {
		return result
	}
	return &fwk.PreFilterResult{NodeNames: allowed}
}

// skip is shared: the framework never modifies a Skip status, and the Skip
// path, taken by every pod without our claims, should not allocate.
var skip = fwk.NewStatus(fwk.Skip)

// PreFilterExtensions keeps attach counts right while the scheduler simulates
// adding nominated pods or evicting victims.
func (pl *VolumeTopology) PreFilterExtensions() fwk.PreFilterExtensions { return pl }

// AddPod counts the node as attached when the added pod is the first user of
// a shared disk there.
func (pl *VolumeTopology) AddPod(_ context.Context, cs fwk.CycleState, _ *v1.Pod, podInfoToAdd fwk.PodInfo, nodeInfo fwk.NodeInfo) *fwk.Status {
	return pl.updateAttachCounts(cs, podInfoToAdd.GetPod(), nodeInfo, +1)
}

// RemovePod stops counting the node as attached when the removed pod was the
// last user of a shared disk there and no VolumeAttachment remains.
func (pl *VolumeTopology) RemovePod(_ context.Context, cs fwk.CycleState, _ *v1.Pod, podInfoToRemove fwk.PodInfo, nodeInfo fwk.NodeInfo) *fwk.Status {
	return pl.updateAttachCounts(cs, podInfoToRemove.GetPod(), nodeInfo, -1)
}

// updateAttachCounts adds (delta +1) or removes (-1) a pod's uses of the
// shared disks on its node. The node is the pod's own (nodeInfo's for a
// nominated pod, which has none yet): DefaultPreemption removes and re-adds
// the members of a pod group on other nodes with a NodeInfo that does not
// reflect the change, so nodeInfo's claim counts cannot be trusted here.
// A node enters or leaves the disk's attached set when its users go from
// zero to some or back, unless a VolumeAttachment keeps it there anyway.
func (pl *VolumeTopology) updateAttachCounts(cs fwk.CycleState, p *v1.Pod, nodeInfo fwk.NodeInfo, delta int) *fwk.Status {
	s, err := getState(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	if len(s.disks) == 0 {
		return nil
	}
	name := p.Spec.NodeName
	if name == "" {
		if nodeInfo.Node() == nil {
			return nil
		}
		name = nodeInfo.Node().Name
	}
	for _, d := range s.disks {
		pl.addUses(d, name, delta*d.usedBy(p))
	}
	return nil
}

// addUses changes the disk's users on a node by n and keeps its per-zone
// attach counts in step.
func (pl *VolumeTopology) addUses(d *sharedDisk, node string, n int) {
	if n == 0 {
		return
	}
	before := d.users[node]
	after := max(before+n, 0)
	if d.users == nil {
		d.users = map[string]int{}
	}
	if after == 0 {
		delete(d.users, node)
	} else {
		d.users[node] = after
	}
	if d.hasVA(node) || (before > 0) == (after > 0) {
		return
	}
	zone, ok := pl.snapshotZone(node)
	if !ok {
		return
	}
	if after > 0 {
		d.zoneCount[zone]++
	} else {
		d.zoneCount[zone]--
	}
}

// countNominated counts pods nominated (by preemption) to the nodes, with at
// least the pod's priority, as users of the shared disks: the framework adds
// them only while it filters their own node, but the attach limit is per
// zone, so a preemptor's slot must be kept from every other node of the
// zone, or a lower-priority replica could take it.
func (pl *VolumeTopology) countNominated(s *stateData, pod *v1.Pod, nodes sets.Set[string]) {
	if pl.nominator == nil {
		return
	}
	priority := corev1helpers.PodPriority(pod)
	for name := range nodes {
		for _, pi := range pl.nominator(name) {
			np := pi.GetPod()
			if np.UID == pod.UID || corev1helpers.PodPriority(np) < priority {
				continue
			}
			for _, d := range s.disks {
				pl.addUses(d, name, d.usedBy(np))
			}
		}
	}
}

// hasClaimVolume is the allocation-free test for pods that cannot be ours.
func hasClaimVolume(pod *v1.Pod) bool {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].PersistentVolumeClaim != nil || pod.Spec.Volumes[i].Ephemeral != nil {
			return true
		}
	}
	return false
}

func (pl *VolumeTopology) hasShared(claims []disk.Claim) bool {
	return slices.ContainsFunc(claims, func(c disk.Claim) bool { return c.MultiAttach })
}

// statusFor turns a resolution error into a status: missing or unusable
// objects cannot be fixed by preemption; anything else is an internal error.
func statusFor(err error) *fwk.Status {
	var missing *disk.MissingObjectError
	var invalid *disk.InvalidObjectError
	if errors.As(err, &missing) || errors.As(err, &invalid) {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, err.Error())
	}
	return fwk.AsStatus(err)
}

// zoneOfNode returns the zone of a node by name, and whether the node exists.
type zoneOfNode func(name string) (string, bool)

// snapshotZone reads a node's zone from the scheduler's snapshot. Only the
// scheduling cycle may call it: the scheduler rewrites the snapshot between
// cycles, so other goroutines (event handlers, queueing hints) must not
// read it; they use the node index (nodeIndex.zoneOf).
func (pl *VolumeTopology) snapshotZone(name string) (string, bool) {
	ni, err := pl.handle.SnapshotSharedLister().NodeInfos().Get(name)
	if err != nil || ni.Node() == nil {
		return "", false
	}
	return pl.nodes.get(ni.Node()).Zone, true
}

// ruleFor compiles where one claim lets the pod go; zoneOf finds the zone of
// an unbound claim's selected node.
func (pl *VolumeTopology) ruleFor(c *disk.Claim, zoneOf zoneOfNode) (claimRule, error) {
	diskName := c.DiskName()
	if c.Bound() {
		t, err := disk.PVTopology(c.PV, pl.args.ZoneLabelKeys)
		if err != nil {
			return claimRule{}, &disk.InvalidObjectError{Kind: "persistentvolume", Name: c.PV.Name, Err: err}
		}
		r := claimRule{claim: c.Key, bound: true, topology: t}
		if zones, ok := t.ZoneSet(); ok {
			r.usesZone = true
			r.topologyMsg = fmt.Sprintf(ErrReasonDiskZone, strings.Join(zones, ","), diskName)
		} else {
			r.usesZone = t.Zones != nil
			r.topologyMsg = fmt.Sprintf(ErrReasonDiskAffinity, c.PV.Name, diskName)
		}
		return r, nil
	}

	sc := c.Class
	class, err := disk.ClaimRule(c, pl.args.ZoneLabelKeys)
	if err != nil {
		return claimRule{}, &disk.InvalidObjectError{Kind: "persistentvolumeclaim", Name: c.Key, Err: err}
	}
	r := claimRule{
		claim:      c.Key,
		class:      class,
		allowedMsg: fmt.Sprintf(ErrReasonAllowedTopologies, sc.Name),
		zoneIDMsg:  fmt.Sprintf(ErrReasonClassZone, strings.Join(class.ZoneIDs, ","), sc.Name),
		typeMsg:    fmt.Sprintf(typeReason(class.DefaultTypes), strings.Join(class.Types, ","), sc.Name),
		noZoneMsg:  fmt.Sprintf(ErrReasonNoZone, sc.Name),
		usesZone:   class.UsesZone(),
	}
	if c.SelectedNode != "" {
		if z, ok := zoneOf(c.SelectedNode); ok && z != "" {
			r.pinZone = z
			r.usesZone = true
			r.pinMsg = fmt.Sprintf(ErrReasonSelectedNodeZone, z, c.SelectedNode, c.Key)
		}
	}
	return r, nil
}

// typeReason is the reason format for a node that offers none of a class's
// types: the class's own, or the driver's default ones.
func typeReason(defaults bool) string {
	if defaults {
		return ErrReasonDefaultDiskType
	}
	return ErrReasonDiskType
}

// pinnedZones returns the zones every node that passes the claims' zone
// rules is in, and whether the claims pin any (a bound volume's zones, an
// unbound claim's selected node, allowedTopologies and zoneId). A node
// outside them fails Filter's zone rule of some claim.
func pinnedZones(claims []claimRule) (pins []string, pinned bool) {
	pin := func(zones []string) {
		if !pinned {
			pins, pinned = slices.Clone(zones), true
			return
		}
		pins = slices.DeleteFunc(pins, func(z string) bool { return !slices.Contains(zones, z) })
	}
	for i := range claims {
		r := &claims[i]
		if r.bound {
			if zones, ok := r.topology.ZoneSet(); ok {
				pin(zones)
			}
			continue
		}
		if r.pinZone != "" {
			pin([]string{r.pinZone})
		}
		if zones, ok := r.class.Allowed.ZoneSet(); ok {
			pin(zones)
		}
		// zoneId binds unless a type the node may get is regional.
		if r.class.ZoneIDs != nil && !r.class.MayBeRegional() {
			pin(r.class.ZoneIDs)
		}
	}
	return pins, pinned
}

// preFilterZonal narrows the nodes to evaluate for a pod without shared
// disks to the nodes of the zones its claims pin: kube-scheduler would
// otherwise filter nodes of other zones, with every plugin, until it found
// its percentage of feasible ones, and VolumeTopology's Filter (or
// VolumeBinding's) would reject each. Like preFilterShared it never narrows
// to nothing, and not before the node index has seen every node.
//
// Nor does it narrow when the scheduler would then score fewer nodes than
// without the list: it looks for a percentage of the nodes it is given, and
// that percentage of a zone can be fewer nodes than the zone's feasible
// nodes it finds when given every node (at 500 nodes in three zones, 100 of
// a zone's 167 against all 167). Scoring fewer nodes would make the pod's
// placement worse than the default scheduler's, and DiskLocality would find
// the node its disk is attached to less often.
func (pl *VolumeTopology) preFilterZonal(s *stateData, nodes int) *fwk.PreFilterResult {
	pins, pinned := pinnedZones(s.claims)
	if !pinned || !pl.nodesSynced() {
		return nil
	}
	n := pl.nodes.zoneSize(pins)
	if n == 0 || n >= nodes {
		return nil
	}
	if feasibleToFind(pl.percentage, n) < min(feasibleToFind(pl.percentage, nodes), n) {
		return nil
	}
	candidates, slots := pl.nodes.zoneCandidates(pins)
	if candidates.Len() == 0 {
		return nil
	}
	s.slots = slots
	return &fwk.PreFilterResult{NodeNames: candidates}
}

// Kubernetes' rule for how many feasible nodes the scheduler looks for
// before it stops filtering (Scheduler.numFeasibleNodesToFind, the same in
// every minor we build for).
const (
	minFeasibleNodesToFind           = 100
	minFeasibleNodesPercentageToFind = 5
)

// feasibleToFind returns how many feasible nodes kube-scheduler looks for
// among n nodes with the profile's percentageOfNodesToScore (nil or 0:
// adaptive, 50% less 1% per 125 nodes, at least 5%), and at least 100.
func feasibleToFind(percentage *int32, n int) int {
	if n < minFeasibleNodesToFind {
		return n
	}
	p := 0
	if percentage != nil {
		p = int(*percentage)
	}
	if p == 0 {
		p = max(50-n/125, minFeasibleNodesPercentageToFind)
	}
	return max(n*p/100, minFeasibleNodesToFind)
}

// preFilterShared builds the shared disks' attach counts in one pass over the
// snapshot, the candidate nodes, and the zone scores.
func (pl *VolumeTopology) preFilterShared(s *stateData, pod *v1.Pod, claims []disk.Claim, nodes []fwk.NodeInfo) (*fwk.PreFilterResult, error) {
	// Zones every shared-disk candidate must be in, when the claims pin them.
	pins, pinned := pinnedZones(s.claims)
	// Zones an unbound shared claim may be created in, for the score.
	var scoreZones []string
	scoreAny, scoring := false, false

	for i := range claims {
		c, r := &claims[i], &s.claims[i]
		if !c.MultiAttach {
			continue
		}
		if !c.Bound() && r.pinZone == "" {
			scoring = true
			if zones, ok := r.class.Allowed.ZoneSet(); ok {
				scoreZones = append(scoreZones, zones...)
			} else if r.class.ZoneIDs != nil && !r.class.FirstRegional() {
				scoreZones = append(scoreZones, r.class.ZoneIDs...)
			} else {
				scoreAny = true
			}
		}
		if slices.ContainsFunc(s.disks, func(d *sharedDisk) bool { return d.key == c.DiskKey() }) {
			continue
		}
		d, err := pl.sharedDiskFor(c)
		if err != nil {
			return nil, err
		}
		s.disks = append(s.disks, d)
	}

	// The nodes each disk is attached to, per zone: the nodes whose pods use
	// it (from the holder index) and those a VolumeAttachment names. Node
	// facts are read only for those few nodes.
	holdersByZone := map[string]int64{}
	for _, ni := range pl.attachedCandidates(s.disks, nodes) {
		refs := ni.GetPVCRefCounts()
		var node *v1.Node
		held := false
		for _, d := range s.disks {
			on := len(refs) > 0 && d.countOn(refs) > 0
			if !on && d.vaNodes == nil {
				continue
			}
			if node == nil {
				if node = ni.Node(); node == nil {
					break
				}
			}
			if on || d.hasVA(node.Name) {
				d.zoneCount[pl.nodes.get(node).Zone]++
			}
			if on {
				if d.users == nil {
					d.users = map[string]int{}
				}
				d.users[node.Name] = d.countOn(refs)
			}
			held = held || on
		}
		if held && scoring {
			if f := pl.nodes.get(node); f.NVMe {
				holdersByZone[f.Zone]++
			}
		}
	}

	// A VolumeAttachment on a node missing from the snapshot (lost or
	// deleted while the disk was still attached) holds an attach slot until
	// the disk detaches. A zonal disk can only be attached in its own zone,
	// so the slot counts there.
	for _, d := range s.disks {
		var zones []string
		zonesRead := false
		for name := range d.vaNodes {
			if ni, err := pl.handle.SnapshotSharedLister().NodeInfos().Get(name); err == nil && ni.Node() != nil {
				continue
			}
			if !zonesRead {
				zones, zonesRead = pl.zonesOf(d.pvs), true
			}
			if len(zones) == 0 {
				d.anyZone++
				continue
			}
			for _, z := range zones {
				d.zoneCount[z]++
			}
		}
	}

	if scoring {
		s.zoneScore = map[string]int64{}
		for z, n := range pl.nodes.nvmeCounts() {
			// Nodes without a zone label are no zone: they get no score
			// (and no zonal disk of an unbound claim, see Filter).
			if z == "" {
				continue
			}
			if scoreAny || slices.Contains(scoreZones, z) {
				// The node index and the snapshot are fed by different
				// handlers and can disagree for a moment (a node the
				// snapshot has and the index has not seen yet): more
				// holders than indexed nodes means no eligible node, never
				// a negative score, which would fail the whole cycle.
				s.zoneScore[z] = max(n-holdersByZone[z], 0)
			}
		}
	}

	// Only NVMe-capable nodes in the disks' zones can pass. An empty set would
	// hide why each node fails, so then Filter explains every node instead.
	// Until the index has seen every node it may miss some, so it narrows
	// nothing and Filter reads each node's labels.
	if !pl.nodesSynced() {
		// Nominated pods of shared disks can be on NVMe nodes only, but
		// until the index has seen every node it may miss some.
		all := sets.New[string]()
		for _, ni := range nodes {
			if n := ni.Node(); n != nil {
				all.Insert(n.Name)
			}
		}
		pl.countNominated(s, pod, all)
		return nil, nil
	}
	candidates, slots := pl.nodes.nvmeCandidates(pins, !pinned)
	s.slots = slots
	pl.countNominated(s, pod, candidates)
	candidates = pl.withoutFullZones(s, candidates)
	if candidates.Len() == 0 || candidates.Len() >= len(nodes) {
		return nil, nil
	}
	return &fwk.PreFilterResult{NodeNames: candidates}, nil
}

// attachedCandidates returns the snapshot's nodes where a pod uses one of
// the disks or a VolumeAttachment names one: the only nodes a disk can be
// attached to. A VolumeAttachment's node missing from the snapshot is
// counted separately.
func (pl *VolumeTopology) attachedCandidates(disks []*sharedDisk, nodes []fwk.NodeInfo) []fwk.NodeInfo {
	var claims []string
	for _, d := range disks {
		claims = append(claims, d.claimKeys...)
	}
	found := pl.nodesUsing(claims, nodes)
	var seen sets.Set[string]
	for _, d := range disks {
		for name := range d.vaNodes {
			if seen == nil {
				seen = sets.New[string]()
				for _, ni := range found {
					seen.Insert(ni.Node().Name)
				}
			}
			if seen.Has(name) {
				continue
			}
			seen.Insert(name)
			if ni, err := pl.handle.SnapshotSharedLister().NodeInfos().Get(name); err == nil && ni.Node() != nil {
				found = append(found, ni)
			}
		}
	}
	return found
}

// withoutFullZones drops from the candidates the nodes of a zone where a
// shared disk of the pod is attached to the limit of nodes and the node is
// not one of them (no pod there uses the disk, no VolumeAttachment names
// it). Filter would reject each with the attach limit, which evicting pods
// from the node cannot change, so it is a node neither Filter nor preemption
// needs to see, and PostFilter still gives it its reason. Holders of the
// disk stay: evicting one frees its node. Only a pod whose zone is full pays
// the pass over the candidates.
func (pl *VolumeTopology) withoutFullZones(s *stateData, candidates sets.Set[string]) sets.Set[string] {
	limit := int(pl.args.MaxNodesPerZone)
	full := false
	for _, d := range s.disks {
		if d.anyZone >= limit {
			full = true
		}
		for z := range d.zoneCount {
			full = full || d.attachedIn(z) >= limit
		}
	}
	if !full {
		return candidates
	}
	lister := pl.handle.SnapshotSharedLister().NodeInfos()
	out := sets.New[string]()
	for name := range candidates {
		ni, err := lister.Get(name)
		if err != nil || ni.Node() == nil {
			continue
		}
		zone := pl.nodes.get(ni.Node()).Zone
		refs := ni.GetPVCRefCounts()
		if !slices.ContainsFunc(s.disks, func(d *sharedDisk) bool {
			return d.attachedIn(zone) >= limit && d.countOn(refs) == 0 && !d.hasVA(name)
		}) {
			out.Insert(name)
		}
	}
	if out.Len() == 0 {
		return candidates
	}
	return out
}

// sharedDiskFor gathers every claim and VolumeAttachment that reaches a
// shared disk.
func (pl *VolumeTopology) sharedDiskFor(c *disk.Claim) (*sharedDisk, error) {
	d := &sharedDisk{key: c.DiskKey(), name: c.DiskName(), claimKeys: []string{c.Key}, zoneCount: map[string]int{}}
	if !c.Bound() {
		return d, nil
	}
	pvs, err := pl.resolver.Volumes.DiskVolumes(c.PV.Spec.CSI.Driver, c.DiskID)
	if err != nil {
		return nil, err
	}
	for _, pv := range pvs {
		d.pvs = append(d.pvs, pv)
		if ref := pv.Spec.ClaimRef; ref != nil {
			if k := ref.Namespace + "/" + ref.Name; !slices.Contains(d.claimKeys, k) {
				d.claimKeys = append(d.claimKeys, k)
			}
		}
		if !pl.args.CountVolumeAttachments {
			continue
		}
		vas, err := pl.vaIndexer.ByIndex(vaByPVIndex, pv.Name)
		if err != nil {
			return nil, err
		}
		for _, obj := range vas {
			va := obj.(*storagev1.VolumeAttachment)
			if d.vaNodes == nil {
				d.vaNodes = map[string]struct{}{}
			}
			d.vaNodes[va.Spec.NodeName] = struct{}{}
		}
	}
	return d, nil
}

// zonesOf returns the zones the volumes' topology pins a disk to; nil when
// they pin none.
func (pl *VolumeTopology) zonesOf(pvs []*v1.PersistentVolume) []string {
	var zones []string
	for _, pv := range pvs {
		t, err := disk.PVTopology(pv, pl.args.ZoneLabelKeys)
		if err != nil {
			continue
		}
		if zs, ok := t.ZoneSet(); ok {
			for _, z := range zs {
				if !slices.Contains(zones, z) {
					zones = append(zones, z)
				}
			}
		}
	}
	return zones
}
