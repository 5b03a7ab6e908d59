package install

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	schedvalidation "k8s.io/kubernetes/pkg/scheduler/apis/config/validation"
	"sigs.k8s.io/yaml"

	vtconfig "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	vtscheme "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/scheme"
	vtvalidation "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/validation"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// TestHelmLint lints the chart strictly (warnings fail) for every minor.
func TestHelmLint(t *testing.T) {
	for _, minor := range kubeMinors(t) {
		out, _ := helm(t, false, "lint", "--strict", "--kube-version", minor, chartDir())
		if !strings.Contains(out, "0 chart(s) failed") {
			t.Errorf("helm lint --kube-version %s:\n%s", minor, out)
		}
	}
}

// TestHelmTemplatePicksTheBuildOfTheClusterMinor renders the chart for
// clusters of every minor around the builds: a minor with a build gets its
// image, the minor after the newest build gets the newest build (one minor
// older, which the skew policy allows), and every other minor is refused with
// a message that says why.
func TestHelmTemplatePicksTheBuildOfTheClusterMinor(t *testing.T) {
	minors := kubeMinors(t)
	oldest, newest := minorNumber(t, minors[0]), minorNumber(t, minors[len(minors)-1])
	for n := oldest - 2; n <= newest+2; n++ {
		cluster := fmt.Sprintf("1.%d", n)
		var want string
		switch {
		case slices.Contains(minors, cluster):
			want = cluster
		case n == newest+1:
			want = minors[len(minors)-1]
		}
		// Providers add a suffix to the version (and "+" to the minor).
		for _, version := range []string{cluster, fmt.Sprintf("v%s.3-aliyun.1", cluster)} {
			t.Run(version, func(t *testing.T) {
				if want == "" {
					_, stderr := helm(t, true, "template", releaseName, chartDir(), "--namespace", namespace, "--kube-version", version)
					for _, s := range []string{"has no build for this cluster's Kubernetes " + cluster, strings.Join(minors, ", "), "kube-scheduler must not be newer than the kube-apiserver"} {
						if !strings.Contains(stderr, s) {
							t.Errorf("refusal does not say %q:\n%s", s, stderr)
						}
					}
					return
				}
				d := findObject(t, helmTemplate(t, version), "Deployment", releaseName)
				if got := containerImage(t, d); got != imageFor(t, want) {
					t.Errorf("image %s, want %s", got, imageFor(t, want))
				}
			})
		}
	}
}

func minorNumber(t *testing.T, minor string) int {
	t.Helper()
	major, n, ok := strings.Cut(minor, ".")
	i, err := strconv.Atoi(n)
	if !ok || major != "1" || err != nil {
		t.Fatalf("Kubernetes minor %q is not 1.<n>", minor)
	}
	return i
}

func containerImage(t *testing.T, d object) string {
	t.Helper()
	cs, _ := get(d, "spec", "template", "spec", "containers").([]any)
	if len(cs) != 1 {
		t.Fatalf("%s has %d containers, want 1", d.id(), len(cs))
	}
	return str(cs[0].(map[string]any), "image")
}

