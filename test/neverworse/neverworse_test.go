package neverworse

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler"
	schedulerapi "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/kubernetes/pkg/scheduler/profile"
	"sigs.k8s.io/yaml"

	"github.com/volume-topology/volume-topology-scheduler/manifests"
	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/scheme"
	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

var (
	seed  = flag.Uint64("seed", 1, "seed of the random worlds (CI uses 1; any seed must pass)")
	cases = flag.Int("cases", 3000, "pods placed, in worlds of -pods-per-world pods")
	perW  = flag.Int("pods-per-world", 10, "pods placed in each world")
	// verbose logs why each placement the default profile accepts would not run.
	verbose = flag.Bool("why", false, "log why each placement the default profile accepts would not run")
)

const (
	defaultProfile = "default-scheduler"
	ourProfile     = "volume-topology-scheduler"
)

// profiles are the shipped configuration's profile (the default plugins plus
// VolumeTopology and DiskLocality) and kube-scheduler's default profile,
// decoded and defaulted as kube-scheduler decodes its --config file, and
// VolumeTopology's args.
func profiles(t *testing.T) ([]schedulerapi.KubeSchedulerProfile, *config.VolumeTopologyArgs) {
	t.Helper()
	shipped, err := manifests.SchedulerConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shipped, "profiles:\n") {
		t.Fatal("shipped configuration has no profiles list")
	}
	withDefault := strings.Replace(shipped, "profiles:\n", "profiles:\n- schedulerName: "+defaultProfile+"\n", 1)
	obj, _, err := scheme.Codecs.UniversalDecoder().Decode([]byte(withDefault), nil, nil)
	if err != nil {
		t.Fatalf("decoding the shipped configuration: %v", err)
	}
	cfg, ok := obj.(*schedulerapi.KubeSchedulerConfiguration)
	if !ok {
		t.Fatalf("decoded %T", obj)
	}
	var args *config.VolumeTopologyArgs
	for _, p := range cfg.Profiles {
		for _, pc := range p.PluginConfig {
			if a, ok := pc.Args.(*config.VolumeTopologyArgs); ok && p.SchedulerName == ourProfile {
				args = a
			}
		}
	}
	if len(cfg.Profiles) != 2 || args == nil {
		t.Fatalf("profiles %d, VolumeTopology args %v: want the default profile and ours", len(cfg.Profiles), args)
	}
	return cfg.Profiles, args
}

// cluster is one world loaded into a scheduler built by kube-scheduler's
// own scheduler.New with both profiles.
type cluster struct {
	fws    map[string]framework.Framework
	nodes  []fwk.NodeInfo
	cancel context.CancelFunc
}

func load(ctx context.Context, w *world, profs []schedulerapi.KubeSchedulerProfile) (*cluster, error) {
	var objs []runtime.Object
	for _, o := range w.nodes {
		objs = append(objs, o)
	}
	for _, o := range w.classes {
		objs = append(objs, o)
	}
	for _, o := range w.claims {
		objs = append(objs, o)
	}
	for _, o := range w.pvs {
		objs = append(objs, o)
	}
	// kube-scheduler's pod informer lists with a field selector that leaves
	// out finished pods; the fake clientset ignores field selectors, so they
	// are left out here.
	for _, o := range w.pods {
		if o.Status.Phase != v1.PodSucceeded && o.Status.Phase != v1.PodFailed {
			objs = append(objs, o)
		}
	}
	for _, o := range w.vas {
		objs = append(objs, o)
	}
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	ctx, cancel := context.WithCancel(ctx)
	c := &cluster{cancel: cancel, fws: map[string]framework.Framework{}}
	var (
		mu   sync.Mutex
		ours []*volumetopology.VolumeTopology
	)
	registry := frameworkruntime.Registry{
		volumetopology.Name: func(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
			p, err := volumetopology.New(ctx, obj, h)
			if err == nil {
				mu.Lock()
				ours = append(ours, p.(*volumetopology.VolumeTopology))
				mu.Unlock()
			}
			return p, err
		},
		volumetopology.LocalityName: volumetopology.NewDiskLocality,
	}
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	sched, err := scheduler.New(ctx, client, factory, nil, profile.NewRecorderFactory(broadcaster),
		scheduler.WithProfiles(profs...), scheduler.WithFrameworkOutOfTreeRegistry(registry))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("scheduler.New: %w", err)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	if err := sched.WaitForHandlersSync(ctx); err != nil {
		cancel()
		return nil, err
	}
	if err := wait.PollUntilContextTimeout(ctx, time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		return len(ours) == 1 && ours[0].HasSynced(), nil
	}); err != nil {
		cancel()
		return nil, fmt.Errorf("VolumeTopology's node index: %w", err)
	}
	logger := klog.FromContext(ctx)
	for name, fw := range sched.Profiles {
		c.fws[name] = fw
		snap, ok := fw.SnapshotSharedLister().(*cache.Snapshot)
		if !ok {
			cancel()
			return nil, fmt.Errorf("profile %s: snapshot is %T", name, fw.SnapshotSharedLister())
		}
		if err := sched.Cache.UpdateSnapshot(logger, snap); err != nil {
			cancel()
			return nil, err
		}
		if c.nodes, err = snap.NodeInfos().List(); err != nil {
			cancel()
			return nil, err
		}
	}
	if len(c.nodes) != len(w.nodes) {
		cancel()
		return nil, fmt.Errorf("snapshot has %d nodes, the world %d", len(c.nodes), len(w.nodes))
	}
	return c, nil
}

