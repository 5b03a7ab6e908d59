package volumetopology

import (
	"flag"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

func newTestNodeIndex() *nodeIndex {
	return newNodeIndex(disk.NewNodeClassifier(disk.DefaultZoneLabelKeys, disk.DefaultNVMeInstanceFamilies, disk.LabelNVMeMultiAttach))
}

// setIdentity tells two sets apart by their backing map, not their contents.
func setIdentity(s sets.Set[string]) uintptr { return reflect.ValueOf(s).Pointer() }

// A set handed out by nvmeNodes (a PreFilterResult the scheduler may still
// be reading) never changes: later node events change a copy.
func TestNodeIndexPublishedSetsNeverChange(t *testing.T) {
	x := newTestNodeIndex()
	x.update(zoneNode("a-1", zoneA, nvmeType))
	x.update(zoneNode("a-2", zoneA, nvmeType))
	x.update(zoneNode("b-1", zoneB, nvmeType))

	zone, all := x.nvmeNodes([]string{zoneA}, false), x.nvmeNodes(nil, true)
	x.update(zoneNode("a-3", zoneA, nvmeType))
	x.remove("a-1")
	x.update(zoneNode("a-2", zoneA, plainType)) // no longer NVMe-capable

	if want := sets.New("a-1", "a-2"); !zone.Equal(want) {
		t.Errorf("handed-out set of zone %s = %v after node events, want it unchanged %v", zoneA, sets.List(zone), sets.List(want))
	}
	if want := sets.New("a-1", "a-2", "b-1"); !all.Equal(want) {
		t.Errorf("handed-out set of every zone = %v after node events, want it unchanged %v", sets.List(all), sets.List(want))
	}
	if got, want := x.nvmeNodes([]string{zoneA}, false), sets.New("a-3"); !got.Equal(want) {
		t.Errorf("zone %s now = %v, want %v", zoneA, sets.List(got), sets.List(want))
	}
	if got, want := x.nvmeNodes(nil, true), sets.New("a-3", "b-1"); !got.Equal(want) {
		t.Errorf("every zone now = %v, want %v", sets.List(got), sets.List(want))
	}
	if got, want := x.nvmeNodes([]string{zoneA, zoneB}, false), sets.New("a-3", "b-1"); !got.Equal(want) {
		t.Errorf("zones %s,%s now = %v, want %v", zoneA, zoneB, sets.List(got), sets.List(want))
	}
	if got, want := x.nvmeCounts(), map[string]int64{zoneA: 1, zoneB: 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("nvmeCounts() = %v, want %v", got, want)
	}
}

// Node events between two reads change the sets in place: an informer's
// first list of N nodes costs O(N), not a copy of the set per node. Once a
// set is handed out, the next event copies it once, and the copy is again
// changed in place until it is handed out.
func TestNodeIndexCopiesOnlyHandedOutSets(t *testing.T) {
	x := newTestNodeIndex()
	x.update(zoneNode("a-0", zoneA, nvmeType))
	zoneSet, allSet := x.nvme[zoneA].names, x.nvmeAll.names
	for i := 1; i < 100; i++ {
		x.update(zoneNode(fmt.Sprintf("a-%d", i), zoneA, nvmeType))
	}
	if setIdentity(x.nvme[zoneA].names) != setIdentity(zoneSet) || setIdentity(x.nvmeAll.names) != setIdentity(allSet) {
		t.Fatal("adding nodes nobody has read copied the NVMe sets")
	}
	if n := x.nvme[zoneA].names.Len(); n != 100 {
		t.Fatalf("zone %s has %d NVMe nodes, want 100", zoneA, n)
	}

	handed := x.nvmeNodes([]string{zoneA}, false)
	x.update(zoneNode("a-100", zoneA, nvmeType))
	copied := x.nvme[zoneA].names
	if setIdentity(copied) == setIdentity(handed) {
		t.Fatal("a node event changed a handed-out set in place")
	}
	x.update(zoneNode("a-101", zoneA, nvmeType))
	if setIdentity(x.nvme[zoneA].names) != setIdentity(copied) {
		t.Error("the copy made after a read was copied again before anyone read it")
	}
	if handed.Len() != 100 || x.nvme[zoneA].names.Len() != 102 {
		t.Errorf("handed-out set has %d nodes (want 100), the index %d (want 102)", handed.Len(), x.nvme[zoneA].names.Len())
	}
}

var slotSeed = flag.Int64("slots.seed", 1, "first seed of TestNodeIndexSlotsMatchLabels")

// Filter and Score read a candidate's facts from the slots PreFilter kept
// (factsOf). Under random node churn (new nodes, zone and NVMe changes,
// updates that change neither, removals and returns) and a scheduler
// snapshot that lags the index by a few events, every object the snapshot
// may hold must get from factsOf exactly the facts of its own labels, and
// a slot must serve the index's current object of every node of a set (or
// the look-up saves nothing). The sets of one or several zones, all nodes or
// NVMe-capable ones, must hold exactly the nodes the labels put there, and a
// set once handed out must never change.
func TestNodeIndexSlotsMatchLabels(t *testing.T) {
	zones := []string{zoneA, zoneB, zoneC}
	for seed := *slotSeed; seed < *slotSeed+20; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rnd := rand.New(rand.NewSource(seed))
			x := newTestNodeIndex()
			pl := &VolumeTopology{nodes: x}
			names := []string{"n0", "n1", "n2", "n3", "n4", "n5"}
			current := map[string]*v1.Node{} // what the index holds
			var seen []*v1.Node              // the objects a lagging snapshot may hold
			var handed []*stateData          // slots of the last sets handed out
			type frozen struct{ set, was sets.Set[string] }
			var handedOut []frozen // sets handed out, with their contents then
			for step := 0; step < 300; step++ {
				name := names[rnd.Intn(len(names))]
				switch op := rnd.Intn(10); {
				case op < 7:
					instance := plainType
					if rnd.Intn(2) == 0 {
						instance = nvmeType
					}
					n := zoneNode(name, zones[rnd.Intn(len(zones))], instance)
					if old := current[name]; old != nil && rnd.Intn(3) == 0 {
						n = old.DeepCopy() // a status update: same labels, new object
					}
					x.update(n)
					current[name] = n
					seen = append(seen, n)
					if len(seen) > 12 {
						seen = seen[1:]
					}
				case op < 9:
					x.remove(name)
					delete(current, name)
				default:
					s := &stateData{}
					zs := []string{zones[rnd.Intn(len(zones))]}
					_, s.slots = x.nvmeCandidates(zs, rnd.Intn(4) == 0)
					handed = append(handed, s)
					if len(handed) > 4 {
						handed = handed[1:]
					}
				}
				for _, s := range handed {
					for _, n := range seen {
						got, want := pl.factsOf(s, n), x.classifier.Describe(n.Labels)
						if !reflect.DeepEqual(*got, want) {
							t.Fatalf("step %d: facts of an object of %s = %+v, its labels say %+v", step, n.Name, *got, want)
						}
					}
				}
				for _, zs := range [][]string{{zoneA}, {zoneB}, {zoneC}, {zoneA, zoneB}, {zoneC, zoneA}, {zoneA, zoneB, zoneC}} {
					for _, nvme := range []bool{true, false} {
						set, slots := x.candidates(zs, nvme)
						want := sets.New[string]()
						for name, n := range current {
							if f := x.classifier.Describe(n.Labels); slices.Contains(zs, f.Zone) && (f.NVMe || !nvme) {
								want.Insert(name)
							}
						}
						if !set.Equal(want) {
							t.Fatalf("step %d: candidates(%v, nvme=%v) = %v, want %v", step, zs, nvme, sets.List(set), sets.List(want))
						}
						if got := x.zoneSize(append(zs, zs[0])); !nvme && got != want.Len() {
							t.Fatalf("step %d: zoneSize(%v and a repeat) = %d, want %d", step, zs, got, want.Len())
						}
						for name := range set {
							if slotFacts(slots, current[name]) == nil {
								t.Fatalf("step %d: the slot of node %s in candidates(%v, nvme=%v) does not serve its current object", step, name, zs, nvme)
							}
						}
						handedOut = append(handedOut, frozen{set, set.Clone()})
					}
				}
				for _, h := range handedOut {
					if !h.set.Equal(h.was) {
						t.Fatalf("step %d: a handed-out set changed from %v to %v", step, sets.List(h.was), sets.List(h.set))
					}
				}
				if len(handedOut) > 48 {
					handedOut = handedOut[len(handedOut)-48:]
				}
			}
		})
	}
}

