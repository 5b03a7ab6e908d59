// Package volumetopology is the VolumeTopology scheduler plugin: it places pods
// that use cloud block disks where the disks can follow them. See README.md.
package volumetopology

import (
	"context"
	"fmt"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	configv1 "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/v1"
	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/validation"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// Name is the plugin's name in the registry and in scheduler configurations.
const Name = "VolumeTopology"

// VolumeTopology enforces the placement rules of cloud block disks: zone
// topology of WaitForFirstConsumer disks, the per-zone multi-attach cap, one
// reservation holder per node per shared disk, NVMe-capable nodes for shared
// disks, and a single-attach disk in use on a node serving other pods only
// there.
type VolumeTopology struct {
	handle   fwk.Handle
	args     config.VolumeTopologyArgs
	resolver *disk.Resolver
	nodes    *nodeIndex
	// nodesSynced tells whether the node index has seen every node of the
	// informer's initial list. The scheduler waits for its own event
	// handlers only, and since client-go 0.36 an informer reports synced
	// before its handlers have been told of every object.
	nodesSynced func() bool

	// events records the plugin's Warning events; warned rate-limits them.
	events eventRecorder
	warned *warnings

	// nominator lists the pods preemption nominated to a node; nil when
	// the framework has no pod nominator (explain, some tests).
	nominator func(node string) []fwk.PodInfo

	pvLister   corelisters.PersistentVolumeLister
	nodeLister corelisters.NodeLister
	vaIndexer  cache.Indexer // VolumeAttachments by PV name

	// The holder index (holders.go): assigned pods by claim, and the pods
	// this scheduler assumed and has not seen bound. scanHolders makes
	// nodesUsing pass over every node instead, as tests' oracle.
	podIndexer  cache.Indexer
	assumed     *assumedPods
	scanHolders bool

	// percentage is the profile's percentageOfNodesToScore (nil: not set,
	// and kube-scheduler's default, adaptive, is assumed), for deciding
	// whether a zone's nodes are worth handing the scheduler as the list
	// to evaluate (see preFilterZonal).
	percentage *int32
}

var (
	_ fwk.PreFilterPlugin   = &VolumeTopology{}
	_ fwk.FilterPlugin      = &VolumeTopology{}
	_ fwk.PreScorePlugin    = &VolumeTopology{}
	_ fwk.ScorePlugin       = &VolumeTopology{}
	_ fwk.ReservePlugin     = &VolumeTopology{}
	_ fwk.EnqueueExtensions = &VolumeTopology{}
)

// Index names; prefixed so they never collide with another plugin's. PVs
// are indexed by disk.VolumeHandleIndex.
const vaByPVIndex = "volume-topology.scheduling.io/persistentVolumeName"

// Name returns the plugin's name.
func (pl *VolumeTopology) Name() string { return Name }

// New builds the plugin from its args (defaults applied when obj is nil).
func New(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
	args, err := argsFrom(obj)
	if err != nil {
		return nil, err
	}
	if err := validation.ValidateVolumeTopologyArgs(field.NewPath("pluginConfig").Key(Name).Child("args"), args); err != nil {
		return nil, err
	}
	registerMetrics()

	factory := h.SharedInformerFactory()
	pvInformer := factory.Core().V1().PersistentVolumes()
	// The index does not depend on the args, so plugin instances of several
	// profiles share it.
	if err := addIndexer(pvInformer.Informer(), disk.VolumeHandleIndex, disk.IndexByVolumeHandle); err != nil {
		return nil, err
	}
	pl := &VolumeTopology{
		handle: h,
		args:   *args,
		resolver: &disk.Resolver{
			PVCs:    factory.Core().V1().PersistentVolumeClaims().Lister(),
			PVs:     pvInformer.Lister(),
			Classes: factory.Storage().V1().StorageClasses().Lister(),
			Volumes: disk.IndexedVolumes{Indexer: pvInformer.Informer().GetIndexer()},
			Drivers: args.Drivers,
		},
		nodes:      newNodeIndex(disk.NewNodeClassifier(args.ZoneLabelKeys, args.NVMeInstanceFamilies, args.NVMeLabelKey)),
		warned:     newWarnings(),
		pvLister:   pvInformer.Lister(),
		nodeLister: factory.Core().V1().Nodes().Lister(),
	}
	if r := h.EventRecorder(); r != nil {
		pl.events = r
	}
	if hasNominator(h) {
		pl.nominator = h.NominatedPodsForNode
	}
	if p, ok := h.(interface{ PercentageOfNodesToScore() *int32 }); ok {
		pl.percentage = p.PercentageOfNodesToScore()
	}
	reg, err := factory.Core().V1().Nodes().Informer().AddEventHandler(pl.nodes.handler())
	if err != nil {
		return nil, fmt.Errorf("watching nodes: %w", err)
	}
	pl.nodesSynced = reg.HasSynced
	// VolumeAttachments say where each disk is attached: DiskLocality's
	// score reads them always, the attach limit when they count.
	vaInformer := factory.Storage().V1().VolumeAttachments()
	if err := addIndexer(vaInformer.Informer(), vaByPVIndex, vaPersistentVolumeName); err != nil {
		return nil, err
	}
	pl.vaIndexer = vaInformer.Informer().GetIndexer()
	// The holder index: where each claim is in use, without a pass over
	// every node.
	podInformer := factory.Core().V1().Pods().Informer()
	if err := addIndexer(podInformer, podByClaimIndex, assignedPodClaims); err != nil {
		return nil, err
	}
	pl.podIndexer = podInformer.GetIndexer()
	if pl.assumed, err = assumedPodsFor(ctx, podInformer); err != nil {
		return nil, err
	}
	return pl, nil
}

// argsFrom returns the internal args, defaulted when the configuration gave none.
func argsFrom(obj runtime.Object) (*config.VolumeTopologyArgs, error) {
	if obj == nil {
		return DefaultArgs(), nil
	}
	args, ok := obj.(*config.VolumeTopologyArgs)
	if !ok {
		return nil, fmt.Errorf("want args of type VolumeTopologyArgs, got %T", obj)
	}
	return args, nil
}

// DefaultArgs returns the args with every default applied.
func DefaultArgs() *config.VolumeTopologyArgs {
	var in configv1.VolumeTopologyArgs
	configv1.SetObjectDefaults_VolumeTopologyArgs(&in)
	var out config.VolumeTopologyArgs
	if err := configv1.Convert_v1_VolumeTopologyArgs_To_config_VolumeTopologyArgs(&in, &out, nil); err != nil {
		panic(fmt.Sprintf("converting default VolumeTopologyArgs: %v", err))
	}
	return &out
}

// addIndexer adds an index to a shared informer unless a plugin instance of
// another profile already did.
func addIndexer(inf cache.SharedIndexInformer, name string, fn cache.IndexFunc) error {
	if _, ok := inf.GetIndexer().GetIndexers()[name]; ok {
		return nil
	}
	if err := inf.AddIndexers(cache.Indexers{name: fn}); err != nil {
		return fmt.Errorf("adding index %s: %w", name, err)
	}
	return nil
}

func vaPersistentVolumeName(obj interface{}) ([]string, error) {
	va, ok := obj.(*storagev1.VolumeAttachment)
	if !ok || va.Spec.Source.PersistentVolumeName == nil {
		return nil, nil
	}
	return []string{*va.Spec.Source.PersistentVolumeName}, nil
}

// hasNominator tells whether the handle can list nominated pods: a framework
// built without a pod nominator (as explain builds one) panics when asked.
func hasNominator(h fwk.Handle) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	h.NominatedPodsForNode("")
	return true
}