// verdicts runs a profile's PreFilter and Filter for the pod on every node:
// "" for a node that passes, otherwise why not.
func (c *cluster) verdicts(ctx context.Context, name string, pod *v1.Pod) map[string]string {
	fw := c.fws[name]
	out := map[string]string{}
	state := framework.NewCycleState()
	res, s, _ := fw.RunPreFilterPlugins(ctx, state, pod)
	for _, n := range c.nodes {
		node := n.Node().Name
		switch {
		case !s.IsSuccess():
			out[node] = fmt.Sprintf("PreFilter %s: %s", s.Code(), s.Message())
		case !res.AllNodes() && !res.NodeNames.Has(node):
			out[node] = "PreFilter's node list leaves it out"
		default:
			if fs := fw.RunFilterPluginsWithNominatedPods(ctx, state, pod, n); !fs.IsSuccess() {
				out[node] = fmt.Sprintf("Filter %s %s: %s", fs.Plugin(), fs.Code(), fs.Message())
			} else {
				out[node] = ""
			}
		}
	}
	return out
}

// violationKeys are an audit's violations, each as one string.
func violationKeys(s *audit.State, args *config.VolumeTopologyArgs) []string {
	var out []string
	for _, v := range audit.Check(s, args).Violations {
		out = append(out, fmt.Sprintf("%s disk=%s zone=%s node=%s pods=%v nodes=%v: %s", v.Rule, v.Disk, v.Zone, v.Node, v.Pods, v.Nodes, v.Detail))
	}
	return out
}

func auditState(w *world) *audit.State {
	s := &audit.State{}
	for _, o := range w.nodes {
		s.Nodes = append(s.Nodes, *o)
	}
	// The audit judges the disks as the driver makes them: a class's
	// multiAttach is spelled as the simulated driver reads it, so the audit's
	// shared-disk rules (NVMe, holder, attach limit) never follow the
	// plugin's own reading of the spelling.
	for _, o := range w.classes {
		c := o.DeepCopy()
		delete(c.Parameters, disk.ParamMultiAttach)
		if simcloud.MultiAttach(o.Parameters) {
			c.Parameters[disk.ParamMultiAttach] = "true"
		}
		s.Classes = append(s.Classes, *c)
	}
	for _, o := range w.claims {
		s.Claims = append(s.Claims, *o)
	}
	for _, o := range w.pvs {
		s.Volumes = append(s.Volumes, *o)
	}
	for _, o := range w.pods {
		s.Pods = append(s.Pods, *o)
	}
	for _, o := range w.vas {
		s.VolumeAttachments = append(s.VolumeAttachments, *o)
	}
	return s
}

// succeeds tells whether the pod would run on node: the simulated driver
// provisions each unbound claim for the node without a zone conflict, the
// node has a zone for the cloud to attach in, and the audit of the cluster
// with the pod placed there finds no violation it did not find before
// (zone, NVMe, attach limit, holder, a single-attach disk in use on another
// node). why says what fails.
func succeeds(w *world, pod *v1.Pod, node *v1.Node, args *config.VolumeTopologyArgs, before []string) (ok bool, why string) {
	if _, err := disk.ZoneOf(node.Labels, args.ZoneLabelKeys); err != nil {
		return false, "the cloud cannot attach to a node without a zone: " + err.Error()
	}
	s := auditState(w)
	for _, vol := range pod.Spec.Volumes {
		i := slices.IndexFunc(s.Claims, func(c v1.PersistentVolumeClaim) bool {
			return c.Name == vol.PersistentVolumeClaim.ClaimName
		})
		c := &s.Claims[i]
		if c.Spec.VolumeName != "" {
			continue
		}
		class := classNamed(w, *c.Spec.StorageClassName)
		pv, conflict, err := simcloud.ProvisionFor(c, class, node, "d-new-"+c.Name)
		switch {
		case err != nil:
			return false, fmt.Sprintf("the driver refuses claim %s: %v", c.Name, err)
		case conflict != "":
			return false, fmt.Sprintf("the driver creates claim %s's disk where the node cannot attach it: %s", c.Name, conflict)
		}
		pv.Spec.ClaimRef.UID = c.UID
		c.Spec.VolumeName = pv.Name
		s.Volumes = append(s.Volumes, *pv)
	}
	placed := pod.DeepCopy()
	placed.Spec.NodeName = node.Name
	placed.Status.Phase = v1.PodRunning
	s.Pods = append(s.Pods, *placed)
	var added []string
	for _, v := range violationKeys(s, args) {
		if !slices.Contains(before, v) {
			added = append(added, v)
		}
	}
	if len(added) > 0 {
		return false, "the audit finds " + strings.Join(added, "; ")
	}
	return true, ""
}

