// Package explain answers "why is this pod Pending, and where could it go?"
// for pods that use cloud block disks. It loads a cluster's state (read by
// the audit, package audit) into the VolumeTopology plugin itself, built as
// the scheduler builds it but on a snapshot of that state, and asks it for
// every rule's verdict on every node (volumetopology.Explain). The scheduler
// and this command run the same rule code, so they cannot disagree.
//
// Pods that do not exist yet can be explained too (what-if): the pods of a
// Pod, StatefulSet, Deployment or ReplicaSet manifest at a given replica
// count, placed one after the other as the scheduler would place them.
package explain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// Report explains one pod.
type Report struct {
	// Pod is "namespace/name".
	Pod string `json:"pod"`
	// Configuration is the scheduler configuration and profile the rules
	// were evaluated with (Profile.Describe).
	Configuration string `json:"configuration,omitempty"`
	// Notes say what the reader should know about the answer (the pod names
	// another scheduler).
	Notes []string `json:"notes,omitempty"`
	// SchedulerMessage is the message of the pod's PodScheduled condition,
	// what the scheduler said about its last attempt; empty when it said
	// nothing (a what-if pod, a pod not tried yet, a scheduled pod).
	SchedulerMessage string `json:"schedulerMessage,omitempty"`
	// Node is where the pod runs, or, for a what-if replica, where the rules
	// would let it go ("" when it would stay Pending or the pod is pending).
	Node string `json:"node,omitempty"`
	// NotOurs is true when the pod has none of the plugin's claims.
	NotOurs bool `json:"notOurs,omitempty"`
	// Rejected is why PreFilter stops the pod on every node (a missing
	// claim, class or volume; a malformed class parameter).
	Rejected string `json:"rejected,omitempty"`
	// Claims are the pod's claims of the plugin's drivers.
	Claims []Claim `json:"claims,omitempty"`
	// Disks are its shared disks with their attach counts per zone.
	Disks []Disk `json:"sharedDisks,omitempty"`
	// Attachments are where the pod's disks are attached, attaching or
	// detaching, from their VolumeAttachments.
	Attachments []Attachment `json:"attachments,omitempty"`
	// InUse are the pod's single-attach disks other pods use, by node.
	InUse []InUse `json:"inUse,omitempty"`
	// Locality is DiskLocality's score of the nodes a disk of the pod is
	// attached to.
	Locality map[string]int64 `json:"diskLocality,omitempty"`
	// Nodes are the verdicts on every node.
	Nodes []Node `json:"nodes,omitempty"`
	// Fits are the nodes that pass every rule.
	Fits []string `json:"fits"`
	// Reasons group the nodes that do not fit by the reason the scheduler
	// gives (its first failing rule), as kube-scheduler's message does.
	Reasons []ReasonCount `json:"reasons,omitempty"`
	// Changes say what would let the pod fit where it does not now.
	Changes []string `json:"changes,omitempty"`
}

// Claim is one claim of the pod that is the plugin's.
type Claim struct {
	Name   string `json:"name"`
	Volume string `json:"volume,omitempty"`
	Disk   string `json:"disk"`
	Class  string `json:"storageClass,omitempty"`
	Shared bool   `json:"shared"`
	// SelectedNode is the node an unbound claim is being provisioned for.
	SelectedNode string `json:"selectedNode,omitempty"`
}

// Disk is one shared disk of the pod.
type Disk struct {
	Name string `json:"name"`
	// Attached counts, per zone, the nodes it is attached to or about to be.
	Attached map[string]int `json:"attachedByZone"`
	// AnyZone counts VolumeAttachments on nodes that are gone, in every zone.
	AnyZone int `json:"attachedInAnyZone,omitempty"`
	Limit   int `json:"limit"`
}

// Attachment is one VolumeAttachment of a disk of the pod.
type Attachment struct {
	Disk string `json:"disk"`
	Node string `json:"node"`
	// State is attached, attaching or detaching.
	State string `json:"state"`
	// NodeState is Ready, NotReady or gone.
	NodeState string `json:"nodeState"`
}

// InUse is a single-attach disk of the pod that other pods use.
type InUse struct {
	Disk string `json:"disk"`
	// Users maps each node to a pod ("namespace/name") using the disk there.
	Users map[string]string `json:"users"`
}

// Node is every rule's verdict on one node.
type Node struct {
	Name      string   `json:"name"`
	Zone      string   `json:"zone"`
	NVMe      bool     `json:"nvme"`
	NVMeWhy   string   `json:"nvmeWhy"`
	DiskTypes []string `json:"diskTypes,omitempty"`
	// Candidate is false when PreFilter left the node out of the nodes the
	// scheduler evaluates (it fails the zone or the NVMe rule).
	Candidate bool      `json:"candidate"`
	Verdicts  []Verdict `json:"verdicts"`
	Fits      bool      `json:"fits"`
}

