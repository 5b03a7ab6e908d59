package volumetopology

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// nodeIndex holds the facts read from each node's labels and, per zone, the
// nodes and the NVMe-capable nodes. Node informer events keep it current
// (and the node queueing hint feeds it the event's node before a pod is
// retried, so a retry never runs on an index older than the event that
// caused it). Filter reads a
// node's facts with one map look-up and re-reads labels only when the
// scheduler's snapshot holds another object than the index, so a decision is
// always based on the snapshot's labels.
//
// The per-zone sets are copy-on-write once published: a set candidates has
// handed out is never changed, so PreFilter can hand it to the scheduler as
// its PreFilterResult. A set nobody holds yet is changed in place, so adding
// N nodes (an informer's first list) costs O(N), not a copy per node. The
// union of several zones' sets is built once and kept until a node enters or
// leaves one of the sets.
//
// Each set also maps its names to the nodes' slots, which PreFilter keeps for
// Filter: a slot always holds the index's current entry of its node, so one
// plain map look-up finds a candidate's facts (see slotFacts) where the
// sync.Map of every node object costs a walk of its trie. Events that change
// neither a node's zone nor its NVMe capability (most of them) replace the
// entry in the slot and copy no set.
type nodeIndex struct {
	classifier *disk.NodeClassifier

	// facts maps each node object the index holds to its facts. Keyed by
	// the object, a look-up both finds the facts and proves they are of the
	// object the scheduler is looking at; the sync.Map keeps it lock-free.
	facts sync.Map // *v1.Node -> *disk.NodeFacts

	mu      sync.RWMutex         // guards what follows
	byName  map[string]*nodeSlot // the slot of each node the index holds
	nvme    map[string]*nodeSet  // zone -> NVMe-capable nodes
	nvmeAll *nodeSet
	zonal   map[string]*nodeSet // zone -> nodes; "" holds the nodes without a zone
	// unions are the published unions of several zones' sets, by
	// unionKey; cleared whenever a node enters or leaves a set.
	unions map[string]*nodeSet
}

// nodeSlot holds the index's entry of one node name while the index knows
// the name; nil once the node is removed. Writers hold the index's lock;
// readers need none.
type nodeSlot struct {
	entry atomic.Pointer[nodeEntry]
}

// nodeSet is a set of node names, with their slots, that becomes read-only
// once published.
type nodeSet struct {
	names sets.Set[string]
	slots map[string]*nodeSlot
	// published is set, under the index's read lock, when the set is handed
	// out; writers hold the write lock, so they see it.
	published atomic.Bool
}

func newNodeSet() *nodeSet {
	return &nodeSet{names: sets.New[string](), slots: map[string]*nodeSlot{}}
}

// publish marks the set as handed out and returns its names and slots.
func (s *nodeSet) publish() (sets.Set[string], map[string]*nodeSlot) {
	s.published.Store(true)
	return s.names, s.slots
}

// edit adds (slot non-nil) or removes (slot nil) a node, in place while the
// set is unpublished and on a copy otherwise. Called with the index's write
// lock held.
func (s *nodeSet) edit(name string, slot *nodeSlot) *nodeSet {
	out := s
	if s == nil {
		out = newNodeSet()
	} else if s.published.Load() {
		out = &nodeSet{names: s.names.Clone(), slots: maps.Clone(s.slots)}
	}
	if slot != nil {
		out.names.Insert(name)
		out.slots[name] = slot
	} else {
		out.names.Delete(name)
		delete(out.slots, name)
	}
	return out
}

type nodeEntry struct {
	node  *v1.Node // the object the facts were read from
	facts disk.NodeFacts
}

// slotFacts returns the facts of a node object from its slot when the slot
// holds that very object, and nil otherwise (no slot, the node removed, or
// the index a moment ahead of or behind the scheduler's snapshot); the
// caller then asks the index (get). Safe from any goroutine.
func slotFacts(slots map[string]*nodeSlot, node *v1.Node) *disk.NodeFacts {
	slot := slots[node.Name]
	if slot == nil {
		return nil
	}
	if e := slot.entry.Load(); e != nil && e.node == node {
		return &e.facts
	}
	return nil
}

