package perf

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
	"github.com/volume-topology/volume-topology-scheduler/test/perf/results"
)

// prepareWorkload runs once the harness has started the API server and the
// scheduler, before the workload's first op. It registers every node's
// CSINode as the disk driver's node plugin does on a real node (the harness
// creates none, and kube-scheduler's volume plugins look them up for every
// node they filter), starts the simulated disk cloud for WaitForFirstConsumer
// claims, and registers the violation check, which runs after the workload.
func prepareWorkload(tCtx tContext) error {
	testCase, workload, ok := results.SplitBenchmarkName(tCtx.Name())
	if !ok {
		return fmt.Errorf("unexpected benchmark name %q", tCtx.Name())
	}
	clock.reset()
	base, err := gatherTiming(testCase, workload)
	if err != nil {
		return err
	}
	if err := registerCSINodes(tCtx); err != nil {
		return err
	}
	if kind, _ := results.SplitTestCase(testCase); kind == results.WorkloadWFFC {
		if _, err := simcloud.Start(tCtx, tCtx.Client(), simcloud.Options{Seed: 1}); err != nil {
			return fmt.Errorf("starting the simulated disk cloud: %w", err)
		}
	}
	// Cleanups run last-registered first: this one runs after the
	// workload's own cleanup (which stops its ops) and before the API
	// server and the simulated cloud stop.
	tCtx.CleanupCtx(func(tCtx tContext) { checkViolations(tCtx, testCase, workload, base) })
	return nil
}

// registerCSINodes creates a CSINode for every node as it appears, naming the
// disk driver with its zone topology key, as the driver's node plugin
// registers through the kubelet. The simulated provisioner reads the
// topology keys from it. It stops with the workload's cluster.
func registerCSINodes(tCtx tContext) error {
	client := tCtx.Client()
	factory := informers.NewSharedInformerFactory(client, 0)
	logger := klog.FromContext(tCtx)
	register := func(obj any) {
		node, ok := obj.(*v1.Node)
		if !ok {
			return
		}
		csiNode := &storagev1.CSINode{
			ObjectMeta: metav1.ObjectMeta{
				Name:            node.Name,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}},
			},
			Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{
				Name:         disk.DriverName,
				NodeID:       node.Name,
				TopologyKeys: []string{disk.LabelDriverZone},
			}}},
		}
		if _, err := client.StorageV1().CSINodes().Create(tCtx, csiNode, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) && tCtx.Err() == nil {
			logger.Error(err, "Registering CSINode", "node", klog.KObj(node))
		}
	}
	if _, err := factory.Core().V1().Nodes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: register}); err != nil {
		return err
	}
	factory.Start(tCtx.Done())
	go func() {
		<-tCtx.Done()
		factory.Shutdown()
	}()
	return nil
}
