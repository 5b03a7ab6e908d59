package volumetopology

import (
	"context"
	"flag"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8scache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

var (
	holderSeed  = flag.Int64("holders.seed", 1, "first seed of TestHolderIndexMatchesScan")
	holderSeeds = flag.Int("holders.seeds", 12, "how many seeds TestHolderIndexMatchesScan runs, from -holders.seed")
	holderSteps = flag.Int("holders.steps", 150, "churn steps per seed of TestHolderIndexMatchesScan")
)

// TestHolderIndexMatchesScan drives random churn through the pod informer,
// the scheduler's own cache and snapshot, and the plugin's Reserve and
// Unreserve, the way the scheduler drives them: pods bound, assumed then
// bound, assumed then forgotten (a failed binding), assumed into the
// snapshot as members of a pod group and then committed or reverted,
// starting to terminate, deleted, and VolumeAttachments coming and going.
// After every step, for a pod of every disk, PreFilter's whole answer from
// the holder index must equal the answer of the pass over every node (the
// oracle), and the index must have found every node itself (no fallback).
func TestHolderIndexMatchesScan(t *testing.T) {
	for seed := *holderSeed; seed < *holderSeed+int64(*holderSeeds); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			h := newHolderHarness(t, seed)
			for step := 0; step < *holderSteps; step++ {
				what := h.step()
				h.check(fmt.Sprintf("step %d (%s)", step, what))
				if t.Failed() {
					t.Fatalf("seed %d: stopped at step %d; rerun with -holders.seed=%d -holders.seeds=1", seed, step, seed)
				}
			}
		})
	}
}

// The world: two shared disks (d-s1 reached through two static volumes and
// claims), two single-attach disks, nine nodes in three zones.
var (
	holderClaims = []string{"s1", "s1b", "s2", "r1", "r2"}
	holderPVs    = []string{"pv-s1", "pv-s1b", "pv-s2", "pv-r1", "pv-r2"}
)

type holderHarness struct {
	t      *testing.T
	ctx    context.Context
	logger klog.Logger
	rnd    *rand.Rand
	client *fake.Clientset
	pl     *VolumeTopology
	cache  cache.Cache
	snap   *cache.Snapshot
	nodes  []string

	next     int
	bound    map[types.UID]*v1.Pod // bound pods, as the API has them
	pending  map[types.UID]*v1.Pod // pods without a node
	assumed  map[types.UID]*v1.Pod // pending pods assumed in the cache
	vas      map[string]bool       // VolumeAttachment names present
	group    []*v1.Pod             // members assumed into the snapshot
	inGroup  bool                  // the snapshot holds group members: do not refresh it
	probeFor map[string]*v1.Pod    // claim -> a pending pod that uses it
}

