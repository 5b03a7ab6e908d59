package volumetopology

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

var _ fwk.PostFilterPlugin = &VolumeTopology{}

// PostFilter runs only for a pod no node fits. It explains the nodes that
// PreFilter's candidate list left out: the scheduler never filtered them, so
// it would report them all as "didn't satisfy plugin(s) [VolumeTopology]".
// Each gets the status Filter would have given it (not NVMe-capable, outside
// the disk's zone, ...), so the pod's PodScheduled condition and its
// FailedScheduling event name a rule for every node. Pods that fit pay
// nothing for it. It then records the Warning events an operator can alert
// on. It never nominates a node: preemption is DefaultPreemption's.
func (pl *VolumeTopology) PostFilter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, m fwk.NodeToStatusReader) (*fwk.PostFilterResult, *fwk.Status) {
	s, err := getState(cs)
	if err != nil {
		// PreFilter skipped the pod or stopped it with its own reason.
		return nil, fwk.NewStatus(fwk.Unschedulable)
	}
	logger := klog.FromContext(ctx)
	if s.candidates != nil {
		pl.explainLeftOut(logger, s, m)
	}
	pl.warn(pod, s, m)
	return nil, fwk.NewStatus(fwk.Unschedulable)
}

// explainLeftOut gives every node that was left out of the candidates, and so
// carries the scheduler's status for absent nodes, the status of the rule it
// fails. A node left out by another plugin's PreFilterResult as well keeps
// the scheduler's status when it passes our rules.
func (pl *VolumeTopology) explainLeftOut(logger klog.Logger, s *stateData, m fwk.NodeToStatusReader) {
	statuses, ok := m.(*framework.NodeToStatus)
	if !ok {
		logger.V(2).Info("Cannot explain the nodes PreFilter left out: unexpected node status type", "type", fmt.Sprintf("%T", m))
		return
	}
	nodes, err := pl.handle.SnapshotSharedLister().NodeInfos().List()
	if err != nil {
		logger.V(2).Info("Cannot explain the nodes PreFilter left out", "err", err)
		return
	}
	absent := statuses.AbsentNodesStatus()
	explained := 0
	for _, ni := range nodes {
		node := ni.Node()
		if node == nil || s.candidates.Has(node.Name) || statuses.Get(node.Name) != absent {
			continue
		}
		if st := pl.firstFailure(s, ni); st != nil {
			statuses.Set(node.Name, st.WithPlugin(Name))
			explained++
		}
	}
	logger.V(5).Info("Explained the nodes PreFilter left out", "nodes", explained)
}

// firstFailure returns the status Filter gives the node, nil when it passes.
func (pl *VolumeTopology) firstFailure(s *stateData, ni fwk.NodeInfo) *fwk.Status {
	var failed Verdict
	pl.evaluate(s, ni, func(v Verdict) bool {
		failed = v
		return v.Reason == ""
	})
	return failed.Status()
}

// Warning events, each at most once per warnInterval per pod, disk and zone.
const (
	// EventAttachLimit: a shared disk is attached to maxNodesPerZone nodes of
	// a zone, so no other node of the zone can take the pod.
	EventAttachLimit = "SharedDiskAttachLimit"
	// EventHolderOnly: nodes that pass every other rule of the plugin run a
	// pod using the same shared disk already (one NVMe reservation holder
	// per node).
	EventHolderOnly = "SharedDiskHolder"

	warnInterval = 10 * time.Minute
)

// eventRecorder is what the framework's event recorder offers in every
// Kubernetes minor we build for.
type eventRecorder interface {
	Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...interface{})
}

// warn records the Warning events that explain a pending shared-disk pod in
// the terms an operator alerts on: the disk at its attach limit in a zone, or
// nodes kept off only by the holder rule (the first rule of the plugin they
// fail, the attach limit passing on a holder's node). It reads the statuses
// the scheduler recorded, ours included.
func (pl *VolumeTopology) warn(pod *v1.Pod, s *stateData, m fwk.NodeToStatusReader) {
	if len(s.disks) == 0 || pl.events == nil {
		return
	}
	nodes, err := pl.handle.SnapshotSharedLister().NodeInfos().List()
	if err != nil {
		return
	}
	type key struct{ disk, zone string }
	full := map[key]int{}
	held := map[key]int{}
	// The attach-limit reason of a disk up to its count, which varies.
	limitFormat, _, _ := strings.Cut(ErrReasonAttachLimit, "%d")
	holderMsg := make([]string, len(s.disks))
	limitPrefix := make([]string, len(s.disks))
	for i, d := range s.disks {
		holderMsg[i] = fmt.Sprintf(ErrReasonHolder, d.name)
		limitPrefix[i] = fmt.Sprintf(limitFormat, d.name)
	}
	for _, ni := range nodes {
		node := ni.Node()
		if node == nil {
			continue
		}
		st := m.Get(node.Name)
		if st == nil || st.Plugin() != Name {
			continue
		}
		msg := st.Message()
		for i, d := range s.disks {
			switch {
			case msg == holderMsg[i]:
				held[key{d.name, pl.nodes.get(node).Zone}]++
			case strings.HasPrefix(msg, limitPrefix[i]):
				zone := pl.nodes.get(node).Zone
				full[key{d.name, zone}] = d.attachedIn(zone)
			}
		}
	}
	limit := int(pl.args.MaxNodesPerZone)
	for k, n := range full {
		if pl.warned.first(pod.UID, EventAttachLimit, k.disk, k.zone) {
			pl.events.Eventf(pod, nil, v1.EventTypeWarning, EventAttachLimit, "Scheduling",
				"Shared disk %s is attached to %d nodes in zone %s, the limit (%d): no other node of the zone can take the pod until the disk detaches from one",
				k.disk, n, zoneName(k.zone), limit)
		}
	}
	for k, n := range held {
		if pl.warned.first(pod.UID, EventHolderOnly, k.disk, k.zone) {
			pl.events.Eventf(pod, nil, v1.EventTypeWarning, EventHolderOnly, "Scheduling",
				"%d node(s) in zone %s would take the pod but already run a pod using shared disk %s (one NVMe reservation holder per node)",
				n, zoneName(k.zone), k.disk)
		}
	}
}

// warnings remembers which warnings were recorded when, so a pod retried
// every few seconds does not repeat them.
type warnings struct {
	mu   sync.Mutex
	last map[string]time.Time
	now  func() time.Time
}

func newWarnings() *warnings { return &warnings{last: map[string]time.Time{}, now: time.Now} }

// first tells whether a warning is due, and if so notes it. Entries older
// than warnInterval are dropped once the table has grown, so it stays small.
func (w *warnings) first(pod types.UID, reason, disk, zone string) bool {
	k := string(pod) + "\x00" + reason + "\x00" + disk + "\x00" + zone
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	if t, ok := w.last[k]; ok && now.Sub(t) < warnInterval {
		return false
	}
	if len(w.last) >= 1024 {
		for k, t := range w.last {
			if now.Sub(t) >= warnInterval {
				delete(w.last, k)
			}
		}
	}
	w.last[k] = now
	return true
}
