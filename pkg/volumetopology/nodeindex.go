package volumetopology

import (
	"maps"
	"sync"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// nodeIndex holds the facts read from each node's labels and, per zone, the
// NVMe-capable nodes. Node informer events keep it current (and the node
// queueing hint feeds it the event's node before a pod is retried, so a retry
// never runs on an index older than the event that caused it). Filter reads a
// node's facts with one map look-up and re-reads labels only when the
// scheduler's snapshot holds another object than the index, so a decision is
// always based on the snapshot's labels.
//
// The per-zone sets are copy-on-write once published: a set nvmeNodes has
// handed out is never changed, so PreFilter can hand it to the scheduler as
// its PreFilterResult. A set nobody holds yet is changed in place, so adding
// N nodes (an informer's first list) costs O(N), not a copy per node.
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
	return &nodeIndex{classifier: c, byName: map[string]*nodeSlot{}, nvme: map[string]*nodeSet{}, nvmeAll: newNodeSet()}
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
	if old.facts.NVMe {
		x.setNVMe(old.facts.Zone, name, nil)
	}
}

// setNVMe adds a node (slot non-nil) to, or removes it (slot nil) from, the
// sets of its zone and of every zone (copying those already handed out).
// Called with mu held.
func (x *nodeIndex) setNVMe(zone, name string, slot *nodeSlot) {
	x.nvme[zone] = x.nvme[zone].edit(name, slot)
	x.nvmeAll = x.nvmeAll.edit(name, slot)
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

// nvmeCandidates returns what nvmeNodes does and the nodes' slots when the
// names are one set of the index (every zone, or a single zone); several
// zones get a new set of names and no slots. Neither result may be modified.
func (x *nodeIndex) nvmeCandidates(zones []string, all bool) (sets.Set[string], map[string]*nodeSlot) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if all {
		return x.nvmeAll.publish()
	}
	if len(zones) == 1 {
		if s := x.nvme[zones[0]]; s != nil {
			return s.publish()
		}
		return sets.New[string](), nil
	}
	out := sets.New[string]()
	for _, z := range zones {
		if s := x.nvme[z]; s != nil {
			out = out.Union(s.names)
		}
	}
	return out, nil
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