func newNodeIndex(c *disk.NodeClassifier) *nodeIndex {
	return &nodeIndex{
		classifier: c,
		byName:     map[string]*nodeSlot{},
		nvme:       map[string]*nodeSet{},
		nvmeAll:    newNodeSet(),
		zonal:      map[string]*nodeSet{},
		unions:     map[string]*nodeSet{},
	}
}

// handler keeps the index current from a node informer.
func (x *nodeIndex) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { x.observe(obj) },
		UpdateFunc: func(_, obj interface{}) { x.observe(obj) },
		DeleteFunc: func(obj interface{}) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*v1.Node); ok {
				x.remove(n.Name)
			}
		},
	}
}

func (x *nodeIndex) observe(obj interface{}) {
	if n, ok := obj.(*v1.Node); ok {
		x.update(n)
	}
}

// get returns the facts of a node object. When the index holds another object
// of that name (the snapshot and the informer are a moment apart), it reads
// the labels of the object it was given and leaves the index alone: only
// events, which come in order, write the index.
func (x *nodeIndex) get(node *v1.Node) *disk.NodeFacts {
	if v, ok := x.facts.Load(node); ok {
		return v.(*disk.NodeFacts)
	}
	f := x.classifier.Describe(node.Labels)
	return &f
}

// update records a node object from an event and returns its facts.
func (x *nodeIndex) update(node *v1.Node) *disk.NodeFacts {
	ne := &nodeEntry{node: node, facts: x.classifier.Describe(node.Labels)}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.store(ne)
	return &ne.facts
}

// updateIfCurrent records a node object that the informer still holds as
// the node's current version (current reads the informer's store) and tells
// whether it did. Queueing hints call it: the scheduling queue hands them
// events it recorded during a scheduling cycle only after the cycle, when the
// node may have changed again or be gone, and such an event must not bring
// an old version back. The informer updates its store before it tells any
// handler, and the check and the write happen under the index's lock, which
// the index's own handler takes too, so a newer version is never overwritten.
func (x *nodeIndex) updateIfCurrent(node *v1.Node, current func(name string) (*v1.Node, error)) bool {
	ne := &nodeEntry{node: node, facts: x.classifier.Describe(node.Labels)}
	x.mu.Lock()
	defer x.mu.Unlock()
	cur, err := current(node.Name)
	if err != nil || cur.ResourceVersion != node.ResourceVersion || cur.UID != node.UID {
		return false
	}
	x.store(ne)
	return true
}

// store records a node entry. Called with mu held.
func (x *nodeIndex) store(ne *nodeEntry) {
	node := ne.node
	slot := x.byName[node.Name]
	var old *nodeEntry
	if slot == nil {
		slot = &nodeSlot{}
		x.byName[node.Name] = slot
	} else {
		old = slot.entry.Load()
	}
	slot.entry.Store(ne)
	x.facts.Store(node, &ne.facts)
	if old != nil && old.node != node {
		x.facts.Delete(old.node)
	}
	if old == nil || old.facts.Zone != ne.facts.Zone {
		if old != nil {
			x.setZonal(old.facts.Zone, node.Name, nil)
		}
		x.setZonal(ne.facts.Zone, node.Name, slot)
	}
	if old == nil || old.facts.Zone != ne.facts.Zone || old.facts.NVMe != ne.facts.NVMe {
		if old != nil && old.facts.NVMe {
			x.setNVMe(old.facts.Zone, node.Name, nil)
		}
		if ne.facts.NVMe {
			x.setNVMe(ne.facts.Zone, node.Name, slot)
		}
	}
}

func (x *nodeIndex) remove(name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	slot := x.byName[name]
	if slot == nil {
		return
	}
	old := slot.entry.Load()
	delete(x.byName, name)
	// Sets handed out earlier keep the slot; an empty one sends their
	// readers to the index, which no longer knows the node.
	slot.entry.Store(nil)
	x.facts.Delete(old.node)
	x.setZonal(old.facts.Zone, name, nil)
	if old.facts.NVMe {
		x.setNVMe(old.facts.Zone, name, nil)
	}
}

