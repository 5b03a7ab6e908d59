package volumetopology

import (
	"fmt"
	"reflect"
	"testing"

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
