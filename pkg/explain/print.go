package explain

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// Print writes reports as text ("table") or JSON ("json"). With several
// reports (a what-if workload) the text shows one line per pod, then every
// node for the first pod that does not fit (or the last one).
func Print(w io.Writer, reports []*Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if len(reports) == 1 {
			return enc.Encode(reports[0])
		}
		return enc.Encode(reports)
	case "table", "":
	default:
		return fmt.Errorf("unknown output format %q (want table or json)", format)
	}
	if len(reports) > 0 && reports[0].Configuration != "" {
		fmt.Fprintf(w, "%s%s\n", LineConfiguration, reports[0].Configuration)
	}
	if len(reports) == 1 {
		return printReport(w, reports[0])
	}
	detail := reports[len(reports)-1]
	for _, r := range reports {
		switch {
		case r.NotOurs:
			fmt.Fprintf(w, "%s: none of its claims is a disk of the plugin's drivers; VolumeTopology does not constrain it\n", r.Pod)
		case r.Rejected != "":
			fmt.Fprintf(w, "%s: would stay Pending on every node: %s\n", r.Pod, r.Rejected)
		case r.Node != "":
			fmt.Fprintf(w, "%s: fits %d node(s), e.g. %s (zone %s)\n", r.Pod, len(r.Fits), r.Node, zoneOf(r, r.Node))
		default:
			fmt.Fprintf(w, "%s: would stay Pending: %s\n", r.Pod, reasonsLine(r))
			if detail == reports[len(reports)-1] {
				detail = r
			}
		}
	}
	fmt.Fprintln(w)
	return printReport(w, detail)
}

func zoneOf(r *Report, node string) string {
	for _, n := range r.Nodes {
		if n.Name == node {
			return zoneName(n.Zone)
		}
	}
	return "?"
}

// Line prefixes of the text output.
const (
	// LineConfiguration names the scheduler configuration and profile.
	LineConfiguration = "Configuration: "
	// LineSchedulerSays is the pod's PodScheduled message.
	LineSchedulerSays = "The scheduler says: "
	// LinePrediction is what VolumeTopology's rules alone predict, for a
	// pod the scheduler has said nothing about.
	LinePrediction = "Predicted by VolumeTopology's rules (the pod has no PodScheduled message): "
	// LineNote is a note on the answer.
	LineNote = "Note: "
)

// reasonsLine groups the nodes by reason, as kube-scheduler's message does.
func reasonsLine(r *Report) string {
	parts := make([]string, 0, len(r.Reasons))
	for _, rc := range r.Reasons {
		parts = append(parts, fmt.Sprintf("%d %s", rc.Nodes, rc.Reason))
	}
	slices.Sort(parts)
	return fmt.Sprintf("%d/%d nodes are available: %s.", len(r.Fits), len(r.Nodes), strings.Join(parts, ", "))
}

// Prediction is what VolumeTopology's rules say of the nodes, in
// kube-scheduler's words: how many nodes are available, and the others
// grouped by reason.
func Prediction(r *Report) string {
	if len(r.Reasons) == 0 {
		return fmt.Sprintf("%d/%d nodes are available.", len(r.Fits), len(r.Nodes))
	}
	return reasonsLine(r)
}