func newHolderHarness(t *testing.T, seed int64) *holderHarness {
	logger, ctx := ktesting.NewTestContext(t)
	h := &holderHarness{
		t: t, ctx: ctx, logger: logger, rnd: rand.New(rand.NewSource(seed)),
		bound: map[types.UID]*v1.Pod{}, pending: map[types.UID]*v1.Pod{}, assumed: map[types.UID]*v1.Pod{},
		vas: map[string]bool{}, probeFor: map[string]*v1.Pod{},
	}
	nodes := []*v1.Node{
		zoneNode("a1", zoneA, nvmeType), zoneNode("a2", zoneA, nvmeType), zoneNode("a3", zoneA, plainType),
		zoneNode("b1", zoneB, nvmeType), zoneNode("b2", zoneB, nvmeType), zoneNode("b3", zoneB, plainType),
		zoneNode("c1", zoneC, nvmeType), zoneNode("c2", zoneC, plainType), makeNode("x1"),
	}
	objs := []runtime.Object{
		wffcClass("essd", map[string]string{"type": "cloud_essd"}),
		wffcClass("shared", map[string]string{"type": "cloud_essd", "multiAttach": "true"}),
		boundTo(sharedClaim("s1", "shared"), "pv-s1"),
		diskPV("pv-s1", "d-s1", "s1", true, disk.LabelDriverZone, zoneA),
		boundTo(sharedClaim("s1b", ""), "pv-s1b"),
		diskPV("pv-s1b", "d-s1", "s1b", true, disk.LabelDriverZone, zoneA),
		boundTo(sharedClaim("s2", "shared"), "pv-s2"),
		diskPV("pv-s2", "d-s2", "s2", true, "", ""),
		boundTo(makeClaim("r1", "essd", v1.ReadWriteOnce), "pv-r1"),
		diskPV("pv-r1", "d-r1", "r1", false, disk.LabelDriverZone, zoneA),
		boundTo(makeClaim("r2", "essd", v1.ReadWriteOnce), "pv-r2"),
		diskPV("pv-r2", "d-r2", "r2", false, "", ""),
	}
	for _, n := range nodes {
		objs = append(objs, n)
		h.nodes = append(h.nodes, n.Name)
	}
	h.client = fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(h.client, 0)
	h.snap = cache.NewEmptySnapshot()
	fh, err := frameworkruntime.NewFramework(ctx, nil, nil,
		frameworkruntime.WithSnapshotSharedLister(h.snap), frameworkruntime.WithInformerFactory(factory))
	if err != nil {
		t.Fatal(err)
	}
	// A limit of two nodes per zone, so that churn fills zones and empties
	// them again.
	args := DefaultArgs()
	args.MaxNodesPerZone = 2
	p, err := New(ctx, args, fh)
	if err != nil {
		t.Fatal(err)
	}
	h.pl = p.(*VolumeTopology)
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	if !k8scache.WaitForCacheSync(ctx.Done(), h.pl.nodesSynced) {
		t.Fatal("node index did not sync")
	}
	h.cache = newSchedulerCache(ctx)
	for _, n := range nodes {
		informed, err := factory.Core().V1().Nodes().Lister().Get(n.Name)
		if err != nil {
			t.Fatal(err)
		}
		h.cache.AddNode(logger, informed)
	}
	for _, c := range holderClaims {
		h.probeFor[c] = makePod("probe-"+c, "", c)
	}
	h.refresh()
	return h
}

func (h *holderHarness) newPod() *v1.Pod {
	h.next++
	// One or two claims, sometimes the same claim twice (the claim
	// reference counts count volumes).
	claims := []string{holderClaims[h.rnd.Intn(len(holderClaims))]}
	switch h.rnd.Intn(6) {
	case 0:
		claims = append(claims, holderClaims[h.rnd.Intn(len(holderClaims))])
	case 1:
		claims = append(claims, claims[0])
	}
	return makePod(fmt.Sprintf("p%d", h.next), "", claims...)
}

func (h *holderHarness) node() string { return h.nodes[h.rnd.Intn(len(h.nodes))] }

func pick[T any](rnd *rand.Rand, m map[types.UID]T) (T, bool) {
	var zero T
	if len(m) == 0 {
		return zero, false
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, string(k))
	}
	slices.Sort(keys)
	return m[types.UID(keys[rnd.Intn(len(keys))])], true
}

