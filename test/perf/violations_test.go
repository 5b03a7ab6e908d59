package perf

import (
	"flag"

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
func checkViolations(tCtx tContext, testCase, workload string) {
	v, err := countViolations(tCtx)
	if err != nil {
		tCtx.Errorf("violation check: %v", err)
		return
	}
	v.TestCase, v.Workload, v.Failed = testCase, workload, tCtx.Failed()
	file, err := results.WriteViolations(dataItemsDir(), v)
	if err != nil {
		tCtx.Errorf("violation check: %v", err)
	}
	broken := v.Broken()
	tCtx.Logf("Violations of %s/%s (%s): %d pods, %d scheduled (%d batched), %d pending, %d shared disks, at most %d nodes of a zone per disk; broken: %v",
		testCase, workload, file, v.Pods, v.Scheduled, v.Batched, v.Pending, v.SharedDisks, v.MaxAttachedInZone, broken)
	kind, profile := results.SplitTestCase(testCase)
	if profile == results.ProfileVolumeTopology && len(broken) > 0 {
		tCtx.Errorf("VolumeTopology broke disk rules in %s/%s: %v", testCase, workload, broken)
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
func countViolations(tCtx tContext) (*results.Violations, error) {
	state, err := audit.Read(tCtx, tCtx.Client())
	if err != nil {
		return nil, err
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
	return v, nil
}