// Verdict is one rule's decision on a node.
type Verdict struct {
	Rule   string `json:"rule"`
	Claim  string `json:"claim,omitempty"`
	Disk   string `json:"disk,omitempty"`
	Pass   bool   `json:"pass"`
	Reason string `json:"reason,omitempty"`
}

// ReasonCount is a reason and how many nodes it rejects.
type ReasonCount struct {
	Reason string `json:"reason"`
	Nodes  int    `json:"nodes"`
}

// Explainer holds a cluster's state loaded into the plugin.
type Explainer struct {
	args   *config.VolumeTopologyArgs
	client *fake.Clientset
	plugin *volumetopology.VolumeTopology
	// snapshot is the scheduler's view of the nodes and their pods; the
	// what-if placement replaces it as it places replicas.
	snapshot *swappableSnapshot
	nodes    []*v1.Node
	pods     []*v1.Pod
	cancel   context.CancelFunc
}

// swappableSnapshot lets the plugin's handle see a new snapshot after a
// what-if placement: the plugin reads its snapshot through the handle.
type swappableSnapshot struct{ *cache.Snapshot }

// New loads a cluster's state, plus extra objects that do not exist in it
// (the claims and classes of a what-if manifest), into the plugin. Close it
// when done.
func New(ctx context.Context, state *audit.State, args *config.VolumeTopologyArgs, extra ...runtime.Object) (*Explainer, error) {
	var objs []runtime.Object
	x := &Explainer{args: args}
	for i := range state.Nodes {
		objs = append(objs, &state.Nodes[i])
		x.nodes = append(x.nodes, &state.Nodes[i])
	}
	for i := range state.Pods {
		p := &state.Pods[i]
		objs = append(objs, p)
		if p.Spec.NodeName != "" && p.Status.Phase != v1.PodSucceeded && p.Status.Phase != v1.PodFailed {
			x.pods = append(x.pods, p)
		}
	}
	for i := range state.Claims {
		objs = append(objs, &state.Claims[i])
	}
	for i := range state.Volumes {
		objs = append(objs, &state.Volumes[i])
	}
	for i := range state.Classes {
		objs = append(objs, &state.Classes[i])
	}
	for i := range state.VolumeAttachments {
		objs = append(objs, &state.VolumeAttachments[i])
	}
	objs = append(objs, extra...)
	x.client = fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(x.client, 0)
	x.snapshot = &swappableSnapshot{cache.NewSnapshot(x.pods, x.nodes)}

	ctx, x.cancel = context.WithCancel(ctx)
	handle, err := frameworkruntime.NewFramework(ctx, nil, nil,
		frameworkruntime.WithInformerFactory(factory),
		frameworkruntime.WithSnapshotSharedLister(x.snapshot))
	if err != nil {
		x.cancel()
		return nil, fmt.Errorf("building the scheduler framework: %w", err)
	}
	pl, err := volumetopology.New(ctx, args, handle)
	if err != nil {
		x.cancel()
		return nil, err
	}
	x.plugin = pl.(*volumetopology.VolumeTopology)
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			x.cancel()
			return nil, fmt.Errorf("loading %v", typ)
		}
	}
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return x.plugin.HasSynced(), nil
	}); err != nil {
		x.cancel()
		return nil, fmt.Errorf("loading the nodes: %w", err)
	}
	return x, nil
}

// Close stops the informers.
func (x *Explainer) Close() { x.cancel() }

// Pod explains a pod where the cluster stands now. The pod must not be part
// of the explainer's state (see ExplainPod for a pod of the cluster).
func (x *Explainer) Pod(ctx context.Context, pod *v1.Pod) (*Report, error) {
	nodes, err := x.snapshot.NodeInfos().List()
	if err != nil {
		return nil, err
	}
	r, err := x.report(pod, x.plugin.Explain(ctx, pod, nodes))
	if err != nil {
		return nil, err
	}
	r.SchedulerMessage = schedulerMessage(pod)
	return r, nil
}

// ExplainPod explains a pod of the cluster's state with the plugin args: the
// state without the pod itself, so that the pod never counts against itself
// (as a holder of its disk, an attached node, a user of its disk).
func ExplainPod(ctx context.Context, state *audit.State, args *config.VolumeTopologyArgs, pod *v1.Pod) (*Report, error) {
	x, err := New(ctx, WithoutPod(state, pod), args)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	return x.Pod(ctx, pod)
}

