package simcloud

import (
	"errors"
	"fmt"
	"regexp"
	"testing"
)

var diskIDPattern = regexp.MustCompile(`^d-[a-z0-9]{20}$`)

func TestDiskIDs(t *testing.T) {
	a, b := newIDSource(7), newIDSource(7)
	seen := map[string]bool{}
	for i := range 100 {
		id := a.next()
		if !diskIDPattern.MatchString(id) {
			t.Fatalf("id %q does not look like an Alibaba Cloud disk ID", id)
		}
		if seen[id] {
			t.Fatalf("id %q handed out twice", id)
		}
		seen[id] = true
		if other := b.next(); other != id {
			t.Fatalf("id %d: same seed gave %q and %q", i, id, other)
		}
	}
	if newIDSource(8).next() == newIDSource(7).next() {
		t.Error("different seeds gave the same first ID")
	}
}

func newTestCloud(limit int) *Cloud {
	o := Options{MaxAttachNodesPerZone: limit}
	o.defaults()
	return &Cloud{opts: o, disks: map[string]*diskState{}}
}

func attachCode(err error) string {
	var ae *AttachError
	if errors.As(err, &ae) {
		return ae.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestAttachMultiAttachLimitPerZone(t *testing.T) {
	c := newTestCloud(16)
	c.createDisk(Disk{ID: "d-shared", Zone: "a", Region: "r", MultiAttach: true})
	for i := range 16 {
		if err := c.attach("d-shared", fmt.Sprintf("node-%d", i), "a", "r", Disk{}); err != nil {
			t.Fatalf("attach %d: %v", i, err)
		}
	}
	// Attaching again to a node that has it is not a new attachment.
	if err := c.attach("d-shared", "node-3", "a", "r", Disk{}); err != nil {
		t.Errorf("re-attach to an attached node: %v", err)
	}
	if code := attachCode(c.attach("d-shared", "node-16", "a", "r", Disk{})); code != CodeMultiAttachLimit {
		t.Errorf("17th attach in the zone: got %q, want %s", code, CodeMultiAttachLimit)
	}
	c.detach("d-shared", "node-0")
	if err := c.attach("d-shared", "node-16", "a", "r", Disk{}); err != nil {
		t.Errorf("attach after a detach freed a place: %v", err)
	}
	if d, _ := c.Disk("d-shared"); len(d.Instances) != 16 {
		t.Errorf("disk attached to %d instances, want 16", len(d.Instances))
	}
}

func TestAttachRules(t *testing.T) {
	for _, tc := range []struct {
		name     string
		disk     Disk
		attached []string // nodes in zone a
		node     string
		zone     string
		region   string
		want     string
	}{
		{name: "same zone", disk: Disk{Zone: "a", Region: "r"}, node: "n1", zone: "a", region: "r"},
		{name: "other zone", disk: Disk{Zone: "a", Region: "r"}, node: "n1", zone: "b", region: "r", want: CodeZoneMismatch},
		{name: "regional disk, other zone", disk: Disk{Region: "r", MultiAttach: true}, attached: []string{"n0"}, node: "n1", zone: "b", region: "r"},
		{name: "regional disk, other region", disk: Disk{Region: "r"}, node: "n1", zone: "b", region: "s", want: CodeZoneMismatch},
		{name: "single-attach disk, second node", disk: Disk{Zone: "a", Region: "r"}, attached: []string{"n0"}, node: "n1", zone: "a", region: "r", want: CodeDiskAttached},
		{name: "node without zone", disk: Disk{Zone: "a", Region: "r"}, node: "n1", region: "r", want: CodeUnknownInstanceZone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCloud(16)
			tc.disk.ID = "d-1"
			c.createDisk(tc.disk)
			for _, n := range tc.attached {
				if err := c.attach("d-1", n, "a", "r", Disk{}); err != nil {
					t.Fatal(err)
				}
			}
			if got := attachCode(c.attach("d-1", tc.node, tc.zone, tc.region, Disk{})); got != tc.want {
				t.Errorf("attach: got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAttachLearnsStaticDisks(t *testing.T) {
	c := newTestCloud(16)
	if err := c.attach("d-static", "n1", "a", "r", Disk{Zone: "a", MultiAttach: false}); err != nil {
		t.Fatal(err)
	}
	d, ok := c.Disk("d-static")
	if !ok || !d.Static || d.Zone != "a" || len(d.Instances) != 1 {
		t.Fatalf("static disk recorded as %+v (found %v)", d, ok)
	}
	if code := attachCode(c.attach("d-static", "n2", "b", "r", Disk{})); code != CodeZoneMismatch {
		t.Errorf("attach to another zone: got %q, want %s", code, CodeZoneMismatch)
	}
	if err := c.deleteDisk("d-static"); err == nil {
		t.Error("deleting an attached disk succeeded")
	}
	c.detach("d-static", "n1")
	if err := c.deleteDisk("d-static"); err != nil {
		t.Errorf("deleting a detached disk: %v", err)
	}
}
