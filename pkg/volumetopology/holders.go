package volumetopology

import (
	"context"
	"fmt"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	fwk "k8s.io/kube-scheduler/framework"
)

// Finding the nodes where a disk is in use.
//
// The scheduler's snapshot knows, per node, how many pods there use each
// claim (NodeInfo.PVCRefCounts, with assumed pods and, in a pod-group
// cycle, the members assumed earlier in it), but not where a claim is used:
// answering that from the snapshot is a pass over every node. The holder
// index answers it in O(the claim's users) from two sources:
//
//   - the pod informer's own index of assigned pods by claim (podByClaimIndex),
//     which the informer updates before any event handler, the scheduler's
//     cache included, hears of the change;
//   - the pods this scheduler assumed and has not seen bound yet
//     (assumedPods), kept by Reserve and Unreserve, which the scheduler calls
//     for every pod it assumes, in a pod-group cycle too, and for every
//     assumed pod it forgets.
//
// The index only proposes nodes: every node it names is read back from the
// snapshot, so the counts are the snapshot's, and a node the index names in
// excess (a pod already deleted, an entry not yet cleaned up) costs one
// lookup. It can miss a node only while an informer has told the index of a
// deletion that the snapshot does not reflect yet (a pod on its way out);
// when that leaves a claim the snapshot says is used with no node found,
// the answer falls back to the pass over every node (scanNodesUsing, also
// the tests' oracle).

// podByClaimIndex indexes assigned pods by the claims ("namespace/name") of
// their persistentVolumeClaim volumes, the volumes the scheduler's claim
// reference counts count.
const podByClaimIndex = "volume-topology.scheduling.io/assignedPodClaims"

func assignedPodClaims(obj interface{}) ([]string, error) {
	pod, ok := obj.(*v1.Pod)
	if !ok || pod.Spec.NodeName == "" {
		return nil, nil
	}
	var keys []string
	for i := range pod.Spec.Volumes {
		if pvc := pod.Spec.Volumes[i].PersistentVolumeClaim; pvc != nil {
			keys = append(keys, pod.Namespace+"/"+pvc.ClaimName)
		}
	}
	return keys, nil
}

// assumedPods are the pods with claim volumes that the scheduler assumed on
// a node and the pod informer has not yet seen bound. One set serves every
// plugin instance (profile) over one pod informer, since the scheduler's
// cache, and so the snapshot, is shared by its profiles.
type assumedPods struct {
	mu sync.RWMutex
	// byUID is each assumed pod's node and claims.
	byUID map[types.UID]assumedPod
	// byClaim maps a claim to its assumed users and their nodes.
	byClaim map[string]map[types.UID]string

	// refs counts the plugin instances using the set; guarded by
	// assumedRegistry's lock.
	refs int
	reg  cache.ResourceEventHandlerRegistration
}

type assumedPod struct {
	node   string
	claims []string
}

func newAssumedPods() *assumedPods {
	return &assumedPods{byUID: map[types.UID]assumedPod{}, byClaim: map[string]map[types.UID]string{}}
}

// add records a pod assumed on a node; a pod without claim volumes is not
// recorded.
func (a *assumedPods) add(pod *v1.Pod, node string) {
	var claims []string
	for i := range pod.Spec.Volumes {
		if pvc := pod.Spec.Volumes[i].PersistentVolumeClaim; pvc != nil {
			claims = append(claims, pod.Namespace+"/"+pvc.ClaimName)
		}
	}
	if len(claims) == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.removeLocked(pod.UID)
	a.byUID[pod.UID] = assumedPod{node: node, claims: claims}
	for _, k := range claims {
		users := a.byClaim[k]
		if users == nil {
			users = map[types.UID]string{}
			a.byClaim[k] = users
		}
		users[pod.UID] = node
	}
}

// remove forgets a pod; it is a no-op for a pod not recorded.
func (a *assumedPods) remove(uid types.UID) {
	a.mu.RLock()
	_, ok := a.byUID[uid]
	a.mu.RUnlock()
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.removeLocked(uid)
}

func (a *assumedPods) removeLocked(uid types.UID) {
	p, ok := a.byUID[uid]
	if !ok {
		return
	}
	delete(a.byUID, uid)
	for _, k := range p.claims {
		delete(a.byClaim[k], uid)
		if len(a.byClaim[k]) == 0 {
			delete(a.byClaim, k)
		}
	}
}

// nodesOf calls visit with the node of each assumed user of the claim.
func (a *assumedPods) nodesOf(claim string, visit func(node string)) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	for _, n := range a.byClaim[claim] {
		visit(n)
	}
}

// len is the number of assumed pods recorded (for tests).
func (a *assumedPods) len() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.byUID)
}

// handler forgets an assumed pod once the informer has it bound (the
// informer's index has it from then on) or deleted.
func (a *assumedPods) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			if pod, ok := obj.(*v1.Pod); ok && pod.Spec.NodeName != "" {
				a.remove(pod.UID)
			}
		},
		UpdateFunc: func(_, obj interface{}) {
			if pod, ok := obj.(*v1.Pod); ok && pod.Spec.NodeName != "" {
				a.remove(pod.UID)
			}
		},
		DeleteFunc: func(obj interface{}) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if pod, ok := obj.(*v1.Pod); ok {
				a.remove(pod.UID)
			}
		},
	}
}