// schedulerMessage is the message of the pod's PodScheduled condition when
// the scheduler could not place it.
func schedulerMessage(pod *v1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse {
			return c.Message
		}
	}
	return ""
}

// report turns the plugin's explanation into a report.
func (x *Explainer) report(pod *v1.Pod, e *volumetopology.Explanation) (*Report, error) {
	var err error
	r := &Report{Pod: pod.Namespace + "/" + pod.Name, Node: pod.Spec.NodeName, Fits: []string{}}
	switch {
	case e.Skipped:
		r.NotOurs = true
		return r, nil
	case e.Rejected != nil:
		r.Rejected = e.Rejected.Message()
		return r, nil
	}
	if r.Claims, err = x.claims(pod); err != nil {
		return nil, err
	}
	for _, d := range e.Disks {
		r.Disks = append(r.Disks, Disk{Name: d.Name, Attached: d.AttachedInZone, AnyZone: d.AnyZone, Limit: d.Limit})
	}
	for _, a := range e.Attachments {
		r.Attachments = append(r.Attachments, Attachment{Disk: a.Disk, Node: a.Node, State: a.State, NodeState: a.NodeState})
	}
	for _, u := range e.InUse {
		r.InUse = append(r.InUse, InUse{Disk: u.Disk, Users: u.Users})
	}
	r.Locality = e.Locality
	reasons := map[string]int{}
	slices.SortFunc(e.Nodes, func(a, b volumetopology.NodeExplanation) int { return cmp.Compare(a.Node, b.Node) })
	for _, n := range e.Nodes {
		node := Node{
			Name: n.Node, Zone: n.Facts.Zone, NVMe: n.Facts.NVMe, NVMeWhy: n.Facts.NVMeWhy,
			DiskTypes: n.Facts.DiskTypes.Names(),
			Candidate: e.Candidates == nil || e.Candidates.Has(n.Node),
			Fits:      n.Fits(),
		}
		for _, v := range n.Verdicts {
			node.Verdicts = append(node.Verdicts, Verdict{Rule: v.Rule, Claim: v.Claim, Disk: v.Disk, Pass: v.Reason == "", Reason: v.Reason})
		}
		r.Nodes = append(r.Nodes, node)
		if node.Fits {
			r.Fits = append(r.Fits, n.Node)
		} else {
			reasons[n.FirstFailure().Reason]++
		}
	}
	for _, reason := range slices.Sorted(maps.Keys(reasons)) {
		r.Reasons = append(r.Reasons, ReasonCount{Reason: reason, Nodes: reasons[reason]})
	}
	if len(r.Fits) == 0 || pod.Spec.NodeName == "" {
		r.Changes = changes(r, x.args)
	}
	return r, nil
}

// claims describes the pod's claims that are the plugin's.
func (x *Explainer) claims(pod *v1.Pod) ([]Claim, error) {
	claims, err := x.plugin.PodClaims(pod)
	if err != nil {
		return nil, err
	}
	var out []Claim
	for _, c := range claims {
		cl := Claim{Name: c.Key, Disk: c.DiskName(), Shared: c.MultiAttach, SelectedNode: c.SelectedNode}
		if c.PV != nil {
			cl.Volume = c.PV.Name
		}
		if c.Class != nil {
			cl.Class = c.Class.Name
		}
		out = append(out, cl)
	}
	return out, nil
}

// changes says what would let the pod fit, from the nodes that fail one
// rule only.
func changes(r *Report, args *config.VolumeTopologyArgs) []string {
	onlyFailing := func(n Node) []Verdict {
		var out []Verdict
		for _, v := range n.Verdicts {
			if !v.Pass {
				out = append(out, v)
			}
		}
		return out
	}
	detach := map[string][]string{} // "disk\x00zone" -> nodes
	holders := map[string][]string{}
	nvme := []string{}
	for _, n := range r.Nodes {
		failing := onlyFailing(n)
		if len(failing) != 1 {
			continue
		}
		switch v := failing[0]; v.Rule {
		case volumetopology.RuleAttachLimit:
			k := v.Disk + "\x00" + n.Zone
			detach[k] = append(detach[k], n.Name)
		case volumetopology.RuleHolder:
			holders[v.Disk] = append(holders[v.Disk], n.Name)
		case volumetopology.RuleNVMe:
			nvme = append(nvme, n.Name)
		}
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(detach)) {
		d, zone, _ := strings.Cut(k, "\x00")
		out = append(out, fmt.Sprintf("shared disk %s detaching from one of the %d nodes of zone %s it is attached to: then %d node(s) could take the pod (%s)",
			d, attachedIn(r, d, zone), zoneName(zone), len(detach[k]), list(detach[k])))
	}
	for _, d := range slices.Sorted(maps.Keys(holders)) {
		out = append(out, fmt.Sprintf("the pod using shared disk %s on one of %d node(s) going away (one reservation holder per node): %s", d, len(holders[d]), list(holders[d])))
	}
	if len(nvme) > 0 {
		out = append(out, fmt.Sprintf("%d node(s) supporting NVMe multi-attach, which their instance types say they do not (label %s=true if they do): %s",
			len(nvme), args.NVMeLabelKey, list(nvme)))
	}
	if len(out) == 0 {
		zones := sets.New[string]()
		for _, n := range r.Nodes {
			zones.Insert(n.Zone)
		}
		out = append(out, "no single change to a node of the cluster lets the pod in: every node fails several rules, or the zone rule (a node in the disks' zone, or a claim whose class allows one of the zones "+list(sets.List(zones))+")")
	}
	return out
}

