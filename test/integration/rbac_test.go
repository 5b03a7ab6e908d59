package integration

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac"

	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
)

// Least privilege: the suite runs every scheduler (the shared in-process one
// and the replicas of the restart and failover tests) with a token of the
// ServiceAccount in manifests/serviceaccount.yaml, authorized by the API
// server's RBAC with exactly manifests/rbac.yaml applied. The API server
// writes an audit log of that user's requests. After the tests:
//   - a request the API server refused (403) fails the suite: a permission
//     the scheduler lacks;
//   - so does a request no granted rule covers (checked again here, in case
//     a refusal went unlogged);
//   - so does a rule of our own ClusterRole that no request used, unless
//     notExercised says why the suite cannot exercise it: a permission
//     granted but never used.
// The built-in roles the manifests bind (system:kube-scheduler,
// system:volume-scheduler) are read from the API server's bootstrap policy
// and only reported: they are Kubernetes' to keep.

// notExercised lists rules of our ClusterRole ("group/resource/verb", group
// "core" for the core group) that the scheduler needs only in situations the
// suite does not create, with the reason. Every other rule must be used.
var notExercised = map[string]string{
	"core/events/patch": "the leader election's event recorder writes core/v1 events (create, used when a replica takes the lease) " +
		"and patches one only when its correlator aggregates a repeated event (10 similar events within 10 minutes, " +
		"e.g. a replica crash-looping through the lease); the suite's few leader changes never repeat an event",
}

// suiteAudit is the API server's audit log (set up by TestMain).
var suiteAudit *localcluster.AuditLog

// schedulerKubeconfig is the kubeconfig every scheduler of the suite uses:
// a token of the manifests' ServiceAccount (set up by TestMain).
var schedulerKubeconfig string

// ownClusterRole is the ClusterRole manifests/rbac.yaml defines for the
// scheduler.
const ownClusterRole = "volume-topology-scheduler"

// leastPrivilege wires the scheduler's credentials and checks their use.
type leastPrivilege struct {
	manifests string
	sa        *v1.ServiceAccount
	user      string
	log       *localcluster.AuditLog
}

// newLeastPrivilege reads the ServiceAccount from the manifests and prepares
// the audit log in dir.
func newLeastPrivilege(dir string) (*leastPrivilege, error) {
	lp := &leastPrivilege{manifests: filepath.Join("..", "..", "manifests")}
	ms, err := localcluster.ReadManifestFile(filepath.Join(lp.manifests, "serviceaccount.yaml"))
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if sa, ok := m.Object.(*v1.ServiceAccount); ok {
			lp.sa = sa
		}
	}
	if lp.sa == nil {
		return nil, fmt.Errorf("no ServiceAccount in manifests/serviceaccount.yaml")
	}
	lp.user = localcluster.ServiceAccountUser(lp.sa.Namespace, lp.sa.Name)
	// The log records explain's requests too (explain_test.go).
	if lp.log, err = localcluster.NewAuditLog(dir, lp.user, explainUser); err != nil {
		return nil, err
	}
	suiteAudit = lp.log
	return lp, nil
}

// apiServerFlags turn on RBAC and the audit log.
func (lp *leastPrivilege) apiServerFlags() []string {
	return append(slices.Clone(localcluster.AuthorizationFlags), lp.log.Flags...)
}

// setup applies the manifests' namespace, ServiceAccount and RBAC, and writes
// a kubeconfig with a token of the ServiceAccount; it returns its path.
func (lp *leastPrivilege) setup(ctx context.Context, c *localcluster.Cluster) (string, error) {
	var objs []runtime.Object
	for _, f := range []string{"namespace.yaml", "serviceaccount.yaml", "rbac.yaml"} {
		ms, err := localcluster.ReadManifestFile(filepath.Join(lp.manifests, f))
		if err != nil {
			return "", err
		}
		for _, m := range ms {
			objs = append(objs, m.Object)
		}
	}
	a, err := localcluster.NewApplier(c.Config)
	if err != nil {
		return "", err
	}
	if _, err := a.Apply(ctx, "", objs...); err != nil {
		return "", err
	}
	path := filepath.Join(c.Dir, "scheduler.kubeconfig")
	if err := c.ServiceAccountKubeconfig(ctx, lp.sa.Namespace, lp.sa.Name, path, 6*time.Hour); err != nil {
		return "", err
	}
	return path, nil
}