// step applies one random change and says what it was.
func (h *holderHarness) step() string {
	if h.inGroup {
		return h.groupStep()
	}
	switch h.rnd.Intn(10) {
	case 0, 1: // a pod bound by someone (another scheduler, a restart)
		p := h.newPod()
		p.Spec.NodeName = h.node()
		h.create(p)
		h.must(h.cache.AddPod(h.logger, p))
		h.bound[p.UID] = p
		return "bind " + p.Name + " on " + p.Spec.NodeName
	case 2: // a new pending pod
		p := h.newPod()
		h.create(p)
		h.pending[p.UID] = p
		return "create pending " + p.Name
	case 3: // assume a pending pod
		p, ok := pick(h.rnd, h.pending)
		if !ok || h.assumed[p.UID] != nil {
			return "nothing to assume"
		}
		a := p.DeepCopy()
		a.Spec.NodeName = h.node()
		h.must(h.cache.AssumePod(h.logger, a))
		h.reserve(a)
		h.assumed[a.UID] = a
		return "assume " + a.Name + " on " + a.Spec.NodeName
	case 4: // an assumed pod's binding succeeds
		a, ok := pick(h.rnd, h.assumed)
		if !ok {
			return "nothing to bind"
		}
		h.update(a)
		h.must(h.cache.AddPod(h.logger, a))
		delete(h.assumed, a.UID)
		delete(h.pending, a.UID)
		h.bound[a.UID] = a
		return "binding of " + a.Name + " succeeded"
	case 5: // an assumed pod's binding fails
		a, ok := pick(h.rnd, h.assumed)
		if !ok {
			return "nothing to forget"
		}
		h.pl.Unreserve(h.ctx, framework.NewCycleState(), a, a.Spec.NodeName)
		h.must(h.cache.ForgetPod(h.logger, a))
		delete(h.assumed, a.UID)
		return "binding of " + a.Name + " failed"
	case 6: // a bound pod is deleted
		p, ok := pick(h.rnd, h.bound)
		if !ok {
			return "nothing to delete"
		}
		h.must(h.client.CoreV1().Pods(ns).Delete(h.ctx, p.Name, metav1.DeleteOptions{}))
		h.waitPod(p.Name, func(got *v1.Pod) bool { return got == nil })
		h.must(h.cache.RemovePod(h.logger, p))
		delete(h.bound, p.UID)
		return "delete " + p.Name
	case 7: // a bound pod starts terminating
		p, ok := pick(h.rnd, h.bound)
		if !ok || p.DeletionTimestamp != nil {
			return "nothing to terminate"
		}
		old := p
		p = terminating(p)
		h.update(p)
		h.must(h.cache.UpdatePod(h.logger, old, p))
		h.bound[p.UID] = p
		return "terminate " + p.Name
	case 8: // a VolumeAttachment comes or goes
		va := volumeAttachment(holderPVs[h.rnd.Intn(len(holderPVs))], h.node())
		if h.vas[va.Name] {
			h.must(h.client.StorageV1().VolumeAttachments().Delete(h.ctx, va.Name, metav1.DeleteOptions{}))
			delete(h.vas, va.Name)
		} else {
			_, err := h.client.StorageV1().VolumeAttachments().Create(h.ctx, va, metav1.CreateOptions{})
			h.must(err)
			h.vas[va.Name] = true
		}
		h.waitFor(func() bool {
			_, exists, _ := h.pl.vaIndexer.GetByKey(va.Name)
			return exists == h.vas[va.Name]
		})
		return "toggle " + va.Name
	default: // a pod-group cycle starts
		if !podGroups {
			return "no pod groups in this minor"
		}
		h.inGroup = true
		return "pod group starts"
	}
}

// groupStep assumes one more member into the snapshot, or ends the cycle
// by committing the members to the cache or reverting them.
func (h *holderHarness) groupStep() string {
	switch r := h.rnd.Intn(4); {
	case r < 2 && len(h.group) < 4:
		p := h.newPod()
		h.create(p)
		h.pending[p.UID] = p
		a := p.DeepCopy()
		a.Spec.NodeName = h.node()
		assumeInSnapshot(h.t, h.logger, h.cache, h.snap, a)
		h.reserve(a)
		h.group = append(h.group, a)
		return "group member " + a.Name + " on " + a.Spec.NodeName
	case r == 2:
		// The snapshot forgets the members (last assumed first) before it
		// syncs with the cache, which now assumes them.
		for i := len(h.group) - 1; i >= 0; i-- {
			forgetInSnapshot(h.t, h.logger, h.cache, h.snap, h.group[i])
		}
		for _, a := range h.group {
			h.must(h.cache.AssumePod(h.logger, a))
			h.assumed[a.UID] = a
		}
		h.group, h.inGroup = nil, false
		return "group committed"
	default:
		for i := len(h.group) - 1; i >= 0; i-- {
			a := h.group[i]
			h.pl.Unreserve(h.ctx, framework.NewCycleState(), a, a.Spec.NodeName)
			forgetInSnapshot(h.t, h.logger, h.cache, h.snap, a)
		}
		h.group, h.inGroup = nil, false
		return "group reverted"
	}
}