func printReport(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "Pod %s", r.Pod)
	if r.Node != "" {
		fmt.Fprintf(w, " (on %s)", r.Node)
	}
	fmt.Fprintln(w)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "%s%s\n", LineNote, n)
	}
	if r.SchedulerMessage != "" && (r.NotOurs || r.Rejected != "") {
		fmt.Fprintf(w, "%s%s\n", LineSchedulerSays, r.SchedulerMessage)
	}
	switch {
	case r.NotOurs:
		_, err := fmt.Fprintln(w, "  none of its claims is a disk of the plugin's drivers: VolumeTopology does not constrain it")
		return err
	case r.Rejected != "":
		_, err := fmt.Fprintf(w, "  no node can take it: %s\n", r.Rejected)
		return err
	}
	fmt.Fprintln(w, "Claims:")
	for _, c := range r.Claims {
		what := "single-attach"
		if c.Shared {
			what = "shared (multi-attach)"
		}
		where := "bound to " + c.Volume
		if c.Volume == "" {
			where = "unbound, class " + c.Class
			if c.SelectedNode != "" {
				where += ", being provisioned for node " + c.SelectedNode
			}
		}
		fmt.Fprintf(w, "  %s: disk %s, %s, %s\n", c.Name, c.Disk, what, where)
	}
	for _, d := range r.Disks {
		var zones []string
		for _, z := range slices.Sorted(maps.Keys(d.Attached)) {
			zones = append(zones, fmt.Sprintf("%s %d/%d", zoneName(z), d.Attached[z]+d.AnyZone, d.Limit))
		}
		if len(zones) == 0 {
			zones = []string{"no node yet"}
		}
		fmt.Fprintf(w, "Shared disk %s attached to: %s\n", d.Name, strings.Join(zones, ", "))
	}
	for _, a := range r.Attachments {
		fmt.Fprintf(w, "Disk %s: %s\n", a.Disk, AttachmentLine(a))
		if note := StuckAttachmentNote(a); note != "" {
			fmt.Fprintf(w, "  %s\n", note)
		}
	}
	for _, u := range r.InUse {
		for _, node := range slices.Sorted(maps.Keys(u.Users)) {
			fmt.Fprintf(w, "Disk %s: in use by pod %s on node %s (a single-attach disk serves other pods only on that node)\n", u.Disk, u.Users[node], node)
		}
	}
	if len(r.Locality) > 0 {
		var prefs []string
		for _, n := range slices.Sorted(maps.Keys(r.Locality)) {
			prefs = append(prefs, fmt.Sprintf("%s (%d)", n, r.Locality[n]))
		}
		fmt.Fprintf(w, "DiskLocality prefers, among the nodes that fit: %s\n", strings.Join(prefs, ", "))
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tZONE\tNVME\tDISK TYPES\tATTACHED\tZONE RULE\tIN USE\tNVME RULE\tHOLDER\tATTACH LIMIT\tVERDICT")
	for _, n := range r.Nodes {
		nvme := "no"
		if n.NVMe {
			nvme = "yes"
		}
		nvme += " (" + shortWhy(n.NVMeWhy) + ")"
		types := strings.TrimSpace(strings.Join(n.DiskTypes, ","))
		if types == "" {
			types = "-"
		}
		var attached []string
		for _, d := range r.Disks {
			attached = append(attached, fmt.Sprintf("%d/%d", d.Attached[n.Zone]+d.AnyZone, d.Limit))
		}
		verdict := "fits"
		if !n.Fits {
			for _, v := range n.Verdicts {
				if !v.Pass {
					verdict = v.Reason
					break
				}
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, zoneName(n.Zone), nvme, types, dashIfEmpty(strings.Join(attached, ",")),
			rule(n, volumetopology.RuleZone), rule(n, volumetopology.RuleInUse), rule(n, volumetopology.RuleNVMe), rule(n, volumetopology.RuleHolder), rule(n, volumetopology.RuleAttachLimit), verdict)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(r.Fits) > 0 {
		fmt.Fprintf(w, "Fits now: %d node(s): %s\n", len(r.Fits), list(r.Fits))
		fmt.Fprintln(w, "  (VolumeTopology's rules only: resources, taints and the other plugins decide among them)")
	} else {
		fmt.Fprintln(w, "Fits now: no node")
	}
	if r.SchedulerMessage != "" {
		fmt.Fprintf(w, "%s%s\n", LineSchedulerSays, r.SchedulerMessage)
	} else {
		fmt.Fprintf(w, "%s%s\n", LinePrediction, Prediction(r))
	}
	if len(r.Changes) > 0 {
		fmt.Fprintln(w, "What would let it in:")
		for _, c := range r.Changes {
			fmt.Fprintf(w, "  - %s\n", c)
		}
	}
	return nil
}

// rule is "ok", "FAIL" or "-" (not applicable) for a rule on a node; with
// several claims or disks, any failing one fails it.
func rule(n Node, name string) string {
	out := "-"
	for _, v := range n.Verdicts {
		if v.Rule != name {
			continue
		}
		if !v.Pass {
			return "FAIL"
		}
		out = "ok"
	}
	return out
}

// shortWhy abbreviates the NVMe reason for the table.
func shortWhy(why string) string {
	switch {
	case strings.HasPrefix(why, "instance family "):
		return "family " + strings.Fields(why)[2]
	case strings.HasPrefix(why, "instance type "):
		f := strings.Fields(why)
		return "family " + strings.TrimSuffix(f[4], ")")
	case strings.HasPrefix(why, "label "):
		return strings.TrimPrefix(why, "label ")
	}
	return why
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// AttachmentLine says where a disk is attached, attaching or detaching.
func AttachmentLine(a Attachment) string {
	switch a.State {
	case volumetopology.AttachmentAttached:
		return "attached to node " + a.Node
	case volumetopology.AttachmentDetaching:
		return "detaching from node " + a.Node
	default:
		return "attaching to node " + a.Node
	}
}

// StuckAttachmentNote is the line for a disk attached to a node that is
// NotReady or gone: the disk leaves it only when the attach-detach
// controller force-detaches it, and an attach elsewhere waits for that; ""
// for a Ready node.
func StuckAttachmentNote(a Attachment) string {
	if a.NodeState == volumetopology.NodeReady {
		return ""
	}
	what := "is NotReady"
	if a.NodeState == volumetopology.NodeGone {
		what = "is gone"
	}
	return fmt.Sprintf("node %s %s: an attach of disk %s to another node waits until it is detached from %s, which the attach-detach controller forces about 6 minutes after the node stops reporting; the taint node.kubernetes.io/out-of-service=nodeshutdown:NoExecute on a node that is really down detaches it at once",
		a.Node, what, a.Disk, a.Node)
}