// TestHelmTemplateValues renders the chart with values changed and checks
// they reach the objects, and that the objects still fit together (names,
// selectors, the service account, the configuration the scheduler decodes).
func TestHelmTemplateValues(t *testing.T) {
	minor := kubeMinors(t)[len(kubeMinors(t))-1]
	tests := []struct {
		name  string
		flags []string
		check func(t *testing.T, r rendered)
	}{{
		name: "defaults",
		check: func(t *testing.T, r rendered) {
			if r.deployment.Spec.Replicas == nil || *r.deployment.Spec.Replicas != 2 {
				t.Errorf("replicas %v, want 2", r.deployment.Spec.Replicas)
			}
			args := r.args()
			if args.MaxNodesPerZone != 16 || !slices.Equal(args.Drivers, []string{disk.DriverName}) {
				t.Errorf("args %+v, want the drivers [%s] and maxNodesPerZone 16", args, disk.DriverName)
			}
			// Fields left out take the plugin's defaults.
			if !slices.Equal(args.NVMeInstanceFamilies, disk.DefaultNVMeInstanceFamilies) || !args.CountVolumeAttachments ||
				args.NVMeLabelKey != disk.LabelNVMeMultiAttach || !slices.Equal(args.ZoneLabelKeys, disk.DefaultZoneLabelKeys) {
				t.Errorf("args %+v do not have the plugin's defaults", args)
			}
			le := r.config.LeaderElection
			if !le.LeaderElect || le.ResourceName != schedulerName || le.ResourceNamespace != namespace {
				t.Errorf("leader election %+v, want the Lease %s/%s", le, namespace, schedulerName)
			}
			if r.pdb == nil || r.pdb.Spec.MaxUnavailable == nil || r.pdb.Spec.MaxUnavailable.IntValue() != 1 || r.pdb.Spec.MinAvailable != nil {
				t.Errorf("PodDisruptionBudget %+v, want maxUnavailable 1", r.pdb)
			}
			if r.service == nil || r.service.Spec.Ports[0].Port != 10259 || r.service.Spec.Ports[0].TargetPort.String() != "https" {
				t.Errorf("metrics Service %+v, want port 10259 to the container port https", r.service)
			}
			if got := r.container().Image; got != imageFor(t, minor) {
				t.Errorf("image %s, want %s", got, imageFor(t, minor))
			}
		},
	}, {
		name: "plugin args",
		flags: []string{
			"--set", "pluginArgs.maxNodesPerZone=4,pluginArgs.countVolumeAttachments=false,pluginArgs.nvmeLabelKey=example.com/nvme",
			"--set-json", `pluginArgs.drivers=["disk.csi.example.com"]`,
			"--set-json", `pluginArgs.zoneLabelKeys=["topology.kubernetes.io/zone"]`,
			"--set-json", `pluginArgs.nvmeInstanceFamilies=[]`,
		},
		check: func(t *testing.T, r rendered) {
			args := r.args()
			if args.MaxNodesPerZone != 4 || args.CountVolumeAttachments || args.NVMeLabelKey != "example.com/nvme" ||
				!slices.Equal(args.Drivers, []string{"disk.csi.example.com"}) || !slices.Equal(args.ZoneLabelKeys, []string{"topology.kubernetes.io/zone"}) {
				t.Errorf("args %+v do not have the values set", args)
			}
			// An explicit empty list is kept: the node label alone decides.
			if args.NVMeInstanceFamilies == nil || len(args.NVMeInstanceFamilies) != 0 {
				t.Errorf("nvmeInstanceFamilies %v, want an empty list", args.NVMeInstanceFamilies)
			}
		},
	}, {
		name: "names, image, replicas, leader election",
		flags: []string{
			"--set", "fullnameOverride=vts,schedulerName=disk-scheduler,replicas=3,logVerbosity=4",
			"--set", "image.repository=registry.example.com/vts,leaderElection.resourceName=vts-leader,leaderElection.resourceNamespace=kube-system",
		},
		check: func(t *testing.T, r rendered) {
			if r.deployment.Name != "vts" || r.configMap.Name != "vts-config" || r.sa.Name != "vts" {
				t.Errorf("names %s, %s, %s; want vts, vts-config, vts", r.deployment.Name, r.configMap.Name, r.sa.Name)
			}
			if *r.deployment.Spec.Replicas != 3 {
				t.Errorf("replicas %d, want 3", *r.deployment.Spec.Replicas)
			}
			if got, want := r.container().Image, "registry.example.com/vts:"+chartAppVersion(t)+"-k8s"+minor; got != want {
				t.Errorf("image %s, want %s", got, want)
			}
			if !slices.Contains(r.container().Args, "--v=4") {
				t.Errorf("args %v lack --v=4", r.container().Args)
			}
			if p := r.config.Profiles[0].SchedulerName; p != "disk-scheduler" {
				t.Errorf("profile %s, want disk-scheduler", p)
			}
			le := r.config.LeaderElection
			if le.ResourceName != "vts-leader" || le.ResourceNamespace != "kube-system" {
				t.Errorf("Lease %s/%s, want kube-system/vts-leader", le.ResourceNamespace, le.ResourceName)
			}
			if !slices.Equal(r.leaseRuleNames(t), []string{"vts-leader"}) {
				t.Errorf("the ClusterRole grants get/update on the Leases %v, want [vts-leader]", r.leaseRuleNames(t))
			}
		},
	}, {
		name:  "tag override",
		flags: []string{"--set", "image.tag=v9.9.9-k8s1.36"},
		check: func(t *testing.T, r rendered) {
			if got := r.container().Image; got != "volume-topology-scheduler:v9.9.9-k8s1.36" {
				t.Errorf("image %s, want volume-topology-scheduler:v9.9.9-k8s1.36", got)
			}
		},
	}, {
		name:  "one replica without leader election",
		flags: []string{"--set", "replicas=1,leaderElection.enabled=false,podDisruptionBudget.enabled=false,metrics.service.enabled=false"},
		check: func(t *testing.T, r rendered) {
			if r.config.LeaderElection.LeaderElect {
				t.Error("leader election is on")
			}
			if names := r.leaseRuleNames(t); names != nil {
				t.Errorf("the ClusterRole grants Leases %v with leader election off", names)
			}
			if r.pdb != nil || r.service != nil {
				t.Error("PodDisruptionBudget or metrics Service rendered though disabled")
			}
		},
	}, {
		name:  "minAvailable",
		flags: []string{"--set", "podDisruptionBudget.minAvailable=1,podDisruptionBudget.maxUnavailable=null"},
		check: func(t *testing.T, r rendered) {
			if r.pdb.Spec.MinAvailable == nil || r.pdb.Spec.MinAvailable.IntValue() != 1 || r.pdb.Spec.MaxUnavailable != nil {
				t.Errorf("PodDisruptionBudget spec %+v, want minAvailable 1 only", r.pdb.Spec)
			}
		},
	}, {
		name:  "resources and security context",
		flags: []string{"--set", "resources.limits.memory=2Gi,securityContext.runAsUser=1000,podSecurityContext.fsGroup=1000"},
		check: func(t *testing.T, r rendered) {
			c := r.container()
			if got := c.Resources.Limits.Memory().String(); got != "2Gi" {
				t.Errorf("memory limit %s, want 2Gi", got)
			}
			if got := c.Resources.Requests.Cpu().String(); got != "100m" {
				t.Errorf("cpu request %s, want the default 100m kept", got)
			}
			if *c.SecurityContext.RunAsUser != 1000 || !*c.SecurityContext.ReadOnlyRootFilesystem {
				t.Errorf("container securityContext %+v, want runAsUser 1000 and the other defaults kept", c.SecurityContext)
			}
			if psc := r.deployment.Spec.Template.Spec.SecurityContext; psc.FSGroup == nil || *psc.FSGroup != 1000 || !*psc.RunAsNonRoot {
				t.Errorf("pod securityContext %+v, want fsGroup 1000 and runAsNonRoot kept", psc)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := render(t, minor, tc.flags...)
			r.checkConsistent(t)
			tc.check(t, r)
		})
	}
}

// TestHelmTemplateRefusesBadValues: the values schema and the chart's own
// checks stop an install with a message naming the value.
func TestHelmTemplateRefusesBadValues(t *testing.T) {
	minor := kubeMinors(t)[len(kubeMinors(t))-1]
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--set", "pluginArgs.maxNodesPerZon=4"}, "maxNodesPerZon"},
		{[]string{"--set", "pluginArgs.maxNodesPerZone=0"}, "/pluginArgs/maxNodesPerZone"},
		{[]string{"--set", "pluginArgs.countVolumeAttachments=yes"}, "/pluginArgs/countVolumeAttachments"},
		{[]string{"--set", "replicas=2,leaderElection.enabled=false"}, "replicas > 1 needs leaderElection.enabled"},
		{[]string{"--set", "podDisruptionBudget.minAvailable=1"}, "set only one of podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable"},
		{[]string{"--set", "monitoring.serviceMonitor.enabled=true,metrics.service.enabled=false"}, "monitoring.serviceMonitor.enabled needs metrics.service.enabled"},
		{[]string{"--set", "monitoring.prometheusRule.for.noLeader=5 minutes"}, "/monitoring/prometheusRule/for/noLeader"},
	} {
		t.Run(strings.Join(tc.flags, " "), func(t *testing.T) {
			args := append([]string{"template", releaseName, chartDir(), "--namespace", namespace, "--kube-version", minor}, tc.flags...)
			_, stderr := helm(t, true, args...)
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("error does not mention %q:\n%s", tc.want, stderr)
			}
		})
	}
}

