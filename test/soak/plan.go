package soak

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
)

// The fleet: 3 zones of 60 nodes; NVMe-capable instances are spread unevenly
// (36, 18 and 6), so some disks fit only in some zones.
const (
	Region = "cn-beijing"
	ZoneA  = "cn-beijing-a"
	ZoneB  = "cn-beijing-b"
	ZoneC  = "cn-beijing-c"
	// Namespace holds the workload.
	Namespace = "soak"
)

// Zones are the fleet's zones.
var Zones = []string{ZoneA, ZoneB, ZoneC}

// Fleet is the initial node plan.
var Fleet = []localcluster.ZonePlan{
	{Zone: ZoneA, Nodes: 60, NVMe: 36},
	{Zone: ZoneB, Nodes: 60, NVMe: 18},
	{Zone: ZoneC, Nodes: 60, NVMe: 6},
}

// Bounds on the nodes of a zone while nodes come and go.
const (
	minZoneNodes = 54
	maxZoneNodes = 66
)

// SetKind is how a set of pods reaches its disks.
type SetKind string

const (
	// SharedDynamic is a StatefulSet whose replicas share one multi-attach
	// ReadWriteMany block claim of a WaitForFirstConsumer class.
	SharedDynamic SetKind = "shared-dynamic"
	// SharedStatic is a StatefulSet sharing a claim pre-bound to a static
	// multi-attach volume.
	SharedStatic SetKind = "shared-static"
	// SharedGroup is a group of bare pods sharing a WaitForFirstConsumer
	// multi-attach claim; the soak creates and deletes its pods.
	SharedGroup SetKind = "shared-group"
	// SharedWriter is a one-replica StatefulSet whose claim is pre-bound to
	// a static ReadWriteOnce volume of a shared static disk: the writer of
	// the writer/readers pattern. Its disk is shared because the readers'
	// volume is, so the writer gets the shared-disk rules. The plan never
	// scales or deletes it (so adding it changed no seed's plan); drains
	// and node loss move it.
	SharedWriter SetKind = "shared-writer"
	// Single is a StatefulSet with a single-attach claim per replica.
	Single SetKind = "single"
	// Ephemeral is a Deployment whose pods each get their own disk through
	// a generic ephemeral volume (spec.volumes[].ephemeral.volumeClaimTemplate)
	// of one of the workload's classes: a multi-attach block claim for a
	// shared class, else a ReadWriteOnce one. The plan never scales or
	// deletes it (so adding it changed no seed's plan); drains and node loss
	// move its pods, whose claims go with them (see runClaimGC).
	Ephemeral SetKind = "ephemeral"
)

// Set is one group of pods of the workload.
type Set struct {
	Name string
	Kind SetKind
	// Class is the StorageClass of the set's claims ("" for static volumes).
	Class string
	// Claim is the shared claim (shared kinds).
	Claim string
	// PV, Handle and Zone describe a static volume; LegacyLabel puts the
	// zone in the volume's topology.kubernetes.io/zone label instead of node
	// affinity, as old static volumes do.
	PV          string
	Handle      string
	Zone        string
	LegacyLabel bool
	// Initial is the number of replicas (or pods) at the start.
	Initial int
}

// Shared tells whether the set's pods share one multi-attach disk.
func (s *Set) Shared() bool { return s.Kind != Single && s.Kind != Ephemeral }