func attachedIn(r *Report, name, zone string) int {
	for _, d := range r.Disks {
		if d.Name == name {
			return d.Attached[zone] + d.AnyZone
		}
	}
	return 0
}

func zoneName(z string) string {
	if z == "" {
		return "<none>"
	}
	return z
}

// list shows at most 5 names.
func list(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
	}
	return strings.Join(names, ", ")
}

// Place explains what-if pods one after the other, as the scheduler would
// place them: each pod that fits goes to the node the plugin ranks first
// (its zone score, then the node name) and counts for the next ones, as a
// holder and as an attached node; an unbound claim is given the node as its
// selected node, as the volume binder does. Pods that do not fit stay
// Pending and change nothing.
func (x *Explainer) Place(ctx context.Context, pods []*v1.Pod) ([]*Report, error) {
	var out []*Report
	for _, pod := range pods {
		pod = pod.DeepCopy()
		nodes, err := x.snapshot.NodeInfos().List()
		if err != nil {
			return nil, err
		}
		e := x.plugin.Explain(ctx, pod, nodes)
		r, err := x.report(pod, e)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
		if e.Skipped || e.Rejected != nil || len(r.Fits) == 0 {
			continue
		}
		best := pickNode(e)
		r.Node = best
		pod.Spec.NodeName = best
		x.pods = append(x.pods, pod)
		x.snapshot.Snapshot = cache.NewSnapshot(x.pods, x.nodes)
		if err := x.selectNode(ctx, pod, best); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pickNode is the fitting node the plugin ranks first: the highest zone
// score, then the lowest name.
func pickNode(e *volumetopology.Explanation) string {
	var fits []volumetopology.NodeExplanation
	for _, n := range e.Nodes {
		if n.Fits() {
			fits = append(fits, n)
		}
	}
	slices.SortFunc(fits, func(a, b volumetopology.NodeExplanation) int {
		return cmp.Or(cmp.Compare(e.ZoneScore[b.Facts.Zone], e.ZoneScore[a.Facts.Zone]), cmp.Compare(a.Node, b.Node))
	})
	return fits[0].Node
}

// selectNode marks the pod's unbound claims as being provisioned for the
// node, and waits until the plugin's claim lister sees it.
func (x *Explainer) selectNode(ctx context.Context, pod *v1.Pod, node string) error {
	for _, name := range disk.ClaimNames(pod) {
		pvc, err := x.client.CoreV1().PersistentVolumeClaims(pod.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil || pvc.Spec.VolumeName != "" || pvc.Annotations[disk.AnnSelectedNode] != "" {
			continue
		}
		pvc = pvc.DeepCopy()
		if pvc.Annotations == nil {
			pvc.Annotations = map[string]string{}
		}
		pvc.Annotations[disk.AnnSelectedNode] = node
		if _, err := x.client.CoreV1().PersistentVolumeClaims(pod.Namespace).Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
			return err
		}
		key := pod.Namespace + "/" + name
		if err := wait.PollUntilContextTimeout(ctx, 5*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			claims, err := x.plugin.PodClaims(pod)
			return err == nil && slices.ContainsFunc(claims, func(c disk.Claim) bool { return c.Key == key && c.SelectedNode == node }), nil
		}); err != nil {
			return fmt.Errorf("claim %s/%s: %w", pod.Namespace, name, err)
		}
	}
	return nil
}

// ErrNotFound is returned for a pod that is not in the cluster.
var ErrNotFound = errors.New("not found")

// FindPod returns a pod of the state.
func FindPod(state *audit.State, namespace, name string) (*v1.Pod, error) {
	for i := range state.Pods {
		if p := &state.Pods[i]; p.Namespace == namespace && p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("pod %s/%s: %w", namespace, name, ErrNotFound)
}
