package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// Config configures a soak run.
type Config struct {
	Seed uint64
	// Duration is how long the plan runs; the settle period follows.
	Duration time.Duration
	// Settle bounds the wait for the cluster to come to rest after the plan
	// (default 90s); it is at rest once nothing changed for Quiet (15s).
	Settle time.Duration
	Quiet  time.Duration
	// SampleEvery is how often the audit samples the cluster (default 3s).
	SampleEvery time.Duration
	// OpEvery and FaultEvery are the mean times between operations (default
	// 500ms) and between scheduler kills (default 25s).
	OpEvery    time.Duration
	FaultEvery time.Duration
	// DetachDelay is how long the simulated cloud takes to detach a disk
	// (default 3s).
	DetachDelay time.Duration
	// UnmountDelay is how long after a disk's last pod leaves a node the
	// simulated attach-detach controller starts detaching it (default 2s):
	// the window in which a recreated pod finds its disk attached.
	UnmountDelay time.Duration
	// NoNodeLoss leaves out nodes deleted under running pods.
	NoNodeLoss bool
	// SchedulerCommand runs the scheduler command (flags are appended), with
	// SchedulerEnv added to the environment.
	SchedulerCommand []string
	SchedulerEnv     []string
	// Dir receives the cluster's files, the scheduler logs and the plan.
	Dir string
	// ManifestsDir, when set, holds namespace.yaml, serviceaccount.yaml and
	// rbac.yaml: the API server then authorizes with RBAC and the schedulers
	// run with a token of that service account.
	ManifestsDir string
	// Out receives progress lines; nil discards them.
	Out io.Writer
}