// apiRequest is one kind of request the scheduler made.
type apiRequest struct {
	Verb, Group, Resource, Subresource, Namespace, Name, Path string
}

func (r apiRequest) String() string {
	if r.Resource == "" {
		return r.Verb + " " + r.Path
	}
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	g := r.Group
	if g == "" {
		g = "core"
	}
	s := fmt.Sprintf("%s %s/%s", r.Verb, g, res)
	if r.Namespace != "" {
		s += " in " + r.Namespace
	}
	if r.Name != "" {
		s += " named " + r.Name
	}
	return s
}

func (lp *leastPrivilege) attributes(r apiRequest) authorizer.Attributes {
	return authorizer.AttributesRecord{
		User:            &user.DefaultInfo{Name: lp.user, Groups: serviceaccount.MakeGroupNames(lp.sa.Namespace)},
		Verb:            r.Verb,
		Namespace:       r.Namespace,
		APIGroup:        r.Group,
		Resource:        r.Resource,
		Subresource:     r.Subresource,
		Name:            r.Name,
		ResourceRequest: r.Resource != "",
		Path:            r.Path,
	}
}

// grant is the rules one binding gives the scheduler.
type grant struct {
	binding, role string
	// namespace limits a RoleBinding's rules; "" for a ClusterRoleBinding.
	namespace string
	rules     []rbacv1.PolicyRule
}

func (g grant) allows(lp *leastPrivilege, r apiRequest) bool {
	if g.namespace != "" && g.namespace != r.Namespace {
		return false
	}
	return rbac.RulesAllow(lp.attributes(r), g.rules...)
}

// grants reads every binding that names the scheduler's ServiceAccount, its
// groups or its user from the API server, with the rules of their roles.
func (lp *leastPrivilege) grants(ctx context.Context, c *localcluster.Cluster) ([]grant, error) {
	groups := append(serviceaccount.MakeGroupNames(lp.sa.Namespace), user.AllAuthenticated)
	matches := func(subjects []rbacv1.Subject) bool {
		for _, s := range subjects {
			switch {
			case s.Kind == rbacv1.ServiceAccountKind && s.Namespace == lp.sa.Namespace && s.Name == lp.sa.Name,
				s.Kind == rbacv1.UserKind && s.Name == lp.user,
				s.Kind == rbacv1.GroupKind && slices.Contains(groups, s.Name):
				return true
			}
		}
		return false
	}
	rbacClient := c.Client.RbacV1()
	rolesOf := func(ref rbacv1.RoleRef, namespace string) ([]rbacv1.PolicyRule, error) {
		if ref.Kind == "ClusterRole" {
			r, err := rbacClient.ClusterRoles().Get(ctx, ref.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("clusterrole %s: %w", ref.Name, err)
			}
			return r.Rules, nil
		}
		r, err := rbacClient.Roles(namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("role %s/%s: %w", namespace, ref.Name, err)
		}
		return r.Rules, nil
	}
	var out []grant
	crbs, err := rbacClient.ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, b := range crbs.Items {
		if !matches(b.Subjects) {
			continue
		}
		rules, err := rolesOf(b.RoleRef, "")
		if err != nil {
			return nil, err
		}
		out = append(out, grant{binding: "ClusterRoleBinding " + b.Name, role: b.RoleRef.Kind + " " + b.RoleRef.Name, rules: rules})
	}
	rbs, err := rbacClient.RoleBindings("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, b := range rbs.Items {
		if !matches(b.Subjects) {
			continue
		}
		rules, err := rolesOf(b.RoleRef, b.Namespace)
		if err != nil {
			return nil, err
		}
		out = append(out, grant{binding: "RoleBinding " + b.Namespace + "/" + b.Name, role: b.RoleRef.Kind + " " + b.RoleRef.Name, namespace: b.Namespace, rules: rules})
	}
	return out, nil
}