// StorageClasses of the workload, with their parameters.
var (
	sharedClasses = map[string]map[string]string{
		"soak-shared-essd": {disk.ParamType: disk.CategoryESSD, disk.ParamMultiAttach: "true"},
		"soak-shared-auto": {disk.ParamType: disk.CategoryESSDAuto + "," + disk.CategoryESSD, disk.ParamMultiAttach: "enabled"},
		"soak-shared-ab":   {disk.ParamType: disk.CategoryESSD, disk.ParamMultiAttach: "true", disk.ParamZoneID: ZoneA + "," + ZoneB},
		// Spelled as leniently as the driver reads it: the key zoneid
		// (read when zoneId is absent), a trailing comma (an empty entry
		// does no harm), a repeated type, multiAttach in any case.
		"soak-shared-lenient": {disk.ParamType: disk.CategoryESSD + "," + disk.CategoryESSD, disk.ParamMultiAttach: "Enabled", disk.ParamZoneIDLower: ZoneB + "," + ZoneA + ","},
	}
	singleClasses = map[string]map[string]string{
		"soak-one-bc": {disk.ParamType: disk.CategoryESSD, disk.ParamZoneID: ZoneB + "," + ZoneC},
		"soak-one-a":  {disk.ParamType: disk.CategorySSD + "," + disk.CategoryESSD, disk.ParamZoneID: ZoneA},
		// A zoneId list written with a space, as found in the wild: the
		// driver compares entries verbatim, so " cn-beijing-c" matches no
		// zone and only zone a can take these disks.
		"soak-one-entry-ac": {disk.ParamType: disk.CategoryESSDEntry, disk.ParamZoneID: ZoneA + ", " + ZoneC},
		"soak-one-any":      {disk.ParamType: disk.CategoryEfficiency + "," + disk.CategorySSD},
		// multiAttach values the driver reads as off, never an error: "yes",
		// and " true" (the driver does not trim); empty zoneId entries, and
		// the key zoneid. Their disks are single-attach, in zone c, and in
		// zones a and b.
		"soak-one-yes":         {disk.ParamType: disk.CategoryESSD, disk.ParamMultiAttach: "yes", disk.ParamZoneID: "," + ZoneC + ",,"},
		"soak-one-spaced-true": {disk.ParamType: disk.CategoryESSDAuto, disk.ParamMultiAttach: " true", disk.ParamZoneIDLower: ZoneA + "," + ZoneB + ","},
	}
	// ephemeralClasses are the classes of the Ephemeral sets' templates, one
	// set each.
	ephemeralClasses = []string{"soak-one-yes", "soak-one-spaced-true", "soak-shared-lenient", "soak-one-any"}
)

// Workload is the sets and nodes a seed gives.
type Workload struct {
	Sets  []Set
	Nodes []localcluster.NodeSpec
}

// Set returns the named set.
func (w *Workload) Set(name string) *Set {
	for i := range w.Sets {
		if w.Sets[i].Name == name {
			return &w.Sets[i]
		}
	}
	return nil
}

// SharedDisks counts the distinct shared disks of the workload.
func (w *Workload) SharedDisks() int {
	n := 0
	handles := map[string]bool{}
	for _, s := range w.Sets {
		switch {
		case (s.Kind == SharedStatic || s.Kind == SharedWriter) && handles[s.Handle]:
		case s.Kind == SharedStatic || s.Kind == SharedWriter:
			handles[s.Handle] = true
			n++
		case s.Shared():
			n++
		}
	}
	return n
}

// Workload sizes: 24 StatefulSets and 8 pod groups on dynamic shared disks,
// 8 static shared disks (one of them reached through a second static volume
// by a ninth set), and 8 StatefulSets of single-attach disks.
const (
	sharedDynamicSets = 24
	sharedGroupSets   = 8
	sharedStaticDisks = 8
	singleSets        = 8
)

func newRand(seed uint64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, stream))
}

