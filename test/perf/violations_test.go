package perf

import (
	"flag"
	"slices"

	v1 "k8s.io/api/core/v1"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/component-base/metrics/testutil"
	volumehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
	"github.com/volume-topology/volume-topology-scheduler/test/perf/results"
)

// dataItemsDir is the harness's -data-items-dir: the counts go next to its
// results.
func dataItemsDir() string {
	if f := flag.Lookup("data-items-dir"); f != nil {
		return f.Value.String()
	}
	return ""
}

// checkViolations reads the cluster at the end of a workload, writes the
// counts next to the harness's results and fails a VolumeTopology workload
// that broke a rule. It runs as a cleanup, after the workload's own cleanup
// has stopped it and before the API server goes away.
func checkViolations(tCtx tContext, testCase, workload string, base *results.Timing) {
	kind, profile := results.SplitTestCase(testCase)
	v, state, err := countViolations(tCtx)
	if err != nil {
		tCtx.Errorf("violation check: %v", err)
		return
	}
	// Only here were the disks attached before their pods came; elsewhere
	// (WaitForFirstConsumer) the simulated cloud attaches after placement.
	if kind == results.WorkloadAttachedDisksReturn {
		countOnAttachedNode(state, v)
	}
	v.TestCase, v.Workload, v.Failed = testCase, workload, tCtx.Failed()
	file, err := results.WriteViolations(dataItemsDir(), v)
	if err != nil {
		tCtx.Errorf("violation check: %v", err)
	}
	if t, err := gatherTiming(testCase, workload); err != nil {
		tCtx.Errorf("timing: %v", err)
	} else if _, err := results.WriteTiming(dataItemsDir(), t.Minus(base)); err != nil {
		tCtx.Errorf("timing: %v", err)
	}
	broken := v.Broken()
	tCtx.Logf("Violations of %s/%s (%s): %d pods, %d scheduled (%d batched), %d pending, %d shared disks, at most %d nodes of a zone per disk, %d of %d pods of attached disks on an attached node; broken: %v",
		testCase, workload, file, v.Pods, v.Scheduled, v.Batched, v.Pending, v.SharedDisks, v.MaxAttachedInZone, v.OnAttachedNode, v.AttachedPods, broken)
	if profile == results.ProfileVolumeTopology && len(broken) > 0 {
		tCtx.Errorf("VolumeTopology broke disk rules in %s/%s: %v", testCase, workload, broken)
	}
	// Pods of attached disks come back to the node their disk is attached
	// to: DiskLocality's score outweighs spreading in the shipped profile,
	// among the nodes the scheduler filters. Up to 500 nodes that is every
	// node of the disk's zone; above, kube-scheduler stops once it has found
	// its percentage of feasible nodes (percentageOfNodesToScore), and the
	// attached node is among them only that often (test/perf/README.md), so
	// larger sizes report the count without a verdict.
	if kind == results.WorkloadAttachedDisksReturn && profile == results.ProfileVolumeTopology && workloadNodes(workload) <= 500 && v.OnAttachedNode != v.AttachedPods {
		tCtx.Errorf("%d of %d pods of attached disks in %s/%s went to a node their disk is not attached to", v.AttachedPods-v.OnAttachedNode, v.AttachedPods, testCase, workload)
	}
	if kind == results.WorkloadAttachedDisksReturn && v.AttachedPods == 0 {
		tCtx.Errorf("no scheduled pod of %s/%s has an attached disk: the VolumeAttachments are missing", testCase, workload)
	}
	// Pods without our claims must keep opportunistic batching: in the
	// VolumeTopology profile that proves the plugin signs them; in the
	// default one that the profile lets batching work at all.
	if kind == results.WorkloadNoClaims && v.Batched == 0 {
		tCtx.Errorf("opportunistic batching placed none of the %d pods of %s/%s (%d attempts without a hint)", v.Scheduled, testCase, workload, v.BatchNoHint)
	}
}