// requests reads the scheduler's requests from the audit log: every distinct
// request, and those the API server refused.
func (lp *leastPrivilege) requests() (used []apiRequest, refused map[apiRequest]string, err error) {
	events, err := lp.log.Events()
	if err != nil {
		return nil, nil, err
	}
	seen := map[apiRequest]bool{}
	refused = map[apiRequest]string{}
	for _, e := range events {
		if e.User.Username != lp.user {
			continue
		}
		r := requestOf(&e)
		if e.ResponseStatus != nil && e.ResponseStatus.Code == 403 || e.Annotations["authorization.k8s.io/decision"] == "forbid" {
			refused[r] = e.Annotations["authorization.k8s.io/reason"]
			continue
		}
		if !seen[r] {
			seen[r] = true
			used = append(used, r)
		}
	}
	sort.Slice(used, func(i, j int) bool { return used[i].String() < used[j].String() })
	return used, refused, nil
}

func requestOf(e *auditv1.Event) apiRequest {
	r := apiRequest{Verb: e.Verb}
	if o := e.ObjectRef; o != nil && o.Resource != "" {
		r.Group, r.Resource, r.Subresource, r.Namespace, r.Name = o.APIGroup, o.Resource, o.Subresource, o.Namespace, o.Name
		switch {
		case r.Verb == "create":
			// The authorizer sees no name on a create (the log takes it
			// from the body), so resourceNames cannot allow one.
			r.Name = ""
		case r.Resource != "leases" && r.Resource != "configmaps":
			// Names of pods, claims, nodes and events vary and no rule of
			// ours restricts them: one entry per kind of request.
			r.Name = ""
		}
		return r
	}
	if u, err := url.Parse(e.RequestURI); err == nil {
		r.Path = u.Path
	} else {
		r.Path = e.RequestURI
	}
	return r
}

// ruleKey names one (group, resource, verb) of a rule.
func ruleKey(group, resource, verb string) string {
	if group == "" {
		group = "core"
	}
	return group + "/" + resource + "/" + verb
}