func (h *holderHarness) reserve(p *v1.Pod) {
	if st := h.pl.Reserve(h.ctx, framework.NewCycleState(), p, p.Spec.NodeName); !st.IsSuccess() {
		h.t.Fatal(st)
	}
}

func (h *holderHarness) create(p *v1.Pod) {
	_, err := h.client.CoreV1().Pods(ns).Create(h.ctx, p, metav1.CreateOptions{})
	h.must(err)
	h.waitPod(p.Name, func(got *v1.Pod) bool { return got != nil && got.Spec.NodeName == p.Spec.NodeName })
}

func (h *holderHarness) update(p *v1.Pod) {
	_, err := h.client.CoreV1().Pods(ns).Update(h.ctx, p, metav1.UpdateOptions{})
	h.must(err)
	h.waitPod(p.Name, func(got *v1.Pod) bool {
		return got != nil && got.Spec.NodeName == p.Spec.NodeName && (got.DeletionTimestamp != nil) == (p.DeletionTimestamp != nil)
	})
}

// waitPod waits until the pod informer's store shows the pod as wanted.
func (h *holderHarness) waitPod(name string, ok func(*v1.Pod) bool) {
	h.waitFor(func() bool {
		obj, exists, _ := h.pl.podIndexer.GetByKey(ns + "/" + name)
		if !exists {
			return ok(nil)
		}
		return ok(obj.(*v1.Pod))
	})
}

func (h *holderHarness) waitFor(cond func() bool) {
	h.t.Helper()
	if err := wait.PollUntilContextTimeout(h.ctx, time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		h.t.Fatal("informer did not catch up")
	}
}