// NewWorkload returns the workload of a seed.
func NewWorkload(seed uint64) *Workload {
	r := newRand(seed, 1)
	w := &Workload{Nodes: localcluster.PlanNodes(Region, Fleet)}
	shared := slices.Sorted(maps.Keys(sharedClasses))
	for i := range sharedDynamicSets {
		w.Sets = append(w.Sets, Set{
			Name: fmt.Sprintf("sh-%02d", i), Kind: SharedDynamic, Class: shared[i%len(shared)],
			Claim: fmt.Sprintf("disk-sh-%02d", i), Initial: r.IntN(11),
		})
	}
	for i := range sharedGroupSets {
		w.Sets = append(w.Sets, Set{
			Name: fmt.Sprintf("grp-%02d", i), Kind: SharedGroup, Class: shared[(i+1)%len(shared)],
			Claim: fmt.Sprintf("disk-grp-%02d", i), Initial: r.IntN(6),
		})
	}
	// Static disks live mostly where NVMe nodes are; one in the zone with 6.
	staticZones := []string{ZoneA, ZoneA, ZoneA, ZoneB, ZoneB, ZoneB, ZoneC, ZoneA}
	for i := range sharedStaticDisks {
		w.Sets = append(w.Sets, Set{
			Name: fmt.Sprintf("st-%02d", i), Kind: SharedStatic,
			Claim: fmt.Sprintf("disk-st-%02d", i), PV: fmt.Sprintf("soak-static-%02d", i),
			Handle: diskHandle(r), Zone: staticZones[i], LegacyLabel: i%4 == 3, Initial: 2 + r.IntN(8),
		})
	}
	// A second static volume for the first static disk: two volumes, one disk.
	first := w.Sets[sharedDynamicSets+sharedGroupSets]
	w.Sets = append(w.Sets, Set{
		Name: "st-alias", Kind: SharedStatic, Claim: "disk-st-alias", PV: "soak-static-alias",
		Handle: first.Handle, Zone: first.Zone, Initial: 1 + r.IntN(3),
	})
	single := slices.Sorted(maps.Keys(singleClasses))
	for i := range singleSets {
		w.Sets = append(w.Sets, Set{
			Name: fmt.Sprintf("one-%02d", i), Kind: Single, Class: single[i%len(single)], Initial: r.IntN(4),
		})
	}
	// A writer's ReadWriteOnce volume of the same disk, last and drawing
	// nothing from r, so every seed keeps its plan.
	w.Sets = append(w.Sets, Set{
		Name: "st-writer", Kind: SharedWriter, Claim: "disk-st-writer", PV: "soak-static-writer",
		Handle: first.Handle, Zone: first.Zone, Initial: 1,
	})
	// Deployments of pods with generic ephemeral volumes, after it and
	// drawing nothing from r either.
	for i, class := range ephemeralClasses {
		w.Sets = append(w.Sets, Set{Name: fmt.Sprintf("eph-%02d", i), Kind: Ephemeral, Class: class, Initial: 2})
	}
	return w
}

// diskHandle returns an ECS-like disk ID.
func diskHandle(r *rand.Rand) string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte("d-")
	for range 20 {
		b = append(b, chars[r.IntN(len(chars))])
	}
	return string(b)
}

// OpKind is the kind of one step of the plan.
type OpKind string

// Operations on the workload and the nodes.
const (
	OpScaleShared OpKind = "scale-shared"
	OpScaleSingle OpKind = "scale-single"
	OpGroupAdd    OpKind = "group-add-pod"
	OpGroupDelete OpKind = "group-delete-pod"
	OpDeletePod   OpKind = "delete-pod"
	OpNodeAdd     OpKind = "node-add"
	// OpNodeRemove cordons and drains a node, waits for its disks to
	// detach, and deletes it, as a cluster autoscaler does.
	OpNodeRemove OpKind = "node-remove"
	// OpRelabelZone, OpRelabelNVMe drain the node first, as an operator
	// would before changing facts its running pods depend on; disk-type
	// labels change under running pods.
	OpRelabelZone      OpKind = "relabel-zone"
	OpRelabelNVMe      OpKind = "relabel-nvme"
	OpRelabelDiskTypes OpKind = "relabel-disktypes"
)

// Faults.
const (
	// OpNodeLost deletes a node under its running pods (the pod garbage
	// collector removes them later).
	OpNodeLost OpKind = "node-lost"
	// OpKillLeader SIGKILLs the replica that holds the lease and starts a
	// new one after Delay; the standby takes over once the lease expires.
	OpKillLeader OpKind = "kill-leader"
	// OpKillStandby SIGKILLs the replica that does not lead.
	OpKillStandby OpKind = "kill-standby"
	// OpKillAll SIGKILLs both replicas; both start again after Delay.
	OpKillAll OpKind = "kill-all"
)

// Fault tells whether the kind is a fault rather than an operation.
func (k OpKind) Fault() bool {
	switch k {
	case OpNodeLost, OpKillLeader, OpKillStandby, OpKillAll:
		return true
	}
	return false
}

// Op is one step of the plan.
type Op struct {
	At   time.Duration
	Kind OpKind
	// Target is a set, a pod or a node.
	Target string
	// N is the replicas to scale to.
	N int
	// Zone is a node's new zone.
	Zone string
	// Value is the NVMe override label's new value; "" removes it.
	Value string
	// Types are a node's new disk-type labels.
	Types []string
	// Force deletes a pod with no grace period.
	Force bool
	// Delay is how long killed schedulers stay down.
	Delay time.Duration
	// Node is the node to add.
	Node *localcluster.NodeSpec
}

