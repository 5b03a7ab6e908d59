package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/volume-topology/volume-topology-scheduler/pkg/command"
	"github.com/volume-topology/volume-topology-scheduler/pkg/explain"
)

// runCommand runs volume-topology-scheduler with args against the shared
// cluster and returns its output.
func runCommand(t *testing.T, args ...string) string {
	t.Helper()
	cmd := command.New()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append(args, "--kubeconfig", cluster.KubeconfigPath))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("volume-topology-scheduler %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// TestExplainAgreesWithTheScheduler: "explain pod" on a pending replica of
// the lease workload says, node by node, what the scheduler said in the
// pod's PodScheduled condition: the same groups with the same counts. Then
// "explain -f" predicts the same workload in a new namespace: 16 replicas
// placed, the rest Pending at the attach limit. Not parallel: it compares
// whole-cluster messages, which other tests' cordons would change.
func TestExplainAgreesWithTheScheduler(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "explain")
	apply(ctx, t, ns, leaseObjects(t)...)
	scale(ctx, t, ns, "lease-test", 20)
	c := waitPods(ctx, t, ns, leaseSelector, 16, 4, 60*time.Second)
	pending := c.unschedulable[0]
	// The message of the last attempt, once it is of the settled state.
	var msg, want string
	waitFor(ctx, t, 30*time.Second, "explain and the scheduler to agree", func() (bool, string, error) {
		var r explain.Report
		if err := json.Unmarshal([]byte(runCommand(t, "explain", "pod", ns+"/"+pending.Name, "-o", "json")), &r); err != nil {
			return false, "", err
		}
		var groups []string
		for _, rc := range r.Reasons {
			groups = append(groups, fmt.Sprintf("%d %s", rc.Nodes, rc.Reason))
		}
		sort.Strings(groups)
		want = fmt.Sprintf("0/%d nodes are available: %s.", len(r.Nodes), strings.Join(groups, ", "))
		now, err := countPods(ctx, ns, leaseSelector)
		if err != nil {
			return false, "", err
		}
		for _, p := range now.unschedulable {
			if p.Name == pending.Name {
				msg = scheduledCondition(&p).Message
			}
		}
		return len(r.Fits) == 0 && strings.HasPrefix(msg, want), fmt.Sprintf("explain: %s\nscheduler: %s", want, msg), nil
	})

	table := runCommand(t, "explain", "pod", ns+"/"+pending.Name)
	for _, line := range []string{"Fits now: no node", "The scheduler says: " + want, "What would let it in:"} {
		if !strings.Contains(table, line) {
			t.Errorf("explain pod output lacks %q:\n%s", line, table)
		}
	}

	whatIf := newNamespace(ctx, t, "whatif")
	out := runCommand(t, "explain", "-f", filepath.Join("..", "..", "manifests", "examples", "lease.yaml"), "--replicas", "18", "-n", whatIf)
	if fits, stays := strings.Count(out, ": fits "), strings.Count(out, ": would stay Pending: "); fits != 16 || stays != 2 {
		t.Errorf("explain -f --replicas 18: %d replicas fit and %d stay Pending, want 16 and 2:\n%s", fits, stays, out)
	}
	checkRules(ctx, t, ns)
}