// TestBuildsMatch: the chart, the kustomize overlays and the Makefile agree
// on the minors there are builds for.
func TestBuildsMatch(t *testing.T) {
	minors := kubeMinors(t)
	entries, err := os.ReadDir(filepath.Join(root, "deploy", "kustomize"))
	if err != nil {
		t.Fatal(err)
	}
	var overlays []string
	for _, e := range entries {
		if m, ok := strings.CutPrefix(e.Name(), "k8s"); ok && e.IsDir() {
			overlays = append(overlays, m)
		}
	}
	if !slices.Equal(overlays, minors) {
		t.Errorf("deploy/kustomize has k8s%v, the Makefile's KUBE_MINORS are %v", overlays, minors)
	}
	// Which minors the chart accepts is checked by
	// TestHelmTemplatePicksTheBuildOfTheClusterMinor against the same list.
}

// rendered is the chart's output, typed.
type rendered struct {
	objs       []object
	deployment *appsv1.Deployment
	configMap  *v1.ConfigMap
	sa         *v1.ServiceAccount
	pdb        *policyv1.PodDisruptionBudget
	service    *v1.Service
	config     *schedconfig.KubeSchedulerConfiguration
}

func render(t *testing.T, minor string, flags ...string) rendered {
	t.Helper()
	r := rendered{objs: helmTemplate(t, minor, flags...)}
	for _, o := range r.objs {
		switch o.kind() {
		case "Deployment":
			r.deployment = typed[appsv1.Deployment](t, o)
		case "ConfigMap":
			r.configMap = typed[v1.ConfigMap](t, o)
		case "ServiceAccount":
			r.sa = typed[v1.ServiceAccount](t, o)
		case "PodDisruptionBudget":
			r.pdb = typed[policyv1.PodDisruptionBudget](t, o)
		case "Service":
			r.service = typed[v1.Service](t, o)
		}
	}
	if r.deployment == nil || r.configMap == nil || r.sa == nil {
		t.Fatalf("the chart rendered no Deployment, ConfigMap or ServiceAccount: %v", ids(r.objs))
	}
	r.config = decodeSchedulerConfig(t, r.configMap.Data["config.yaml"])
	return r
}