func (o Op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%7.2fs %-17s %s", o.At.Seconds(), o.Kind, o.Target)
	switch o.Kind {
	case OpScaleShared, OpScaleSingle:
		fmt.Fprintf(&b, " -> %d", o.N)
	case OpRelabelZone:
		fmt.Fprintf(&b, " -> %s", o.Zone)
	case OpRelabelNVMe:
		fmt.Fprintf(&b, " -> %q", o.Value)
	case OpRelabelDiskTypes:
		fmt.Fprintf(&b, " -> %v", o.Types)
	case OpDeletePod:
		if o.Force {
			b.WriteString(" (force)")
		}
	case OpNodeAdd:
		fmt.Fprintf(&b, " in %s (%s)", o.Node.Zone, o.Node.InstanceType)
	case OpKillLeader, OpKillStandby, OpKillAll:
		fmt.Fprintf(&b, " restart after %s", o.Delay)
	}
	return b.String()
}

// PlanOptions shape a plan.
type PlanOptions struct {
	Duration time.Duration
	// OpEvery is the mean time between operations; FaultEvery between
	// scheduler kills.
	OpEvery    time.Duration
	FaultEvery time.Duration
	// NodeLoss includes OpNodeLost faults.
	NodeLoss bool
}

// Plan is the operations of a run, in time order.
type Plan struct {
	Ops []Op
}