func classNamed(w *world, name string) *storagev1.StorageClass {
	for _, c := range w.classes {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// counterexample prints what a failing case needs: the pod, the node, the
// objects the pod's claims lead to (their classes, volumes, users and
// attachments), and both verdicts.
func counterexample(w *world, pod *v1.Pod, node *v1.Node, ours string) string {
	var b strings.Builder
	dump := func(o any) {
		y, _ := yaml.Marshal(o)
		b.WriteString("---\n")
		b.Write(y)
	}
	fmt.Fprintf(&b, "node %s: default profile: fits; ours: %s\n", node.Name, ours)
	dump(pod)
	dump(node)
	claims := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		claims[v.PersistentVolumeClaim.ClaimName] = true
	}
	pvs, classes := map[string]bool{}, map[string]bool{}
	for _, c := range w.claims {
		if claims[c.Name] {
			dump(c)
			pvs[c.Spec.VolumeName] = true
			classes[*c.Spec.StorageClassName] = true
		}
	}
	for _, c := range w.classes {
		if classes[c.Name] {
			dump(c)
		}
	}
	for _, pv := range w.pvs {
		if pvs[pv.Name] {
			dump(pv)
		}
	}
	users := map[string]bool{}
	for _, p := range w.pods {
		for _, v := range p.Spec.Volumes {
			if claims[v.PersistentVolumeClaim.ClaimName] {
				users[p.Name] = true
			}
		}
	}
	for _, p := range w.pods {
		if users[p.Name] {
			dump(p)
		}
	}
	for _, va := range w.vas {
		if pvs[*va.Spec.Source.PersistentVolumeName] {
			dump(va)
		}
	}
	for _, n := range w.nodes {
		if n.Name != node.Name && slices.ContainsFunc(w.pods, func(p *v1.Pod) bool { return users[p.Name] && p.Spec.NodeName == n.Name }) {
			dump(n)
		}
	}
	return b.String()
}

// TestNeverWorse: every node the default profile accepts for a pod, where the
// pod would run (see succeeds), our profile accepts too.
func TestNeverWorse(t *testing.T) {
	// The frameworks log at V(4) and more for every node; the test prints
	// what fails itself.
	ctx := klog.NewContext(context.Background(), logr.Discard())
	profs, args := profiles(t)
	start := time.Now()
	r := rand.New(rand.NewPCG(*seed, 15))
	var placed, defaultFits, runs, both, failures int
	for wi := 0; placed < *cases; wi++ {
		w := genWorld(r, *perW)
		c, err := load(ctx, w, profs)
		if err != nil {
			t.Fatalf("world %d: %v", wi, err)
		}
		before := violationKeys(auditState(w), args)
		for _, pod := range w.pending {
			placed++
			theirs, ours := c.verdicts(ctx, defaultProfile, pod), c.verdicts(ctx, ourProfile, pod)
			for _, n := range w.nodes {
				if theirs[n.Name] != "" {
					continue
				}
				defaultFits++
				ok, why := succeeds(w, pod, n, args, before)
				if !ok {
					if *verbose {
						t.Logf("does not run: %s", why)
					}
					continue
				}
				runs++
				if ours[n.Name] == "" {
					both++
					continue
				}
				failures++
				if failures <= 3 {
					t.Errorf("seed %d, world %d: our profile refuses a node where the default profile places the pod and it runs:\n%s",
						*seed, wi, counterexample(w, pod, n, ours[n.Name]))
				}
			}
		}
		c.cancel()
	}
	t.Logf("seed %d: %d pods placed; %d nodes the default profile accepts, %d of them where the pod runs, %d accepted by ours too; %d counterexamples; %v",
		*seed, placed, defaultFits, runs, both, failures, time.Since(start).Round(time.Millisecond))
	// The generator must reach the property: enough placements that run.
	if runs < *cases/10 {
		t.Errorf("only %d placements of %d pods run: the generator no longer exercises the property", runs, placed)
	}
}