func (c *Config) defaults() {
	if c.Settle <= 0 {
		c.Settle = 90 * time.Second
	}
	if c.Quiet <= 0 {
		c.Quiet = 15 * time.Second
	}
	if c.SampleEvery <= 0 {
		c.SampleEvery = 3 * time.Second
	}
	if c.OpEvery <= 0 {
		c.OpEvery = 500 * time.Millisecond
	}
	if c.FaultEvery <= 0 {
		c.FaultEvery = 25 * time.Second
	}
	if c.DetachDelay <= 0 {
		c.DetachDelay = 3 * time.Second
	}
	if c.UnmountDelay <= 0 {
		c.UnmountDelay = 2 * time.Second
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
}

// OpStats count what became of the plan's steps of one kind.
type OpStats struct {
	Planned, Done, Skipped, Failed int
}

// SampledViolation is a violation the audit saw while the plan ran.
type SampledViolation struct {
	At time.Duration
	audit.Violation
}

// Result is what a soak run saw.
type Result struct {
	Seed       uint64
	Duration   time.Duration
	PlanDigest string
	// Nodes at the start and the end.
	NodesStart, NodesEnd int
	// SharedDisks is the number of shared disks of the workload.
	SharedDisks int
	// PodsPlaced counts pods bound to a node (each pod once).
	PodsPlaced int
	// PodsGarbageCollected counts orphaned pods removed after a node was lost.
	PodsGarbageCollected int
	Ops                  map[OpKind]*OpStats
	// FaultNotes say what each scheduler kill did.
	FaultNotes []string
	// Samples is the number of audits taken while the plan ran; SampleErrors
	// the snapshots that could not be read.
	Samples, SampleErrors int
	// SampledViolations are every distinct violation seen while running.
	SampledViolations []SampledViolation
	// PeakAttached is the largest attach set of any shared disk in any zone
	// seen by a sample.
	PeakAttached int
	// AttachRefusals counts the cloud's refusals by error code (distinct
	// attempts recorded in VolumeAttachment status); RefusalDetails has the
	// first few messages of each code.
	AttachRefusals map[string]int
	RefusalDetails map[string][]string
	// MultiAttach counts the attach-detach controller's Multi-Attach errors
	// by kind (MultiAttachInUse, ...); MultiAttachDetails has the first few
	// of each kind.
	MultiAttach        map[string]int
	MultiAttachDetails map[string][]string
	// Cloud is what the simulated cloud counted.
	Cloud simcloud.Counts
	// Settled tells whether the cluster came to rest before Config.Settle;
	// SettleTime is how long it took.
	Settled    bool
	SettleTime time.Duration
	// Final is the audit after the settle period.
	Final *audit.Report
	// Reasons is the check of the pending pods' messages.
	Reasons *ReasonReport
	// Explain is how explain agreed with those messages.
	Explain *ExplainReport
	// Running and Pending count the workload's pods at the end.
	Running, Pending int
	// StuckBound are pods bound to a node but not running after the settle
	// period, with why.
	StuckBound []string
	// EphemeralRunning counts, per Ephemeral set, its pods running at the
	// end on a disk of their own generic ephemeral volume; EphemeralProblems
	// are pods whose ephemeral claim is missing, unbound or not theirs, and
	// sets none of whose pods run.
	EphemeralRunning  map[string]int
	EphemeralProblems []string
	// ClaimsGarbageCollected counts ephemeral claims deleted after their pod.
	ClaimsGarbageCollected int
	// ConflictingZone counts the provisioner's ConflictingZone events.
	ConflictingZone int
	// Forbidden are scheduler log lines about requests the API server
	// refused; Panics are log lines of panics the scheduler recovered from
	// or died of.
	Forbidden []string
	Panics    []string
	Elapsed   time.Duration
}

// codes the cloud refuses with that the scheduler must prevent.
var preventableCodes = []string{simcloud.CodeMultiAttachLimit, simcloud.CodeZoneMismatch, simcloud.CodeUnknownInstanceZone}

// Failures lists why the run failed; none means it passed.
func (r *Result) Failures() []string {
	var out []string
	for _, v := range r.SampledViolations {
		out = append(out, fmt.Sprintf("at %s the audit found %s: %s", v.At.Round(time.Second), v.Rule, v.Detail))
	}
	if r.Final != nil {
		for _, v := range r.Final.Violations {
			out = append(out, fmt.Sprintf("after settling the audit found %s: %s", v.Rule, v.Detail))
		}
	}
	if r.Reasons != nil {
		for _, f := range r.Reasons.False {
			out = append(out, "false reason: "+f)
		}
		for _, u := range r.Reasons.Unexplained {
			out = append(out, "pending without a reason: "+u)
		}
	}
	if r.Explain != nil {
		for _, d := range r.Explain.Disagreements {
			out = append(out, "explain disagrees with the scheduler: "+d)
		}
		for _, u := range r.Explain.Unexplained {
			out = append(out, "nodes without a rule: "+u)
		}
	}
	for _, code := range preventableCodes {
		if n := r.AttachRefusals[code]; n > 0 {
			out = append(out, fmt.Sprintf("the cloud refused %d attach(es) with %s, e.g. %s", n, code, r.RefusalDetails[code][0]))
		}
	}
	for _, kind := range failingMultiAttach {
		if n := r.MultiAttach[kind]; n > 0 {
			out = append(out, fmt.Sprintf("%d Multi-Attach error(s) with the disk %s, e.g. %s", n, kind, r.MultiAttachDetails[kind][0]))
		}
	}
	for _, s := range r.StuckBound {
		out = append(out, "bound but not running after settling: "+s)
	}
	for _, p := range r.EphemeralProblems {
		out = append(out, "generic ephemeral volume: "+p)
	}
	if r.ConflictingZone > 0 {
		out = append(out, fmt.Sprintf("%d disk(s) were created in a zone their pod cannot reach (ConflictingZone)", r.ConflictingZone))
	}
	for _, f := range r.Forbidden {
		out = append(out, "scheduler request refused: "+f)
	}
	for _, p := range r.Panics {
		out = append(out, "scheduler panic: "+p)
	}
	return out
}

// runner holds a run's state.
type runner struct {
	cfg     Config
	client  kubernetes.Interface
	cloud   *simcloud.Cloud
	args    *config.VolumeTopologyArgs
	w       *Workload
	start   time.Time
	scheds  *schedulers
	mu      sync.Mutex
	res     *Result
	seenVio map[string]bool
	refusal map[string]bool
	// multiAttachSeen is how many of the cloud's Multi-Attach errors have
	// been classified.
	multiAttachSeen int
	ops             sync.WaitGroup
}

// Run runs a soak and returns what it saw; the error is for a run that could
// not be carried out, not for violations (see Result.Failures).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	if len(cfg.SchedulerCommand) == 0 {
		return nil, errors.New("soak: no scheduler command")
	}
	begin := time.Now()
	w := NewWorkload(cfg.Seed)
	plan := NewPlan(cfg.Seed, w, PlanOptions{Duration: cfg.Duration, OpEvery: cfg.OpEvery, FaultEvery: cfg.FaultEvery, NodeLoss: !cfg.NoNodeLoss})
	res := &Result{
		Seed: cfg.Seed, Duration: cfg.Duration, PlanDigest: plan.Digest(), SharedDisks: w.SharedDisks(),
		NodesStart: len(w.Nodes), Ops: map[OpKind]*OpStats{},
		AttachRefusals: map[string]int{}, RefusalDetails: map[string][]string{},
		MultiAttach: map[string]int{}, MultiAttachDetails: map[string][]string{},
	}
	for k, n := range plan.Counts() {
		res.Ops[k] = &OpStats{Planned: n}
	}
	if err := writePlan(filepath.Join(cfg.Dir, "plan.txt"), plan); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Out, "soak: seed %d, %s: %d operations and faults planned (plan %s, %s)\n",
		cfg.Seed, cfg.Duration, len(plan.Ops), res.PlanDigest, filepath.Join(cfg.Dir, "plan.txt"))

	var flags []string
	if cfg.ManifestsDir != "" {
		flags = append(flags, localcluster.AuthorizationFlags...)
	}
	cluster, err := localcluster.Start(ctx, localcluster.Options{
		Dir: filepath.Join(cfg.Dir, "cluster"), APIServerFlags: flags,
		DeploymentControllers: true, EphemeralVolumeController: true,
	})
	if err != nil {
		return nil, err
	}
	defer cluster.Stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := cluster.Client
	if err := localcluster.CreateNodes(ctx, client, w.Nodes); err != nil {
		return nil, err
	}
	cloud, err := simcloud.Start(ctx, client, simcloud.Options{Seed: cfg.Seed, DetachDelay: cfg.DetachDelay, UnmountDelay: cfg.UnmountDelay, RetryInterval: time.Second})
	if err != nil {
		return nil, err
	}
	if err := simcloud.StartRescheduling(ctx, client, 2*time.Second); err != nil {
		return nil, err
	}
	kubeconfig := cluster.KubeconfigPath
	if cfg.ManifestsDir != "" {
		if kubeconfig, err = serviceAccountKubeconfig(ctx, cluster, cfg.ManifestsDir); err != nil {
			return nil, err
		}
	}
	if err := createWorkload(ctx, client, w); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, client: client, cloud: cloud, args: volumetopology.DefaultArgs(), w: w, res: res, seenVio: map[string]bool{}, refusal: map[string]bool{}}
	if r.scheds, err = newSchedulers(cfg.Dir, cfg.SchedulerCommand, cfg.SchedulerEnv, kubeconfig); err != nil {
		return nil, err
	}
	defer r.scheds.stop()
	if err := r.scheds.ensure(ctx); err != nil {
		return nil, err
	}
	if err := r.countPlacements(ctx); err != nil {
		return nil, err
	}
	go runPodGC(ctx, client, 2*time.Second, 2*time.Second, func(*v1.Pod) {
		r.mu.Lock()
		r.res.PodsGarbageCollected++
		r.mu.Unlock()
	})
	go runClaimGC(ctx, client, 2*time.Second, func(*v1.PersistentVolumeClaim) {
		r.mu.Lock()
		r.res.ClaimsGarbageCollected++
		r.mu.Unlock()
	})
	fmt.Fprintf(cfg.Out, "soak: control plane, %d nodes, %d shared disks and 2 scheduler replicas up in %s\n",
		len(w.Nodes), res.SharedDisks, time.Since(begin).Round(time.Second))

	// The plan, with the sampler beside it.
	r.start = time.Now()
	sampleCtx, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		r.sample(sampleCtx)
	}()
	progress := time.NewTicker(15 * time.Second)
	defer progress.Stop()
	for _, op := range plan.Ops {
		wait := time.Until(r.start.Add(op.At))
		for wait > 0 {
			select {
			case <-ctx.Done():
				stopSampling()
				return nil, ctx.Err()
			case <-progress.C:
				r.progress()
			case <-time.After(wait):
			}
			wait = time.Until(r.start.Add(op.At))
		}
		r.ops.Add(1)
		go func(op Op) {
			defer r.ops.Done()
			r.execute(ctx, op)
		}(op)
	}
	if wait := time.Until(r.start.Add(cfg.Duration)); wait > 0 {
		time.Sleep(wait)
	}
	r.progress()
	opsDone := make(chan struct{})
	go func() {
		r.ops.Wait()
		close(opsDone)
	}()
	select {
	case <-opsDone:
	case <-time.After(2 * time.Minute):
		fmt.Fprintln(cfg.Out, "soak: some operations still run after 2 minutes; settling anyway")
	}
	stopSampling()
	<-sampled

	// Settle: every replica up, then wait for rest.
	if err := r.scheds.ensure(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Out, "soak: plan done at %s; settling (at most %s)\n", time.Since(r.start).Round(time.Second), cfg.Settle)
	final, err := r.settle(ctx)
	if err != nil {
		return nil, err
	}
	r.finalChecks(ctx, final)
	res.Elapsed = time.Since(begin)
	return res, nil
}