// Digest identifies the plan, to compare runs.
func (p *Plan) Digest() string {
	h := fnv.New64a()
	for _, o := range p.Ops {
		fmt.Fprintln(h, o.String())
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// Counts are the plan's operations per kind.
func (p *Plan) Counts() map[OpKind]int {
	out := map[OpKind]int{}
	for _, o := range p.Ops {
		out[o.Kind]++
	}
	return out
}

// planNode is the planner's model of a node.
type planNode struct {
	name, zone string
	nvmeFamily bool
	override   string // NVMe label value, "" when absent
	busyUntil  time.Duration
}

// planner models the cluster only as far as choosing targets needs, so the
// plan is a function of the seed and the options alone.
type planner struct {
	r        *rand.Rand
	w        *Workload
	replicas map[string]int
	groups   map[string][]string // live pods of each group
	nextPod  map[string]int
	nodes    []*planNode
	added    int
}

// NewPlan derives the plan from the seed.
func NewPlan(seed uint64, w *Workload, o PlanOptions) *Plan {
	p := &planner{r: newRand(seed, 2), w: w, replicas: map[string]int{}, groups: map[string][]string{}, nextPod: map[string]int{}}
	for _, s := range w.Sets {
		if s.Kind == SharedGroup {
			for range s.Initial {
				p.groups[s.Name] = append(p.groups[s.Name], p.newGroupPod(s.Name))
			}
		} else {
			p.replicas[s.Name] = s.Initial
		}
	}
	for _, n := range w.Nodes {
		p.nodes = append(p.nodes, &planNode{name: n.Name, zone: n.Zone, nvmeFamily: isNVMeFamily(n.InstanceType)})
	}
	var ops []Op
	if o.OpEvery > 0 {
		for t := jitter(p.r, o.OpEvery); t < o.Duration; t += jitter(p.r, o.OpEvery) {
			ops = append(ops, p.next(t, o.NodeLoss))
		}
	}
	// Scheduler kills on their own stream, so the workload's steps do not
	// shift when the fault rate changes.
	fr := newRand(seed, 3)
	if o.FaultEvery > 0 {
		for t := 10*time.Second + jitter(fr, o.FaultEvery/2); t < o.Duration-5*time.Second; t += jitter(fr, o.FaultEvery) {
			op := Op{At: t, Delay: time.Duration(fr.IntN(6000)) * time.Millisecond}
			switch x := fr.IntN(4); {
			case x < 2:
				op.Kind = OpKillLeader
			case x < 3:
				op.Kind = OpKillStandby
			default:
				op.Kind = OpKillAll
			}
			op.Target = "scheduler"
			ops = append(ops, op)
		}
	}
	sort.SliceStable(ops, func(i, j int) bool { return ops[i].At < ops[j].At })
	return &Plan{Ops: ops}
}

// jitter returns a duration uniformly in [mean/2, 3mean/2).
func jitter(r *rand.Rand, mean time.Duration) time.Duration {
	return mean/2 + time.Duration(r.Int64N(int64(mean)))
}

func isNVMeFamily(instanceType string) bool {
	return slices.Contains(disk.DefaultNVMeInstanceFamilies, disk.InstanceFamily(instanceType))
}

func (p *planner) newGroupPod(set string) string {
	n := p.nextPod[set]
	p.nextPod[set]++
	return fmt.Sprintf("%s-%d", set, n)
}

// weights of the operations.
var opWeights = []struct {
	kind   OpKind
	weight int
}{
	{OpScaleShared, 22}, {OpScaleSingle, 7}, {OpGroupAdd, 8}, {OpGroupDelete, 5}, {OpDeletePod, 16},
	{OpNodeAdd, 6}, {OpNodeRemove, 5}, {OpNodeLost, 2}, {OpRelabelZone, 4}, {OpRelabelNVMe, 5}, {OpRelabelDiskTypes, 5},
}

func (p *planner) next(t time.Duration, nodeLoss bool) Op {
	total := 0
	for _, w := range opWeights {
		total += w.weight
	}
	x := p.r.IntN(total)
	kind := opWeights[0].kind
	for _, w := range opWeights {
		if x < w.weight {
			kind = w.kind
			break
		}
		x -= w.weight
	}
	if kind == OpNodeLost && !nodeLoss {
		kind = OpNodeRemove
	}
	if op, ok := p.op(t, kind); ok {
		return op
	}
	op, _ := p.op(t, OpScaleShared)
	return op
}

// sharedReplicas picks a shared set's size: sometimes none, mostly a few,
// often up to the attach limit, sometimes past it.
func (p *planner) sharedReplicas() int {
	switch x := p.r.IntN(100); {
	case x < 12:
		return 0
	case x < 57:
		return 1 + p.r.IntN(8)
	case x < 82:
		return 9 + p.r.IntN(8)
	default:
		return 17 + p.r.IntN(6)
	}
}

func (p *planner) op(t time.Duration, kind OpKind) (Op, bool) {
	op := Op{At: t, Kind: kind}
	switch kind {
	case OpScaleShared:
		s := p.pickSet(func(s *Set) bool { return s.Kind == SharedDynamic || s.Kind == SharedStatic })
		op.Target, op.N = s.Name, p.sharedReplicas()
		p.replicas[s.Name] = op.N
	case OpScaleSingle:
		s := p.pickSet(func(s *Set) bool { return s.Kind == Single })
		op.Target, op.N = s.Name, p.r.IntN(5)
		p.replicas[s.Name] = op.N
	case OpGroupAdd:
		s := p.pickSet(func(s *Set) bool { return s.Kind == SharedGroup })
		op.Target = p.newGroupPod(s.Name)
		p.groups[s.Name] = append(p.groups[s.Name], op.Target)
	case OpGroupDelete:
		var names []string
		for _, s := range p.w.Sets {
			if len(p.groups[s.Name]) > 0 {
				names = append(names, s.Name)
			}
		}
		if len(names) == 0 {
			return op, false
		}
		set := names[p.r.IntN(len(names))]
		i := p.r.IntN(len(p.groups[set]))
		op.Target = p.groups[set][i]
		p.groups[set] = slices.Delete(p.groups[set], i, i+1)
	case OpDeletePod:
		var names []string
		for _, s := range p.w.Sets {
			if s.Kind != SharedGroup && s.Kind != SharedWriter && s.Kind != Ephemeral && p.replicas[s.Name] > 0 {
				names = append(names, s.Name)
			}
		}
		if len(names) == 0 {
			return op, false
		}
		set := names[p.r.IntN(len(names))]
		op.Target = fmt.Sprintf("%s-%d", set, p.r.IntN(p.replicas[set]))
		op.Force = p.r.IntN(10) < 3
	case OpNodeAdd:
		zone := Zones[p.r.IntN(len(Zones))]
		if p.zoneNodes(zone) >= maxZoneNodes {
			return op, false
		}
		nvmeShare := map[string]int{ZoneA: 60, ZoneB: 30, ZoneC: 10}[zone]
		spec := p.newNode(zone, p.r.IntN(100) < nvmeShare)
		op.Target, op.Node = spec.Name, &spec
		p.nodes = append(p.nodes, &planNode{name: spec.Name, zone: zone, nvmeFamily: isNVMeFamily(spec.InstanceType), busyUntil: t + 10*time.Second})
	case OpNodeRemove, OpNodeLost:
		n := p.pickNode(t, func(n *planNode) bool { return p.zoneNodes(n.zone) > minZoneNodes })
		if n == nil {
			return op, false
		}
		op.Target = n.name
		p.nodes = slices.DeleteFunc(p.nodes, func(o *planNode) bool { return o == n })
	case OpRelabelZone:
		n := p.pickNode(t, func(n *planNode) bool { return p.zoneNodes(n.zone) > minZoneNodes })
		if n == nil {
			return op, false
		}
		var to []string
		for _, z := range Zones {
			if z != n.zone && p.zoneNodes(z) < maxZoneNodes {
				to = append(to, z)
			}
		}
		if len(to) == 0 {
			return op, false
		}
		op.Target, op.Zone = n.name, to[p.r.IntN(len(to))]
		n.zone, n.busyUntil = op.Zone, t+45*time.Second
	case OpRelabelNVMe:
		n := p.pickNode(t, func(*planNode) bool { return true })
		if n == nil {
			return op, false
		}
		values := slices.DeleteFunc([]string{"true", "false", ""}, func(v string) bool { return v == n.override })
		op.Target, op.Value = n.name, values[p.r.IntN(len(values))]
		n.override, n.busyUntil = op.Value, t+45*time.Second
	case OpRelabelDiskTypes:
		n := p.pickNode(t, func(*planNode) bool { return true })
		if n == nil {
			return op, false
		}
		op.Target = n.name
		if p.r.IntN(10) > 0 { // else: no labels, the driver has not described the node
			for _, c := range []string{disk.CategoryEfficiency, disk.CategorySSD, disk.CategoryESSD, disk.CategoryESSDAuto, disk.CategoryESSDEntry, disk.CategoryRegional} {
				if p.r.IntN(3) > 0 {
					op.Types = append(op.Types, c)
				}
			}
		}
		n.busyUntil = t + 5*time.Second
	default:
		return op, false
	}
	return op, true
}

func (p *planner) pickSet(ok func(*Set) bool) *Set {
	var cands []*Set
	for i := range p.w.Sets {
		if ok(&p.w.Sets[i]) {
			cands = append(cands, &p.w.Sets[i])
		}
	}
	return cands[p.r.IntN(len(cands))]
}

// pickNode picks a node no other operation is working on.
func (p *planner) pickNode(t time.Duration, ok func(*planNode) bool) *planNode {
	var cands []*planNode
	for _, n := range p.nodes {
		if n.busyUntil <= t && ok(n) {
			cands = append(cands, n)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	n := cands[p.r.IntN(len(cands))]
	n.busyUntil = t + 45*time.Second
	return n
}

func (p *planner) zoneNodes(zone string) int {
	n := 0
	for _, o := range p.nodes {
		if o.zone == zone {
			n++
		}
	}
	return n
}

// newNode describes an added node like PlanNodes does.
func (p *planner) newNode(zone string, nvme bool) localcluster.NodeSpec {
	p.added++
	zi := slices.Index(Zones, zone)
	s := localcluster.NodeSpec{
		Name:           fmt.Sprintf("%s-n%03d", zone, p.added),
		Zone:           zone,
		Region:         Region,
		InternalIP:     fmt.Sprintf("10.%d.%d.%d", 20+zi, p.added/250, p.added%250+1),
		MaxDiskVolumes: 16,
	}
	if nvme {
		s.InstanceType = localcluster.InstanceTypeNVMe
		s.DiskTypes = []string{disk.CategoryESSD, disk.CategoryESSDAuto, disk.CategoryESSDEntry, disk.CategoryRegional}
	} else {
		s.InstanceType = localcluster.InstanceTypePlain
		s.DiskTypes = []string{disk.CategoryEfficiency, disk.CategorySSD, disk.CategoryESSD, disk.CategoryESSDAuto}
	}
	return s
}