// setNVMe adds a node (slot non-nil) to, or removes it (slot nil) from, the
// NVMe sets of its zone and of every zone (copying those already handed
// out). Called with mu held.
func (x *nodeIndex) setNVMe(zone, name string, slot *nodeSlot) {
	x.nvme[zone] = x.nvme[zone].edit(name, slot)
	x.nvmeAll = x.nvmeAll.edit(name, slot)
	clear(x.unions)
}

// setZonal adds a node to, or removes it from, the set of its zone. Called
// with mu held.
func (x *nodeIndex) setZonal(zone, name string, slot *nodeSlot) {
	x.zonal[zone] = x.zonal[zone].edit(name, slot)
	clear(x.unions)
}

// zoneOf returns the zone of the node of that name the index holds, and
// whether it holds one. Safe from any goroutine.
func (x *nodeIndex) zoneOf(name string) (string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if slot := x.byName[name]; slot != nil {
		return slot.entry.Load().facts.Zone, true
	}
	return "", false
}

// nvmeNodes returns the NVMe-capable nodes of the zones, or of every zone when
// all is set. The result must not be modified.
func (x *nodeIndex) nvmeNodes(zones []string, all bool) sets.Set[string] {
	names, _ := x.nvmeCandidates(zones, all)
	return names
}

// nvmeCandidates returns the NVMe-capable nodes of the zones, or of every
// zone when all is set, and their slots. Neither result may be modified.
func (x *nodeIndex) nvmeCandidates(zones []string, all bool) (sets.Set[string], map[string]*nodeSlot) {
	if all {
		x.mu.RLock()
		defer x.mu.RUnlock()
		return x.nvmeAll.publish()
	}
	return x.candidates(zones, true)
}

// zoneCandidates returns the nodes of the zones and their slots. Neither
// result may be modified.
func (x *nodeIndex) zoneCandidates(zones []string) (sets.Set[string], map[string]*nodeSlot) {
	return x.candidates(zones, false)
}

// candidates returns the nodes of the zones (the NVMe-capable ones only
// when nvme is set) and their slots: a zone's own set, or the union of
// several, built on first use and kept until a node enters or leaves one of
// the index's sets.
func (x *nodeIndex) candidates(zones []string, nvme bool) (sets.Set[string], map[string]*nodeSlot) {
	x.mu.RLock()
	perZone := x.perZone(nvme)
	if len(zones) == 1 {
		defer x.mu.RUnlock()
		if s := perZone[zones[0]]; s != nil {
			return s.publish()
		}
		return sets.New[string](), nil
	}
	key := unionKey(zones, nvme)
	if u := x.unions[key]; u != nil {
		x.mu.RUnlock()
		return u.names, u.slots
	}
	x.mu.RUnlock()

	x.mu.Lock()
	defer x.mu.Unlock()
	if u := x.unions[key]; u != nil {
		return u.names, u.slots
	}
	u := newNodeSet()
	for _, z := range zones {
		if s := perZone[z]; s != nil {
			for name, slot := range s.slots {
				u.names.Insert(name)
				u.slots[name] = slot
			}
		}
	}
	x.unions[key] = u
	return u.names, u.slots
}

// zoneSize returns how many nodes the zones hold, without handing out a set
// (a set handed out is copied on the next node event).
func (x *nodeIndex) zoneSize(zones []string) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n := 0
	for i, z := range zones {
		if s := x.zonal[z]; s != nil && !slices.Contains(zones[:i], z) {
			n += s.names.Len()
		}
	}
	return n
}

// perZone returns the per-zone sets of every node or of the NVMe-capable
// ones. Called with mu held.
func (x *nodeIndex) perZone(nvme bool) map[string]*nodeSet {
	if nvme {
		return x.nvme
	}
	return x.zonal
}

// unionKey names a union of zones' sets, whatever the zones' order.
func unionKey(zones []string, nvme bool) string {
	sorted := slices.Clone(zones)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	key := strings.Join(sorted, "\x00")
	if nvme {
		return "nvme\x00" + key
	}
	return "all\x00" + key
}

// nvmeCounts returns how many NVMe-capable nodes each zone has.
func (x *nodeIndex) nvmeCounts() map[string]int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make(map[string]int64, len(x.nvme))
	for z, s := range x.nvme {
		out[z] = int64(s.names.Len())
	}
	return out
}
