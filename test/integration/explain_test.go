package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac"

	"github.com/volume-topology/volume-topology-scheduler/pkg/command"
	"github.com/volume-topology/volume-topology-scheduler/pkg/explain"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
)

// explain runs as this ServiceAccount, bound to nothing but the roles of
// manifests/explain-rbac.yaml. The API server's audit log records its
// requests too (see newLeastPrivilege).
const (
	explainNamespace = metav1.NamespaceDefault
	explainAccount   = "volume-topology-explain"
)

var explainUser = localcluster.ServiceAccountUser(explainNamespace, explainAccount)

// explainAccess installs what a deployed scheduler leaves for explain: the
// ConfigMap with the configuration the suite's scheduler runs with (its
// --config file), under the name and key the manifests give it, and the
// explain roles of manifests/explain-rbac.yaml, bound to a ServiceAccount.
// It returns a kubeconfig with that account's token.
func explainAccess(ctx context.Context, t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(cluster.Dir, "scheduler.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cm := &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: explain.DefaultConfigMapNamespace, Name: explain.DefaultConfigMap},
		Data:       map[string]string{explain.ConfigMapKey: string(data)},
	}
	objs := []runtime.Object{cm, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: explainNamespace, Name: explainAccount}}}
	ms, err := localcluster.ReadManifestFile(filepath.Join("..", "..", "manifests", "explain-rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: explainNamespace, Name: explainAccount}}
	for _, m := range ms {
		objs = append(objs, m.Object)
		switch r := m.Object.(type) {
		case *rbacv1.ClusterRole:
			objs = append(objs, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "test:" + r.Name},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r.Name},
				Subjects:   subject,
			})
		case *rbacv1.Role:
			objs = append(objs, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: "test:" + r.Name},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: r.Name},
				Subjects:   subject,
			})
		}
	}
	a, err := localcluster.NewApplier(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(ctx, "", objs...); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "explain.kubeconfig")
	if err := cluster.ServiceAccountKubeconfig(ctx, explainNamespace, explainAccount, path, time.Hour); err != nil {
		t.Fatal(err)
	}
	return path
}