// Node events arrive on the informer's goroutine while Filter reads slots
// on the scheduler's parallel workers: run with -race (make test-race).
func TestNodeIndexSlotsConcurrentReaders(t *testing.T) {
	x := newTestNodeIndex()
	pl := &VolumeTopology{nodes: x}
	var latest [20]atomic.Pointer[v1.Node] // the object last written per node
	for i := range latest {
		n := zoneNode(fmt.Sprintf("a-%d", i), zoneA, nvmeType)
		x.update(n)
		latest[i].Store(n)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 3000 {
			k := i % len(latest)
			name := fmt.Sprintf("a-%d", k)
			n := zoneNode(name, []string{zoneA, zoneB}[i/len(latest)%2], nvmeType)
			if i%7 == 0 {
				x.remove(name)
			}
			x.update(n)
			latest[k].Store(n)
		}
	}()
	hits := 0
	for {
		select {
		case <-done:
			if hits == 0 {
				t.Error("no look-up was served by a slot")
			}
			return
		default:
		}
		s := &stateData{}
		_, s.slots = x.nvmeCandidates([]string{zoneA}, false)
		for i := range latest {
			n := latest[i].Load()
			if slotFacts(s.slots, n) != nil {
				hits++
			}
			if got, want := pl.factsOf(s, n).Zone, n.Labels[v1.LabelTopologyZone]; got != want {
				t.Fatalf("facts of a node object labelled zone %s say zone %q", want, got)
			}
		}
	}
}