func writePlan(path string, p *Plan) error {
	var b strings.Builder
	for _, o := range p.Ops {
		b.WriteString(o.String())
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// serviceAccountKubeconfig applies the manifests' namespace, service account
// and RBAC, and writes a kubeconfig with a token of that service account.
func serviceAccountKubeconfig(ctx context.Context, cluster *localcluster.Cluster, dir string) (string, error) {
	var objs []runtime.Object
	var sa *v1.ServiceAccount
	for _, f := range []string{"namespace.yaml", "serviceaccount.yaml", "rbac.yaml"} {
		ms, err := localcluster.ReadManifestFile(filepath.Join(dir, f))
		if err != nil {
			return "", err
		}
		for _, m := range ms {
			objs = append(objs, m.Object)
			if s, ok := m.Object.(*v1.ServiceAccount); ok {
				sa = s
			}
		}
	}
	if sa == nil {
		return "", fmt.Errorf("no ServiceAccount in %s/serviceaccount.yaml", dir)
	}
	a, err := localcluster.NewApplier(cluster.Config)
	if err != nil {
		return "", err
	}
	if _, err := a.Apply(ctx, "", objs...); err != nil {
		return "", err
	}
	path := filepath.Join(cluster.Dir, "scheduler.kubeconfig")
	return path, cluster.ServiceAccountKubeconfig(ctx, sa.Namespace, sa.Name, path, 6*time.Hour)
}

// countPlacements counts each pod of the workload once when it gets a node.
func (r *runner) countPlacements(ctx context.Context) error {
	factory := informers.NewSharedInformerFactoryWithOptions(r.client, 0, informers.WithNamespace(Namespace))
	placed := map[string]bool{}
	count := func(obj any) {
		if pod, ok := obj.(*v1.Pod); ok && pod.Spec.NodeName != "" {
			r.mu.Lock()
			if !placed[string(pod.UID)] {
				placed[string(pod.UID)] = true
				r.res.PodsPlaced++
			}
			r.mu.Unlock()
		}
	}
	if _, err := factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    count,
		UpdateFunc: func(_, obj any) { count(obj) },
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	go func() {
		<-ctx.Done()
		factory.Shutdown()
	}()
	return nil
}

func (r *runner) progress() {
	r.mu.Lock()
	defer r.mu.Unlock()
	done, failed := 0, 0
	for _, s := range r.res.Ops {
		done += s.Done
		failed += s.Failed
	}
	fmt.Fprintf(r.cfg.Out, "soak: %5s: %d steps done (%d failed), %d pods placed, %d samples, %d violations, peak attach set %d\n",
		time.Since(r.start).Round(time.Second), done, failed, r.res.PodsPlaced, r.res.Samples, len(r.res.SampledViolations), r.res.PeakAttached)
}

// record notes the outcome of one step.
func (r *runner) record(op Op, err error, skipped bool, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.res.Ops[op.Kind]
	switch {
	case err != nil:
		s.Failed++
		klog.Background().Info("Soak step failed", "op", op.String(), "err", err)
	case skipped:
		s.Skipped++
	default:
		s.Done++
	}
	if note != "" {
		r.res.FaultNotes = append(r.res.FaultNotes, fmt.Sprintf("%s: %s", strings.TrimSpace(op.String()), note))
	}
}

// execute carries out one step. Steps whose target is gone (a pod a drain
// already deleted, a node another step removed) are skipped.
func (r *runner) execute(ctx context.Context, op Op) {
	c := r.client
	var err error
	skipped := false
	note := ""
	switch op.Kind {
	case OpScaleShared, OpScaleSingle:
		_, err = c.AppsV1().StatefulSets(Namespace).UpdateScale(ctx, op.Target, &autoscalingv1.Scale{
			ObjectMeta: metav1.ObjectMeta{Name: op.Target, Namespace: Namespace},
			Spec:       autoscalingv1.ScaleSpec{Replicas: int32(op.N)},
		}, metav1.UpdateOptions{})
	case OpGroupAdd:
		set := r.w.Set(op.Target[:strings.LastIndex(op.Target, "-")])
		_, err = c.CoreV1().Pods(Namespace).Create(ctx, groupPod(set, op.Target), metav1.CreateOptions{})
	case OpGroupDelete, OpDeletePod:
		opts := metav1.DeleteOptions{}
		if op.Force {
			opts = *metav1.NewDeleteOptions(0)
		}
		err = c.CoreV1().Pods(Namespace).Delete(ctx, op.Target, opts)
	case OpNodeAdd:
		err = localcluster.CreateNodes(ctx, c, []localcluster.NodeSpec{*op.Node})
	case OpNodeRemove:
		if err = r.drain(ctx, op.Target, true); err == nil {
			err = r.deleteNode(ctx, op.Target)
		}
	case OpNodeLost:
		err = r.deleteNode(ctx, op.Target)
	case OpRelabelZone:
		if err = r.drain(ctx, op.Target, true); err == nil {
			err = r.updateNode(ctx, op.Target, func(n *v1.Node) {
				for _, k := range r.args.ZoneLabelKeys {
					if _, ok := n.Labels[k]; ok || k != v1.LabelFailureDomainBetaZone {
						n.Labels[k] = op.Zone
					}
				}
				n.Spec.Unschedulable = false
			})
		}
	case OpRelabelNVMe:
		key := r.args.NVMeLabelKey
		var node *v1.Node
		if node, err = c.CoreV1().Nodes().Get(ctx, op.Target, metav1.GetOptions{}); err != nil {
			break
		}
		labels := map[string]string{}
		for k, v := range node.Labels {
			labels[k] = v
		}
		setOrDelete(labels, key, op.Value)
		classifier := disk.NewNodeClassifier(r.args.ZoneLabelKeys, r.args.NVMeInstanceFamilies, key)
		// Turning NVMe off under shared-disk pods would strand them: drain first.
		if nvme, _ := classifier.NVMe(labels); !nvme {
			err = r.drain(ctx, op.Target, false)
		}
		if err == nil {
			err = r.updateNode(ctx, op.Target, func(n *v1.Node) {
				setOrDelete(n.Labels, key, op.Value)
				n.Spec.Unschedulable = false
			})
		}
	case OpRelabelDiskTypes:
		err = r.updateNode(ctx, op.Target, func(n *v1.Node) {
			for k := range n.Labels {
				if strings.HasPrefix(k, disk.LabelDiskTypePrefix) {
					delete(n.Labels, k)
				}
			}
			for _, t := range op.Types {
				n.Labels[disk.DiskTypeLabel(t)] = disk.DiskTypeAvailable
			}
		})
	case OpKillLeader, OpKillStandby, OpKillAll:
		note, err = r.scheds.fault(ctx, op)
	}
	if apierrors.IsNotFound(err) {
		err, skipped = nil, true
	}
	if ctx.Err() != nil {
		return
	}
	r.record(op, err, skipped, note)
}

func setOrDelete(labels map[string]string, key, value string) {
	if value == "" {
		delete(labels, key)
	} else {
		labels[key] = value
	}
}

func (r *runner) updateNode(ctx context.Context, name string, mutate func(*v1.Node)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := r.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		mutate(n)
		_, err = r.client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// drain cordons a node and deletes its pods until none is left for two looks
// in a row, and, when detached is set, until no disk is attached to it.
func (r *runner) drain(ctx context.Context, node string, detached bool) error {
	if err := r.updateNode(ctx, node, func(n *v1.Node) { n.Spec.Unschedulable = true }); err != nil {
		return err
	}
	deadline := time.Now().Add(90 * time.Second)
	empty := 0
	for {
		pods, err := r.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
		if err != nil {
			return err
		}
		left := 0
		for _, p := range pods.Items {
			if p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed {
				continue
			}
			left++
			if p.DeletionTimestamp == nil {
				if err := r.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					return err
				}
			}
		}
		if left == 0 && detached {
			vas, err := r.client.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, va := range vas.Items {
				if va.Spec.NodeName == node {
					left++
				}
			}
		}
		if left == 0 {
			if empty++; empty >= 2 {
				return nil
			}
		} else {
			empty = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s still has %d pods or attachments after 90s of draining", node, left)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (r *runner) deleteNode(ctx context.Context, name string) error {
	if err := r.client.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return err
	}
	// No garbage collector runs: remove the node's CSINode as it would.
	if err := r.client.StorageV1().CSINodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// sample audits the cluster every SampleEvery until ctx ends.
func (r *runner) sample(ctx context.Context) {
	t := time.NewTicker(r.cfg.SampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		snap, err := ReadSnapshot(ctx, r.client)
		if err != nil {
			if ctx.Err() == nil {
				klog.FromContext(ctx).Info("Soak sample failed", "err", err)
				r.mu.Lock()
				r.res.SampleErrors++
				r.mu.Unlock()
			}
			continue
		}
		r.observe(snap.State, time.Since(r.start))
	}
}

// observe records the violations and refused attaches of one snapshot.
func (r *runner) observe(s *audit.State, at time.Duration) {
	report := audit.Check(s, r.args)
	peak := peakAttached(s, r.args)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Samples++
	r.res.PeakAttached = max(r.res.PeakAttached, peak)
	for _, v := range report.Violations {
		key := v.Rule + "|" + v.Disk + "|" + v.Zone + "|" + v.Node + "|" + strings.Join(v.Pods, ",") + "|" + strings.Join(v.Nodes, ",")
		if !r.seenVio[key] {
			r.seenVio[key] = true
			r.res.SampledViolations = append(r.res.SampledViolations, SampledViolation{At: at, Violation: v})
		}
	}
	r.classifyMultiAttach(s)
	for _, va := range s.VolumeAttachments {
		e := va.Status.AttachError
		if e == nil {
			continue
		}
		key := va.Name + "|" + e.Time.String() + "|" + e.Message
		if r.refusal[key] {
			continue
		}
		r.refusal[key] = true
		code := "other"
		for _, c := range []string{simcloud.CodeMultiAttachLimit, simcloud.CodeZoneMismatch, simcloud.CodeDiskAttached, simcloud.CodeUnknownInstanceZone} {
			if strings.Contains(e.Message, c) {
				code = c
			}
		}
		r.res.AttachRefusals[code]++
		if len(r.res.RefusalDetails[code]) < 5 {
			detail := fmt.Sprintf("at %s on %s: %s", at.Round(time.Second), va.Spec.NodeName, e.Message)
			if code == simcloud.CodeMultiAttachLimit {
				detail += "; " + r.explainLimit(s, va.Spec.Source.PersistentVolumeName)
			}
			r.res.RefusalDetails[code] = append(r.res.RefusalDetails[code], detail)
		}
	}
}

// classifyMultiAttach classifies the Multi-Attach errors the cloud reported
// since the last call, with the volumes of the snapshot. The caller holds
// r.mu.
func (r *runner) classifyMultiAttach(s *audit.State) {
	errs := r.cloud.MultiAttachErrors()
	pvs := map[string]*v1.PersistentVolume{}
	for i := range s.Volumes {
		pvs[s.Volumes[i].Name] = &s.Volumes[i]
	}
	for _, e := range errs[r.multiAttachSeen:] {
		kind, detail := classifyMultiAttach(e, pvs[e.Volume], r.args)
		r.res.MultiAttach[kind]++
		if len(r.res.MultiAttachDetails[kind]) < 5 {
			r.res.MultiAttachDetails[kind] = append(r.res.MultiAttachDetails[kind], fmt.Sprintf("at %s: %s", e.At.Sub(r.start).Round(time.Second), detail))
		}
	}
	r.multiAttachSeen = len(errs)
	r.res.Cloud = r.cloud.Counts("")
}

// explainLimit compares the instances the cloud has a disk attached to with
// the nodes of the snapshot: an instance without a Node object is an
// attachment the scheduler cannot place in a zone.
func (r *runner) explainLimit(s *audit.State, pvName *string) string {
	if pvName == nil {
		return ""
	}
	handle := ""
	for _, pv := range s.Volumes {
		if pv.Name == *pvName && pv.Spec.CSI != nil {
			handle = pv.Spec.CSI.VolumeHandle
		}
	}
	d, ok := r.cloud.Disk(handle)
	if !ok {
		return "disk " + handle + " unknown to the cloud"
	}
	nodes := map[string]bool{}
	for _, n := range s.Nodes {
		nodes[n.Name] = true
	}
	var ghosts []string
	for _, i := range d.Instances {
		if !nodes[i] {
			ghosts = append(ghosts, i)
		}
	}
	if len(ghosts) == 0 {
		return fmt.Sprintf("the cloud has it attached to %d instances, all of them nodes", len(d.Instances))
	}
	return fmt.Sprintf("the cloud has it attached to %d instances, of which %v have no Node object", len(d.Instances), ghosts)
}

// peakAttached is the largest attach set of a shared disk in one zone.
func peakAttached(s *audit.State, args *config.VolumeTopologyArgs) int {
	w := newWorld(s, args)
	peak := 0
	for _, zones := range w.attached {
		for z, nodes := range zones {
			if z != "" {
				peak = max(peak, len(nodes))
			}
		}
	}
	return peak
}

// settle waits until the cluster is at rest: no pod, claim or attachment
// changed for Quiet, nothing terminating or detaching, and every pending pod
// tried. It returns the last snapshot.
func (r *runner) settle(ctx context.Context) (*Snapshot, error) {
	start := time.Now()
	deadline := start.Add(r.cfg.Settle)
	var last string
	quietSince := time.Now()
	for {
		snap, err := ReadSnapshot(ctx, r.client)
		if err != nil {
			return nil, err
		}
		sig, busy := signature(snap.State)
		if sig != last || busy != "" {
			last, quietSince = sig, time.Now()
		}
		if time.Since(quietSince) >= r.cfg.Quiet {
			r.res.Settled, r.res.SettleTime = true, time.Since(start)
			return snap, nil
		}
		if time.Now().After(deadline) {
			r.res.SettleTime = time.Since(start)
			fmt.Fprintf(r.cfg.Out, "soak: not at rest after %s (%s)\n", r.cfg.Settle, busy)
			return snap, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// signature summarises what the scheduler and the controllers act on; busy
// names something still in motion.
func signature(s *audit.State) (sig, busy string) {
	var parts []string
	for _, p := range s.Pods {
		if p.Namespace != Namespace {
			continue
		}
		msg := ""
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled {
				msg = string(c.Status) + c.Message
			}
		}
		parts = append(parts, fmt.Sprintf("%s|%s|%s|%s", p.Name, p.Spec.NodeName, p.Status.Phase, msg))
		switch {
		case p.DeletionTimestamp != nil:
			busy = "pod " + p.Name + " terminating"
		case p.Spec.NodeName != "" && p.Status.Phase == v1.PodPending:
			busy = "pod " + p.Name + " waits for its volumes"
		case IsPending(&p) && msg == "":
			busy = "pod " + p.Name + " not tried yet"
		}
	}
	for _, c := range s.Claims {
		parts = append(parts, fmt.Sprintf("pvc %s|%s|%s", c.Name, c.Spec.VolumeName, c.Annotations[disk.AnnSelectedNode]))
	}
	for _, va := range s.VolumeAttachments {
		parts = append(parts, fmt.Sprintf("va %s|%v", va.Name, va.Status.Attached))
		if va.DeletionTimestamp != nil {
			busy = "volumeattachment " + va.Name + " detaching"
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n"), busy
}

// finalChecks audits the settled cluster and checks the pending pods' reasons.
func (r *runner) finalChecks(ctx context.Context, snap *Snapshot) {
	res := r.res
	res.Final = audit.Check(snap.State, r.args)
	res.Reasons = CheckReasons(snap.State, r.args)
	var err error
	if res.Explain, err = CompareExplain(ctx, snap.State, r.args, Namespace); err != nil {
		res.Explain = &ExplainReport{Disagreements: []string{"explain failed: " + err.Error()}}
	}
	res.NodesEnd = len(snap.Nodes)
	r.observe(snap.State, time.Since(r.start))
	attachErr := map[string]string{} // pv/node -> error
	for _, va := range snap.VolumeAttachments {
		if va.Status.AttachError != nil && va.Spec.Source.PersistentVolumeName != nil {
			attachErr[*va.Spec.Source.PersistentVolumeName+"/"+va.Spec.NodeName] = va.Status.AttachError.Message
		}
	}
	claims := map[string]*v1.PersistentVolumeClaim{}
	for i := range snap.Claims {
		claims[snap.Claims[i].Namespace+"/"+snap.Claims[i].Name] = &snap.Claims[i]
	}
	for _, p := range snap.Pods {
		if p.Namespace != Namespace {
			continue
		}
		switch {
		case p.Status.Phase == v1.PodRunning:
			res.Running++
		case IsPending(&p):
			res.Pending++
		case p.Spec.NodeName != "" && p.Status.Phase == v1.PodPending && p.DeletionTimestamp == nil:
			why := "waiting"
			for _, name := range disk.ClaimNames(&p) {
				pvc := claims[p.Namespace+"/"+name]
				switch {
				case pvc == nil:
					why = "claim " + name + " missing"
				case pvc.Spec.VolumeName == "":
					why = "claim " + name + " unbound"
				case attachErr[pvc.Spec.VolumeName+"/"+p.Spec.NodeName] != "":
					why = attachErr[pvc.Spec.VolumeName+"/"+p.Spec.NodeName]
				}
			}
			res.StuckBound = append(res.StuckBound, fmt.Sprintf("%s on %s: %s", p.Name, p.Spec.NodeName, why))
		}
	}
	r.checkEphemeral(snap, claims)
	events, err := r.client.CoreV1().Events(Namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("reason", simcloud.ReasonConflictingZone).String()})
	if err == nil {
		res.ConflictingZone = len(events.Items)
	}
	for _, path := range r.scheds.logs {
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			switch {
			case strings.Contains(line, "is forbidden"):
				res.Forbidden = append(res.Forbidden, filepath.Base(path)+": "+truncate(line, 300))
			case strings.Contains(line, "Observed a panic") || strings.HasPrefix(line, "panic:"):
				res.Panics = append(res.Panics, filepath.Base(path)+": "+truncate(line, 300))
			}
		}
	}
}

// checkEphemeral checks the Ephemeral sets after settling: each running pod
// uses a bound claim the ephemeral volume controller created for it (owned
// by the pod), a pending pod's claim exists, and every set has a pod running.
func (r *runner) checkEphemeral(snap *Snapshot, claims map[string]*v1.PersistentVolumeClaim) {
	res := r.res
	res.EphemeralRunning = map[string]int{}
	for _, s := range r.w.Sets {
		if s.Kind == Ephemeral {
			res.EphemeralRunning[s.Name] = 0
		}
	}
	for _, p := range snap.Pods {
		set := p.Labels[setLabel]
		if _, ok := res.EphemeralRunning[set]; !ok || p.Namespace != Namespace || p.DeletionTimestamp != nil {
			continue
		}
		running := p.Status.Phase == v1.PodRunning
		if !running && !IsPending(&p) {
			continue
		}
		ok := true
		for _, name := range disk.ClaimNames(&p) {
			problem := ""
			switch pvc := claims[p.Namespace+"/"+name]; {
			case pvc == nil:
				problem = "claim %s was never created"
			case metav1.GetControllerOf(pvc) == nil || metav1.GetControllerOf(pvc).UID != p.UID:
				problem = "claim %s is not the pod's own"
			case running && pvc.Spec.VolumeName == "":
				problem = "claim %s is unbound while the pod runs"
			}
			if problem != "" {
				ok = false
				res.EphemeralProblems = append(res.EphemeralProblems, fmt.Sprintf("pod %s: "+problem, p.Name, name))
			}
		}
		if running && ok {
			res.EphemeralRunning[set]++
		}
	}
	for _, set := range slices.Sorted(maps.Keys(res.EphemeralRunning)) {
		if res.EphemeralRunning[set] == 0 {
			res.EphemeralProblems = append(res.EphemeralProblems, fmt.Sprintf("no pod of %s (class %s) runs", set, r.w.Set(set).Class))
		}
	}
}