// runExplain runs "volume-topology-scheduler explain" as the binary does
// (command.Main) with a kubeconfig, and returns its output.
func runExplain(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	argv := append([]string{"volume-topology-scheduler", "explain"}, args...)
	if code := command.Main(append(argv, "--kubeconfig", kubeconfig), &stdout, &stderr); code != 0 {
		t.Fatalf("%s: exit %d\n%s%s", strings.Join(argv, " "), code, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// TestExplainAgreesWithTheScheduler: "explain pod" on a pending replica of
// the lease workload, with the configuration it reads from the cluster,
// groups the nodes as the scheduler's PodScheduled message does, with the
// same counts, and quotes that message. A running replica fits its own
// node. "explain -f" predicts the same workload in a new namespace: 16
// replicas placed, the rest Pending at the attach limit. Every request
// explain made is then checked against the audit log: allowed, and by the
// explain roles, every rule of which was used. Not parallel: it compares
// whole-cluster messages, which other tests' cordons would change.
func TestExplainAgreesWithTheScheduler(t *testing.T) {
	ctx := testContext(t)
	kubeconfig := explainAccess(ctx, t)
	ns := newNamespace(ctx, t, "explain")
	apply(ctx, t, ns, leaseObjects(t)...)
	scale(ctx, t, ns, "lease-test", 20)
	c := waitPods(ctx, t, ns, leaseSelector, 16, 4, 60*time.Second)
	pending := c.unschedulable[0]
	// The message of the last attempt, once it is of the settled state.
	var msg, want string
	var r explain.Report
	waitFor(ctx, t, 30*time.Second, "explain and the scheduler to agree", func() (bool, string, error) {
		r = explain.Report{}
		if err := json.Unmarshal([]byte(runExplain(t, kubeconfig, "pod", pending.Name, "-n", ns, "-o", "json")), &r); err != nil {
			return false, "", err
		}
		var groups []string
		for _, rc := range r.Reasons {
			groups = append(groups, fmt.Sprintf("%d %s", rc.Nodes, rc.Reason))
		}
		sort.Strings(groups)
		want = fmt.Sprintf("0/%d nodes are available: %s.", len(r.Nodes), strings.Join(groups, ", "))
		msg = r.SchedulerMessage
		return len(r.Fits) == 0 && strings.HasPrefix(msg, want), fmt.Sprintf("explain: %s\nscheduler: %s", want, msg), nil
	})
	if want := "ConfigMap volume-topology-system/volume-topology-scheduler-config, profile volume-topology-scheduler"; r.Configuration != want {
		t.Errorf("configuration %q, want %q", r.Configuration, want)
	}

	table := runExplain(t, kubeconfig, "pod", ns+"/"+pending.Name)
	lines := strings.Split(table, "\n")
	for _, line := range []string{
		explain.LineConfiguration + r.Configuration,
		"Fits now: no node",
		explain.LineSchedulerSays + msg,
		"What would let it in:",
	} {
		if !slices.Contains(lines, line) {
			t.Errorf("explain pod output lacks the line %q:\n%s", line, table)
		}
	}

	// A running replica at the attach limit: with itself left out, its own
	// node fits (the disk is attached there), and no other node of the zone.
	running := c.running[0]
	out := runExplain(t, kubeconfig, "pod", running.Name, "-n", ns, "-o", "json")
	var rr explain.Report
	if err := json.Unmarshal([]byte(out), &rr); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rr.Fits, []string{running.Spec.NodeName}) {
		t.Errorf("running %s on %s fits %v, want only its own node", running.Name, running.Spec.NodeName, rr.Fits)
	}

	whatIf := newNamespace(ctx, t, "whatif")
	out = runExplain(t, kubeconfig, "-f", filepath.Join("..", "..", "manifests", "examples", "lease.yaml"), "--replicas", "18", "-n", whatIf)
	if fits, stays := strings.Count(out, ": fits "), strings.Count(out, ": would stay Pending: "); fits != 16 || stays != 2 {
		t.Errorf("explain -f --replicas 18: %d replicas fit and %d stay Pending, want 16 and 2:\n%s", fits, stays, out)
	}
	checkRules(ctx, t, ns)
	checkExplainPrivilege(ctx, t)
}

// checkExplainPrivilege reads explain's requests from the API server's
// audit log: none refused, each allowed by the explain roles, every list
// paginated, and every rule of the roles used by some request.
func checkExplainPrivilege(ctx context.Context, t *testing.T) {
	t.Helper()
	lp := &leastPrivilege{
		sa:   &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: explainNamespace, Name: explainAccount}},
		user: explainUser,
		log:  suiteAudit,
	}
	used, refused, err := lp.requests()
	if err != nil {
		t.Fatal(err)
	}
	if len(used) == 0 {
		t.Fatalf("the audit log holds no request of %s: explain did not run with the ServiceAccount's token", explainUser)
	}
	for r, why := range refused {
		t.Errorf("the API server refused %s to explain (%s): a permission manifests/explain-rbac.yaml lacks", r, why)
	}
	grants, err := lp.grants(ctx, cluster)
	if err != nil {
		t.Fatal(err)
	}
	var own []grant
	for _, g := range grants {
		if strings.HasSuffix(g.role, " volume-topology-scheduler-explain") {
			own = append(own, g)
		}
	}
	if len(own) != 2 {
		t.Fatalf("explain is bound to %d explain roles, want the ClusterRole and the Role", len(own))
	}
	for _, r := range used {
		if !slices.ContainsFunc(own, func(g grant) bool { return g.allows(lp, r) }) {
			t.Errorf("no explain role allows %s", r)
		}
	}
	events, err := suiteAudit.Events()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.User.Username == explainUser && e.Verb == "list" && !strings.Contains(e.RequestURI, fmt.Sprintf("limit=%d", explain.PageSize)) {
			t.Errorf("explain listed without a page size: %s", e.RequestURI)
		}
	}
	var report []string
	for _, g := range own {
		for _, rule := range g.rules {
			for _, group := range rule.APIGroups {
				for _, res := range rule.Resources {
					for _, verb := range rule.Verbs {
						narrow := rbacv1.PolicyRule{APIGroups: []string{group}, Resources: []string{res}, Verbs: []string{verb}, ResourceNames: rule.ResourceNames}
						ok := slices.ContainsFunc(used, func(r apiRequest) bool {
							return (g.namespace == "" || g.namespace == r.Namespace) && rbac.RuleAllows(lp.attributes(r), &narrow)
						})
						report = append(report, fmt.Sprintf("%s %s used=%v", g.role, ruleKey(group, res, verb), ok))
						if !ok {
							t.Errorf("%s grants %s (names %v), which explain never used: remove it", g.role, ruleKey(group, res, verb), rule.ResourceNames)
						}
					}
				}
			}
		}
	}
	t.Logf("explain's requests: %v\nrules: %s", used, strings.Join(report, "; "))
}