func (r rendered) container() *v1.Container {
	return &r.deployment.Spec.Template.Spec.Containers[0]
}

func (r rendered) args() *vtconfig.VolumeTopologyArgs {
	for _, pc := range r.config.Profiles[0].PluginConfig {
		if args, ok := pc.Args.(*vtconfig.VolumeTopologyArgs); ok {
			return args
		}
	}
	return nil
}

// leaseRuleNames are the Lease names the ClusterRole grants get/update on.
func (r rendered) leaseRuleNames(t *testing.T) []string {
	t.Helper()
	role := typed[rbacv1.ClusterRole](t, findObject(t, r.objs, "ClusterRole", r.deployment.Name))
	var names []string
	for _, rule := range role.Rules {
		if slices.Contains(rule.Resources, "leases") && slices.Contains(rule.Verbs, "update") {
			names = append(names, rule.ResourceNames...)
		}
	}
	return names
}

// checkConsistent checks what must hold whatever the values: the objects
// refer to each other by the names they have, selectors select the scheduler
// pods, the configuration decodes and validates as the scheduler does it.
func (r rendered) checkConsistent(t *testing.T) {
	t.Helper()
	pod := r.deployment.Spec.Template
	if pod.Spec.ServiceAccountName != r.sa.Name || r.sa.Namespace != r.deployment.Namespace {
		t.Errorf("pods run as %s, the ServiceAccount is %s/%s", pod.Spec.ServiceAccountName, r.sa.Namespace, r.sa.Name)
	}
	var cmVolume bool
	for _, v := range pod.Spec.Volumes {
		cmVolume = cmVolume || (v.ConfigMap != nil && v.ConfigMap.Name == r.configMap.Name)
	}
	if !cmVolume {
		t.Errorf("no volume mounts the ConfigMap %s", r.configMap.Name)
	}
	if !selects(r.deployment.Spec.Selector.MatchLabels, pod.Labels) {
		t.Errorf("the Deployment's selector %v does not select its pods %v", r.deployment.Spec.Selector.MatchLabels, pod.Labels)
	}
	if r.pdb != nil && !selects(r.pdb.Spec.Selector.MatchLabels, pod.Labels) {
		t.Errorf("the PodDisruptionBudget's selector %v does not select the pods %v", r.pdb.Spec.Selector.MatchLabels, pod.Labels)
	}
	if r.service != nil && !selects(r.service.Spec.Selector, pod.Labels) {
		t.Errorf("the metrics Service's selector %v does not select the pods %v", r.service.Spec.Selector, pod.Labels)
	}
	for _, o := range r.objs {
		if o.kind() != "ClusterRoleBinding" && o.kind() != "RoleBinding" {
			continue
		}
		subjects, _ := get(o, "subjects").([]any)
		if len(subjects) != 1 || str(subjects[0].(map[string]any), "name") != r.sa.Name || str(subjects[0].(map[string]any), "namespace") != r.sa.Namespace {
			t.Errorf("%s binds %v, want only the ServiceAccount %s/%s", o.id(), subjects, r.sa.Namespace, r.sa.Name)
		}
	}
	if len(r.config.Profiles) != 1 || r.args() == nil {
		t.Fatalf("the configuration has %d profiles or no VolumeTopology args", len(r.config.Profiles))
	}
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// decodeSchedulerConfig decodes a KubeSchedulerConfiguration as the
// scheduler does (strictly, with the plugin's args registered and defaulted)
// and validates it with kube-scheduler's validation and the plugin's.
func decodeSchedulerConfig(t *testing.T, data string) *schedconfig.KubeSchedulerConfiguration {
	t.Helper()
	obj, _, err := vtscheme.Codecs.UniversalDecoder().Decode([]byte(data), nil, nil)
	if err != nil {
		t.Fatalf("decoding the scheduler configuration: %v\n%s", err, data)
	}
	cfg, ok := obj.(*schedconfig.KubeSchedulerConfiguration)
	if !ok {
		t.Fatalf("the configuration decoded to %T", obj)
	}
	if err := schedvalidation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
		t.Errorf("invalid scheduler configuration: %v", err)
	}
	for _, p := range cfg.Profiles {
		for _, pc := range p.PluginConfig {
			if args, ok := pc.Args.(*vtconfig.VolumeTopologyArgs); ok {
				if err := vtvalidation.ValidateVolumeTopologyArgs(field.NewPath("args"), args); err != nil {
					t.Errorf("invalid VolumeTopology args: %v", err)
				}
			}
		}
	}
	return cfg
}