// countViolations reads the cluster as the operators' audit does
// (pkg/audit, with the plugin's default args) and counts each rule it finds
// broken, the pods placed and pending, and the WaitForFirstConsumer claims
// provisioned outside the zone of the node the scheduler selected (the
// driver's ConflictingZone, which the audit cannot see after the fact).
func countViolations(tCtx tContext) (*results.Violations, *audit.State, error) {
	state, err := audit.Read(tCtx, tCtx.Client())
	if err != nil {
		return nil, nil, err
	}
	report := audit.Check(state, volumetopology.DefaultArgs())
	v := &results.Violations{Nodes: len(state.Nodes), SharedDisks: report.SharedDisks, MaxAttachedInZone: report.MostNodesInZone}
	// The harness resets the metrics after this check (its cleanup was
	// registered first), so they are of this workload only.
	// The counter is missing when the scheduler never asked for a hint
	// (OpportunisticBatching off): no pod was batched.
	batch, err := testutil.GetCounterValuesFromGatherer(legacyregistry.DefaultGatherer, "scheduler_batch_attempts_total",
		map[string]string{"profile": "default-scheduler"}, "result")
	if err != nil {
		tCtx.Logf("No batching metrics: %v", err)
	}
	v.Batched, v.BatchNoHint = int(batch["hint_used"]), int(batch["no_hint"])
	for i := range state.Pods {
		pod := &state.Pods[i]
		switch {
		case pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed:
			continue
		case pod.Spec.NodeName == "":
			v.Pending++
		default:
			v.Scheduled++
		}
		v.Pods++
	}
	for _, vio := range report.Violations {
		switch vio.Rule {
		case audit.RuleAttachLimit:
			v.DisksOverLimit++
		case audit.RuleHolder:
			v.DoubleHolders++
		case audit.RuleNVMe:
			v.NotNVMe++
		case audit.RuleZone:
			v.OutsideDiskZone++
		case audit.RuleReadWriteOnce:
			v.ReadWriteOnce++
		}
	}
	nodes := map[string]*v1.Node{}
	for i := range state.Nodes {
		nodes[state.Nodes[i].Name] = &state.Nodes[i]
	}
	pvs := map[string]*v1.PersistentVolume{}
	for i := range state.Volumes {
		pvs[state.Volumes[i].Name] = &state.Volumes[i]
	}
	for i := range state.Claims {
		pvc := &state.Claims[i]
		pv, node := pvs[pvc.Spec.VolumeName], nodes[pvc.Annotations[disk.AnnSelectedNode]]
		if pv == nil || node == nil || pv.Spec.CSI == nil || pv.Spec.CSI.Driver != disk.DriverName {
			continue
		}
		if volumehelpers.CheckNodeAffinity(pv, node.Labels) != nil {
			v.ZoneConflicts++
		}
	}
	return v, state, nil
}

// countOnAttachedNode counts the scheduled pods with a claim whose volume has
// a VolumeAttachment (not being deleted, attached or attaching) to some node,
// and those of them on such a node.
func countOnAttachedNode(state *audit.State, v *results.Violations) {
	attached := map[string][]string{} // PV name -> nodes
	for i := range state.VolumeAttachments {
		va := &state.VolumeAttachments[i]
		if va.DeletionTimestamp != nil || va.Spec.Source.PersistentVolumeName == nil {
			continue
		}
		pv := *va.Spec.Source.PersistentVolumeName
		attached[pv] = append(attached[pv], va.Spec.NodeName)
	}
	if len(attached) == 0 {
		return
	}
	claims := map[string]string{} // namespace/name -> PV name
	for i := range state.Claims {
		c := &state.Claims[i]
		claims[c.Namespace+"/"+c.Name] = c.Spec.VolumeName
	}
	for i := range state.Pods {
		pod := &state.Pods[i]
		if pod.Spec.NodeName == "" || pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
			continue
		}
		has, on := false, false
		for _, vol := range pod.Spec.Volumes {
			if vol.PersistentVolumeClaim == nil {
				continue
			}
			nodes := attached[claims[pod.Namespace+"/"+vol.PersistentVolumeClaim.ClaimName]]
			if len(nodes) > 0 {
				has = true
				on = on || slices.Contains(nodes, pod.Spec.NodeName)
			}
		}
		if has {
			v.AttachedPods++
			if on {
				v.OnAttachedNode++
			}
		}
	}
}

// gatherTiming reads the scheduler's histograms as sums and counts, and the
// benchmark's own timing of our plugins. The harness resets the metric
// vectors only between workloads (its reset when it starts collecting
// clears a gathered copy), and plain histograms never: the caller subtracts
// what they held when the workload started.
func gatherTiming(testCase, workload string) (*results.Timing, error) {
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		return nil, err
	}
	t := &results.Timing{TestCase: testCase, Workload: workload, Exact: clock.snapshot()}
	for _, f := range families {
		if !slices.Contains(results.TimingMetrics, f.GetName()) {
			continue
		}
		for _, m := range f.GetMetric() {
			h := m.GetHistogram()
			if h == nil {
				continue
			}
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			t.Add(f.GetName(), labels, results.Histogram{Count: h.GetSampleCount(), Sum: h.GetSampleSum()})
		}
	}
	return t, nil
}

// workloadNodes reads the node count from a workload's name ("5000Nodes",
// "500Nodes_short"); 0 when it has none.
func workloadNodes(workload string) int {
	n := 0
	for _, r := range workload {
		if r < '0' || r > '9' {
			break
		}
		n = n*10 + int(r-'0')
	}
	return n
}