// assumedRegistry holds one assumedPods per pod informer while a plugin
// instance over that informer lives (until its context ends). It is keyed
// by the informer's store: the factory hands out a new typed wrapper of the
// one informer on every call.
var assumedRegistry = struct {
	sync.Mutex
	m map[cache.Indexer]*assumedPods
}{m: map[cache.Indexer]*assumedPods{}}

// assumedPodsFor returns the set of assumed pods shared by the plugin
// instances over the pod informer, creating it (and its event handler) for
// the first one.
func assumedPodsFor(ctx context.Context, inf cache.SharedIndexInformer) (*assumedPods, error) {
	key := inf.GetIndexer()
	assumedRegistry.Lock()
	defer assumedRegistry.Unlock()
	a := assumedRegistry.m[key]
	if a == nil {
		a = newAssumedPods()
		reg, err := inf.AddEventHandler(a.handler())
		if err != nil {
			return nil, fmt.Errorf("watching pods: %w", err)
		}
		a.reg = reg
		assumedRegistry.m[key] = a
	}
	a.refs++
	context.AfterFunc(ctx, func() {
		assumedRegistry.Lock()
		defer assumedRegistry.Unlock()
		if a.refs--; a.refs == 0 {
			delete(assumedRegistry.m, key)
			_ = inf.RemoveEventHandler(a.reg)
		}
	})
	return a, nil
}

// Reserve records a pod assumed on a node, so that the holder index sees it
// before the pod informer does.
func (pl *VolumeTopology) Reserve(_ context.Context, _ fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	if pl.assumed != nil && hasClaimVolume(pod) {
		pl.assumed.add(pod, nodeName)
	}
	return nil
}

// Unreserve forgets a pod the scheduler no longer assumes (a failed Reserve
// or Permit, a failed binding, a pod-group cycle reverting its members). A
// pod the informer already has bound stays in the informer's index, as it
// stays in the scheduler's cache.
func (pl *VolumeTopology) Unreserve(_ context.Context, _ fwk.CycleState, pod *v1.Pod, _ string) {
	if pl.assumed != nil {
		pl.assumed.remove(pod.UID)
	}
}

// nodesUsing returns the snapshot's nodes where pods use any of the claims
// (NodeInfo.PVCRefCounts), from the holder index. all is every node of the
// snapshot, read only when the index falls short (see the top of this file).
func (pl *VolumeTopology) nodesUsing(claims []string, all []fwk.NodeInfo) []fwk.NodeInfo {
	if pl.scanHolders || pl.podIndexer == nil {
		return scanNodesUsing(claims, all)
	}
	lister := pl.handle.SnapshotSharedLister()
	var found []fwk.NodeInfo
	seen := map[string]struct{}{}
	visit := func(name string) {
		if _, ok := seen[name]; ok {
			return
		}
		seen[name] = struct{}{}
		ni, err := lister.NodeInfos().Get(name)
		if err != nil || ni.Node() == nil {
			return
		}
		if usesAny(ni.GetPVCRefCounts(), claims) {
			found = append(found, ni)
		}
	}
	for _, k := range claims {
		objs, err := pl.podIndexer.ByIndex(podByClaimIndex, k)
		if err != nil {
			return scanNodesUsing(claims, all)
		}
		for _, obj := range objs {
			if pod, ok := obj.(*v1.Pod); ok {
				visit(pod.Spec.NodeName)
			}
		}
		if pl.assumed != nil {
			pl.assumed.nodesOf(k, visit)
		}
	}
	// Every claim the snapshot counts as used must have been found on some
	// node; otherwise the index lags the snapshot, and the pass over every
	// node answers as the snapshot does.
	storage := lister.StorageInfos()
	for _, k := range claims {
		if !storage.IsPVCUsedByPods(k) {
			continue
		}
		ok := false
		for _, ni := range found {
			if ni.GetPVCRefCounts()[k] > 0 {
				ok = true
				break
			}
		}
		if !ok {
			return scanNodesUsing(claims, all)
		}
	}
	return found
}

// scanNodesUsing is nodesUsing by a pass over every node: the holder index's
// fallback and its tests' oracle.
func scanNodesUsing(claims []string, all []fwk.NodeInfo) []fwk.NodeInfo {
	var found []fwk.NodeInfo
	for _, ni := range all {
		if ni.Node() != nil && usesAny(ni.GetPVCRefCounts(), claims) {
			found = append(found, ni)
		}
	}
	return found
}

// usesAny tells whether a node's claim reference counts include any of the
// claims.
func usesAny(refs map[string]int, claims []string) bool {
	if len(refs) == 0 {
		return false
	}
	for _, k := range claims {
		if refs[k] > 0 {
			return true
		}
	}
	return false
}