func ids(objs []object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.id())
	}
	return out
}

// typed converts a rendered object to its API type, strictly: a field the
// type does not have (a typo in a template) fails the test.
func typed[T any](t *testing.T, o object) *T {
	t.Helper()
	data, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := yaml.UnmarshalStrict(data, out); err != nil {
		t.Fatalf("%s: %v", o.id(), err)
	}
	return out
}

// TestREADMEValuesTable: the README's table of values lists every value of
// the chart's values schema, and nothing else.
func TestREADMEValuesTable(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(chartDir(), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	type schema struct {
		Properties map[string]*schema `json:"properties"`
	}
	var s schema
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	var inSchema []string
	var walk func(prefix string, s *schema)
	walk = func(prefix string, s *schema) {
		for k, p := range s.Properties {
			if len(p.Properties) == 0 {
				inSchema = append(inSchema, prefix+k)
			} else {
				walk(prefix+k+".", p)
			}
		}
	}
	walk("", &s)
	slices.Sort(inSchema)

	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Helm\n")
	if !ok {
		t.Fatal("README.md has no section ## Helm")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, table, ok := strings.Cut(section, "| value | default |")
	if !ok {
		t.Fatal("the README's Helm section has no table of values")
	}
	var inREADME []string
	for _, line := range strings.Split(table, "\n")[2:] {
		if !strings.HasPrefix(line, "| `") {
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
		inREADME = append(inREADME, name)
	}
	slices.Sort(inREADME)
	if !slices.Equal(inREADME, inSchema) {
		t.Errorf("the README's values table lists %v;\nthe values schema has %v", inREADME, inSchema)
	}
}
