package soak

import (
	"strings"
	"testing"
	"time"
)

func TestPlanIsAFunctionOfTheSeed(t *testing.T) {
	opts := PlanOptions{Duration: 10 * time.Minute, OpEvery: time.Second, FaultEvery: 25 * time.Second, NodeLoss: true}
	a := NewPlan(7, NewWorkload(7), opts)
	b := NewPlan(7, NewWorkload(7), opts)
	if a.Digest() != b.Digest() {
		t.Errorf("seed 7 gave plans %s and %s", a.Digest(), b.Digest())
	}
	if c := NewPlan(8, NewWorkload(8), opts); c.Digest() == a.Digest() {
		t.Errorf("seeds 7 and 8 gave the same plan %s", a.Digest())
	}
	zones := map[string]int{}
	for _, o := range a.Ops {
		switch o.Kind {
		case OpNodeRemove, OpNodeLost, OpRelabelZone, OpRelabelNVMe, OpRelabelDiskTypes:
			zones[o.Target[:len("cn-beijing-a")]]++
		}
	}
	t.Logf("node steps by zone: %v", zones)
	_ = strings.Contains
}