// checkLeastPrivilege returns what is wrong with the scheduler's
// permissions, and writes a report of what it used to out. complete says that
// every test ran, so an unused rule is a finding.
func (lp *leastPrivilege) check(ctx context.Context, c *localcluster.Cluster, complete bool, out io.Writer) ([]string, error) {
	used, refused, err := lp.requests()
	if err != nil {
		return nil, err
	}
	if len(used) == 0 {
		return []string{"the audit log holds no request of " + lp.user + ": the scheduler did not run with the ServiceAccount's credentials"}, nil
	}
	grants, err := lp.grants(ctx, c)
	if err != nil {
		return nil, err
	}
	var problems []string
	for r, why := range refused {
		if why != "" {
			why = " (" + why + ")"
		}
		problems = append(problems, fmt.Sprintf("the API server refused %s to the scheduler%s: a permission manifests/rbac.yaml lacks", r, why))
	}
	// One line per kind of request; the tests' namespaces are folded into
	// "<test namespace>".
	lines := map[string]string{}
	for _, r := range used {
		var by []string
		for _, g := range grants {
			if g.allows(lp, r) {
				by = append(by, g.role)
			}
		}
		if len(by) == 0 {
			problems = append(problems, fmt.Sprintf("no rule bound to the scheduler allows %s", r))
		}
		shown := r
		if shown.Namespace != "" && shown.Namespace != metav1.NamespaceSystem && shown.Namespace != lp.sa.Namespace {
			shown.Namespace = "<test namespace>"
		}
		lines[shown.String()] = strings.Join(by, ", ")
	}
	keys := make([]string, 0, len(lines))
	for k := range lines {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "request of %s\tallowed by\n", lp.user)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\n", k, lines[k])
	}
	tw.Flush()

	// Every rule of our own ClusterRole must be used.
	var own *rbacv1.ClusterRole
	ms, err := localcluster.ReadManifestFile(filepath.Join(lp.manifests, "rbac.yaml"))
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if cr, ok := m.Object.(*rbacv1.ClusterRole); ok && cr.Name == ownClusterRole {
			own = cr
		}
	}
	if own == nil {
		return append(problems, "manifests/rbac.yaml has no ClusterRole "+ownClusterRole), nil
	}
	var builtin []rbacv1.PolicyRule
	for _, g := range grants {
		if g.role != "ClusterRole "+ownClusterRole && g.namespace == "" {
			builtin = append(builtin, g.rules...)
		}
	}
	fmt.Fprintf(out, "\nrules of ClusterRole %s:\n", ownClusterRole)
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "group/resource/verb\tnames\tused by\talso granted by built-in roles\tnot exercised because")
	for _, rule := range own.Rules {
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				for _, v := range rule.Verbs {
					narrow := rbacv1.PolicyRule{APIGroups: []string{g}, Resources: []string{res}, Verbs: []string{v}, ResourceNames: rule.ResourceNames}
					var users []string
					for _, r := range used {
						if rbac.RuleAllows(lp.attributes(r), &narrow) {
							users = append(users, r.String())
						}
					}
					key := ruleKey(g, res, v)
					redundant := builtinCovers(builtin, narrow)
					why, documented := notExercised[key]
					fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", key, strings.Join(rule.ResourceNames, ","), firstOr(users, "-"), redundant, truncate(why, 60))
					switch {
					case len(users) > 0 && documented:
						problems = append(problems, fmt.Sprintf("notExercised lists %s (%s), but the suite used it: %s; remove it from the table", key, why, users[0]))
					case len(users) == 0 && !documented && complete:
						problems = append(problems, fmt.Sprintf("ClusterRole %s grants %s (names %v), which the scheduler never used: remove it from manifests/rbac.yaml, or list it in notExercised with the situation that needs it",
							ownClusterRole, key, rule.ResourceNames))
					}
				}
			}
		}
	}
	tw.Flush()
	sort.Strings(problems)
	return problems, nil
}

// builtinCovers tells whether the built-in roles grant a narrow rule for
// every name it allows (an unnamed rule needs an unnamed grant).
func builtinCovers(rules []rbacv1.PolicyRule, narrow rbacv1.PolicyRule) bool {
	for _, r := range rules {
		if !slices.ContainsFunc(r.Verbs, func(v string) bool { return v == narrow.Verbs[0] || v == rbacv1.VerbAll }) ||
			!slices.ContainsFunc(r.APIGroups, func(g string) bool { return g == narrow.APIGroups[0] || g == rbacv1.APIGroupAll }) ||
			!slices.ContainsFunc(r.Resources, func(s string) bool { return s == narrow.Resources[0] || s == rbacv1.ResourceAll }) {
			continue
		}
		if len(r.ResourceNames) == 0 {
			return true
		}
		if len(narrow.ResourceNames) > 0 && !slices.ContainsFunc(narrow.ResourceNames, func(n string) bool { return !slices.Contains(r.ResourceNames, n) }) {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	if len(s) > 1 {
		return fmt.Sprintf("%s (+%d)", s[0], len(s)-1)
	}
	return s[0]
}

// allTestsRan tells whether the suite ran without -run or -skip filters, so
// that a permission no test used is really unused.
func allTestsRan() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}
