package soak

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/explain"
	vt "github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// ExplainReport is how `volume-topology-scheduler explain` agreed with the
// scheduler on the pending pods of a snapshot.
type ExplainReport struct {
	// Compared counts the pending pods compared; Skipped those whose
	// message counts a node set that no longer exists (nodes came or went
	// since the pod's last attempt).
	Compared, Skipped int
	// Disagreements are the pods where explain and the scheduler's message
	// tell different stories: a reason of the plugin that explain does not
	// give for any node, or nodes explain finds fitting that no reason of
	// another plugin accounts for (a pod kept Pending that would fit).
	Disagreements []string
	// StaleCounts are reasons explain gives for fewer nodes than the message
	// does: a node changed since the pod's last attempt in a way that does
	// not make it fit (a relabel the queueing hint rightly skips). Reported,
	// not failures.
	StaleCounts []string
	// Unexplained are messages that leave nodes without a rule of the plugin
	// ("didn't satisfy plugin(s) [VolumeTopology]").
	Unexplained []string
}

// CompareExplain runs explain (package explain: the plugin's own rule code
// on this very snapshot) for every pending pod of namespace and compares it
// with the pod's PodScheduled message. The scheduler names each node by the
// first plugin that rejects it, explain by the first of the plugin's rules,
// so: every plugin reason the message gives, explain gives too (for at least
// as many nodes, unless the message is older than a node's change); the
// nodes explain finds fitting are at most the nodes other plugins' reasons
// account for; and no node is left unexplained.
func CompareExplain(ctx context.Context, s *audit.State, args *config.VolumeTopologyArgs, namespace string) (*ExplainReport, error) {
	r := &ExplainReport{}
	x, err := explain.New(ctx, s, args)
	if err != nil {
		return nil, err
	}
	defer x.Close()
	for i := range s.Pods {
		pod := &s.Pods[i]
		if pod.Namespace != namespace || !IsPending(pod) {
			continue
		}
		key := pod.Namespace + "/" + pod.Name
		var msg string
		for _, c := range pod.Status.Conditions {
			if c.Type == "PodScheduled" {
				msg = c.Message
			}
		}
		if strings.Contains(msg, "didn't satisfy plugin(s)") && strings.Contains(msg, vt.Name) {
			r.Unexplained = append(r.Unexplained, key+": "+truncate(msg, 300))
		}
		total, reasons, ok := ParseFitError(msg)
		if !ok || len(reasons) == 0 || reasons[0].Count < 0 {
			continue // not a FitError, or a PreFilter message (CheckReasons checks those)
		}
		if total != len(s.Nodes) {
			r.Skipped++
			continue
		}
		rep, err := x.Pod(ctx, pod)
		if err != nil {
			return nil, fmt.Errorf("explaining %s: %w", key, err)
		}
		r.Compared++
		byReason := map[string]int{}
		for _, rc := range rep.Reasons {
			byReason[rc.Reason] = rc.Nodes
		}
		others := 0
		var problems []string
		for _, reason := range reasons {
			if kind, _ := matchReason(reason.Text); kind == "" {
				others += reason.Count
				continue
			}
			switch n := byReason[reason.Text]; {
			case n == 0:
				problems = append(problems, fmt.Sprintf("the scheduler gives %d node(s) %q, explain none", reason.Count, reason.Text))
			case n < reason.Count:
				r.StaleCounts = append(r.StaleCounts, fmt.Sprintf("%s: the scheduler gives %d node(s) %q, explain %d", key, reason.Count, reason.Text, n))
			}
		}
		if len(rep.Fits) > others {
			problems = append(problems, fmt.Sprintf("explain finds %d node(s) fitting (%s), other plugins account for %d", len(rep.Fits), strings.Join(rep.Fits, ","), others))
		}
		if len(problems) > 0 {
			r.Disagreements = append(r.Disagreements, key+": "+strings.Join(problems, "; "))
		}
	}
	sort.Strings(r.Disagreements)
	sort.Strings(r.StaleCounts)
	sort.Strings(r.Unexplained)
	return r, nil
}