func (h *holderHarness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// refresh updates the snapshot from the cache, as every cycle starts.
func (h *holderHarness) refresh() {
	h.must(h.cache.UpdateSnapshot(h.logger, h.snap))
}

// check compares the index with the oracle for a pod of every claim.
func (h *holderHarness) check(after string) {
	h.t.Helper()
	if !h.inGroup {
		h.refresh()
	}
	all, err := h.snap.NodeInfos().List()
	h.must(err)
	for _, c := range holderClaims {
		keys := []string{c}
		if got, want := nodeNames(h.pl.nodesUsing(keys, nil)), nodeNames(scanNodesUsing(keys, all)); !slices.Equal(got, want) {
			h.t.Errorf("after %s: nodes using %s: index found %v, the pass over every node %v", after, c, got, want)
		}
		probe := h.probeFor[c]
		got := h.preFilter(probe, all, false)
		want := h.preFilter(probe, all, true)
		if !reflect.DeepEqual(got, want) {
			h.t.Errorf("after %s: PreFilter for a pod of %s differs:\nindex: %s\nscan:  %s", after, c, got, want)
		}
	}
}

// preFilterAnswer is everything PreFilter computes that depends on where
// the disks are used.
type preFilterAnswer struct {
	status     string
	candidates []string
	zoneScore  map[string]int64
	disks      []string
	inUse      []string
	attached   map[string]int64
}

func (a preFilterAnswer) String() string { return fmt.Sprintf("%+v", struct{ A any }{a}) }

func (h *holderHarness) preFilter(pod *v1.Pod, all []fwk.NodeInfo, scan bool) preFilterAnswer {
	h.pl.scanHolders = scan
	defer func() { h.pl.scanHolders = false }()
	cs := framework.NewCycleState()
	res, st := h.pl.PreFilter(h.ctx, cs, pod, all)
	a := preFilterAnswer{status: st.Message() + "/" + st.Code().String()}
	if res != nil {
		a.candidates = sortedKeys(res.NodeNames)
	}
	s, err := getState(cs)
	if err != nil {
		return a
	}
	a.zoneScore, a.attached = s.zoneScore, s.attached
	for _, d := range s.disks {
		a.disks = append(a.disks, fmt.Sprintf("%s zones=%v users=%v anyZone=%d", d.key, d.zoneCount, d.users, d.anyZone))
	}
	for _, d := range s.inUse {
		a.inUse = append(a.inUse, fmt.Sprintf("%s nodes=%v reason=%q", d.name, d.nodes, d.reason))
	}
	return a
}

func nodeNames(nis []fwk.NodeInfo) []string {
	var names []string
	for _, ni := range nis {
		names = append(names, ni.Node().Name)
	}
	slices.Sort(names)
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestHolderIndexSharedAcrossProfiles: a pod assumed by one profile's
// plugin instance is seen by another's over the same informers, as the
// scheduler's cache is shared; the set goes when the last instance does.
func TestHolderIndexSharedAcrossProfiles(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	factory := informers.NewSharedInformerFactory(fake.NewClientset(), 0)
	snap := cache.NewEmptySnapshot()
	newInstance := func(ctx context.Context) *VolumeTopology {
		fh, err := frameworkruntime.NewFramework(ctx, nil, nil,
			frameworkruntime.WithSnapshotSharedLister(snap), frameworkruntime.WithInformerFactory(factory))
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(ctx, nil, fh)
		if err != nil {
			t.Fatal(err)
		}
		return p.(*VolumeTopology)
	}
	ctx1, cancel1 := context.WithCancel(ctx)
	ctx2, cancel2 := context.WithCancel(ctx)
	one, two := newInstance(ctx1), newInstance(ctx2)
	if one.assumed != two.assumed {
		t.Fatal("two profiles over one pod informer keep separate sets of assumed pods")
	}
	one.Reserve(ctx, framework.NewCycleState(), makePod("p", "a1", "s1"), "a1")
	var seen []string
	two.assumed.nodesOf(ns+"/s1", func(n string) { seen = append(seen, n) })
	if !slices.Equal(seen, []string{"a1"}) {
		t.Errorf("the other profile sees the assumed pod on %v, want [a1]", seen)
	}
	two.Unreserve(ctx, framework.NewCycleState(), makePod("p", "a1", "s1"), "a1")
	if n := one.assumed.len(); n != 0 {
		t.Errorf("after Unreserve through the other profile, %d assumed pods remain", n)
	}
	key := factory.Core().V1().Pods().Informer().GetIndexer()
	cancel1()
	cancel2()
	if err := wait.PollUntilContextTimeout(ctx, time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		assumedRegistry.Lock()
		defer assumedRegistry.Unlock()
		_, ok := assumedRegistry.m[key]
		return !ok, nil
	}); err != nil {
		t.Error("the set of assumed pods outlived every plugin instance")
	}
}

// TestHolderIndexFallsBack: while the informer has dropped a pod the
// snapshot still counts (the index ahead of the scheduler's cache), the
// answer is the snapshot's, through the pass over every node.
func TestHolderIndexFallsBack(t *testing.T) {
	c := singleAttachCluster()
	user := makePod("user", "a2", "data")
	c.pods = []*v1.Pod{user}
	pl, snap := c.setup(t, nil)
	all, err := snap.NodeInfos().List()
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{ns + "/data"}
	if got := nodeNames(pl.nodesUsing(keys, nil)); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("from the index: %v, want [a2]", got)
	}
	if err := pl.podIndexer.Delete(user); err != nil {
		t.Fatal(err)
	}
	if got := nodeNames(pl.nodesUsing(keys, nil)); len(got) != 0 {
		t.Fatalf("without the pass over every node: %v, want none (the index no longer has the pod)", got)
	}
	if got := nodeNames(pl.nodesUsing(keys, all)); !slices.Equal(got, []string{"a2"}) {
		t.Errorf("with the informer behind the snapshot: %v, want [a2] (the snapshot's answer)", got)
	}
}
