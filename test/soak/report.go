package soak

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
)

// Print writes the run's report: the workload, what was done to it, and what
// the checks found.
func (r *Result) Print(out io.Writer) {
	fmt.Fprintf(out, "\n=== soak report: seed %d, duration %s, plan %s ===\n", r.Seed, r.Duration, r.PlanDigest)
	fmt.Fprintf(out, "nodes: %d at the start, %d at the end; %d shared disks\n", r.NodesStart, r.NodesEnd, r.SharedDisks)
	fmt.Fprintf(out, "pods placed: %d (%d running and %d pending at the end; %d orphans collected after node loss)\n",
		r.PodsPlaced, r.Running, r.Pending, r.PodsGarbageCollected)

	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nstep\tkind\tplanned\tdone\tskipped\tfailed")
	kinds := make([]string, 0, len(r.Ops))
	for k := range r.Ops {
		kinds = append(kinds, string(k))
	}
	sort.Slice(kinds, func(i, j int) bool {
		fi, fj := OpKind(kinds[i]).Fault(), OpKind(kinds[j]).Fault()
		if fi != fj {
			return !fi
		}
		return kinds[i] < kinds[j]
	})
	var total, faults OpStats
	for _, k := range kinds {
		s := r.Ops[OpKind(k)]
		what := "operation"
		sum := &total
		if OpKind(k).Fault() {
			what, sum = "fault", &faults
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\n", k, what, s.Planned, s.Done, s.Skipped, s.Failed)
		sum.Planned += s.Planned
		sum.Done += s.Done
		sum.Skipped += s.Skipped
		sum.Failed += s.Failed
	}
	fmt.Fprintf(tw, "all operations\t\t%d\t%d\t%d\t%d\n", total.Planned, total.Done, total.Skipped, total.Failed)
	fmt.Fprintf(tw, "all faults\t\t%d\t%d\t%d\t%d\n", faults.Planned, faults.Done, faults.Skipped, faults.Failed)
	tw.Flush()
	for _, n := range r.FaultNotes {
		fmt.Fprintln(out, "  "+n)
	}

	fmt.Fprintf(out, "\nsamples: %d audits while running (%d unreadable); peak attach set of one disk in one zone: %d\n",
		r.Samples, r.SampleErrors, r.PeakAttached)
	fmt.Fprintf(out, "violations while running: %d\n", len(r.SampledViolations))
	for _, v := range r.SampledViolations {
		fmt.Fprintf(out, "  %s %s disk=%s zone=%s node=%s pods=%v nodes=%v: %s\n", v.At.Round(time.Second), v.Rule, v.Disk, v.Zone, v.Node, v.Pods, v.Nodes, v.Detail)
	}
	if len(r.AttachRefusals) > 0 {
		fmt.Fprintln(out, "attaches the cloud refused:")
		for _, code := range slices.Sorted(maps.Keys(r.AttachRefusals)) {
			fmt.Fprintf(out, "  %s: %d\n", code, r.AttachRefusals[code])
			for _, d := range r.RefusalDetails[code] {
				fmt.Fprintln(out, "    "+truncate(d, 600))
			}
		}
	} else {
		fmt.Fprintln(out, "attaches the cloud refused: 0")
	}
	fmt.Fprintf(out, "cloud: %d attaches, %d detaches, %d refused attaches (%d of a disk still attached elsewhere, %s), %d Multi-Attach errors\n",
		r.Cloud.Attaches, r.Cloud.Detaches, r.Cloud.RefusedTotal(), r.Cloud.Refused[simcloud.CodeDiskAttached], simcloud.CodeDiskAttached, r.Cloud.MultiAttachErrors)
	for _, kind := range []string{MultiAttachInUse, MultiAttachAttachedFits, MultiAttachAttachedNoFit, MultiAttachDetaching} {
		what := "reported"
		if slices.Contains(failingMultiAttach, kind) {
			what = "must be 0"
		}
		fmt.Fprintf(out, "  Multi-Attach, disk %s (%s): %d\n", kind, what, r.MultiAttach[kind])
		for _, d := range r.MultiAttachDetails[kind] {
			fmt.Fprintln(out, "    "+truncate(d, 600))
		}
	}

	settled := "at rest"
	if !r.Settled {
		settled = "NOT at rest"
	}
	fmt.Fprintf(out, "\nsettle: %s after %s\n", settled, r.SettleTime.Round(time.Second))
	if r.Final != nil {
		fmt.Fprintf(out, "final audit: %d pods and %d shared disks checked, %d violations\n", r.Final.Pods, r.Final.SharedDisks, len(r.Final.Violations))
		for _, v := range r.Final.Violations {
			fmt.Fprintf(out, "  %s disk=%s zone=%s node=%s: %s\n", v.Rule, v.Disk, v.Zone, v.Node, v.Detail)
		}
	}
	if e := r.Explain; e != nil {
		fmt.Fprintf(out, "explain: compared with %d pending pods' messages (%d skipped, stale node count); disagreements: %d; stale counts: %d; messages with unexplained nodes: %d\n",
			e.Compared, e.Skipped, len(e.Disagreements), len(e.StaleCounts), len(e.Unexplained))
		for _, d := range e.Disagreements {
			fmt.Fprintln(out, "  DISAGREE  "+d)
		}
		for _, u := range e.Unexplained {
			fmt.Fprintln(out, "  UNEXPLAINED  "+u)
		}
	}
	if rr := r.Reasons; rr != nil {
		trueTotal := 0
		for _, n := range rr.True {
			trueTotal += n
		}
		othersTotal := 0
		for _, n := range rr.Others {
			othersTotal += n
		}
		fmt.Fprintf(out, "pending pods: %d; VolumeTopology reasons true: %d, false: %d; other reasons (not verified): %d; stale node counts: %d; without a reason: %d\n",
			rr.Pending, trueTotal, len(rr.False), othersTotal, len(rr.Stale), len(rr.Unexplained))
		for _, k := range slices.Sorted(maps.Keys(rr.True)) {
			fmt.Fprintf(out, "  true   %-18s %d\n", k, rr.True[k])
		}
		for _, f := range rr.False {
			fmt.Fprintln(out, "  FALSE  "+f)
		}
		for _, k := range slices.Sorted(maps.Keys(rr.Others)) {
			fmt.Fprintf(out, "  other  %4d x %s\n", rr.Others[k], k)
		}
		for i, s := range rr.Stale {
			if i == 5 {
				fmt.Fprintf(out, "  stale  ... and %d more\n", len(rr.Stale)-5)
				break
			}
			fmt.Fprintln(out, "  stale  "+s)
		}
		for _, u := range rr.Unexplained {
			fmt.Fprintln(out, "  NONE   "+u)
		}
	}
	fmt.Fprint(out, "generic ephemeral volumes, pods running on their own disk:")
	for _, set := range slices.Sorted(maps.Keys(r.EphemeralRunning)) {
		fmt.Fprintf(out, " %s %d", set, r.EphemeralRunning[set])
	}
	fmt.Fprintf(out, "; claims of deleted pods collected: %d\n", r.ClaimsGarbageCollected)
	for _, p := range r.EphemeralProblems {
		fmt.Fprintln(out, "  "+p)
	}
	fmt.Fprintf(out, "bound but not running: %d; ConflictingZone events: %d; forbidden scheduler requests: %d; scheduler panics: %d\n",
		len(r.StuckBound), r.ConflictingZone, len(r.Forbidden), len(r.Panics))
	for _, s := range r.StuckBound {
		fmt.Fprintln(out, "  "+s)
	}
	for _, f := range append(r.Forbidden, r.Panics...) {
		fmt.Fprintln(out, "  "+f)
	}
	if f := r.Failures(); len(f) > 0 {
		fmt.Fprintf(out, "\nRESULT: FAIL (%d findings) in %s\n", len(f), r.Elapsed.Round(time.Second))
	} else {
		fmt.Fprintf(out, "\nRESULT: PASS in %s\n", r.Elapsed.Round(time.Second))
	}
}
