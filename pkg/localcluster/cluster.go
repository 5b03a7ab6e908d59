package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	restclient "k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// Options configure a local control plane.
type Options struct {
	// EtcdPath is the etcd executable; empty means FindEtcd("").
	EtcdPath string
	// Dir holds the kubeconfig and scheduler configurations. Empty means a
	// new temporary directory, removed by Stop; a given one is kept.
	Dir string
	// APIServerFlags are added to the defaults (see defaultAPIServerFlags).
	APIServerFlags []string
	// NoStatefulSetController leaves StatefulSets to the caller.
	NoStatefulSetController bool
	// DeploymentControllers starts the Deployment and ReplicaSet
	// controllers too.
	DeploymentControllers bool
	// EphemeralVolumeController starts Kubernetes' ephemeral volume
	// controller too, which creates the claims of pods' generic ephemeral
	// volumes. Nothing here deletes them with their pods: the caller plays
	// the garbage collector.
	EphemeralVolumeController bool
	// NoKubelets leaves pods Pending after binding and terminating pods
	// terminating (see kubelets).
	NoKubelets bool
}

// Cluster is a local control plane: etcd, kube-apiserver, Kubernetes'
// PersistentVolume and StatefulSet controllers (and, when asked, the
// Deployment and ReplicaSet controllers), and simulated kubelets. It
// has no scheduler until StartScheduler, and no storage driver until one is
// started against it (see package simcloud).
type Cluster struct {
	// Client and Config act as the loopback user, who may do anything.
	Client kubernetes.Interface
	Config *restclient.Config
	// KubeconfigPath is a kubeconfig file for the same user, for kubectl and
	// for schedulers.
	KubeconfigPath string
	// Dir holds KubeconfigPath and the files the cluster writes.
	Dir string

	etcd      *Etcd
	apiserver *apiServer
	cancel    context.CancelFunc
	removeDir bool
	stopped   chan struct{}
}

// Start brings up a local control plane and returns once the API server is
// healthy and the controllers have synced. It runs until Stop is called or
// ctx ends.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	logger := klog.FromContext(ctx)
	start := time.Now()
	etcdPath, err := FindEtcd(opts.EtcdPath)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &Cluster{cancel: cancel, Dir: opts.Dir, stopped: make(chan struct{})}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "volume-topology-cluster-"); err != nil {
			return nil, fmt.Errorf("creating cluster directory: %w", err)
		}
		c.removeDir = true
	} else if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating cluster directory: %w", err)
	}

	if c.etcd, err = StartEtcd(ctx, etcdPath); err != nil {
		return nil, err
	}
	if c.apiserver, err = startAPIServer(ctx, c.etcd.URL, opts.APIServerFlags); err != nil {
		return nil, err
	}
	c.Config = c.apiserver.config()
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	c.KubeconfigPath = filepath.Join(c.Dir, "kubeconfig")
	if err := WriteKubeconfig(c.KubeconfigPath, c.Config); err != nil {
		return nil, err
	}
	logger.V(1).Info("API server is up", "host", c.Config.Host, "kubeconfig", c.KubeconfigPath, "elapsed", time.Since(start).Round(time.Millisecond))

	factory := informers.NewSharedInformerFactory(c.Client, 0)
	if err := startPVController(ctx, c.Client, factory); err != nil {
		return nil, err
	}
	if !opts.NoStatefulSetController {
		startStatefulSetController(ctx, c.Client, factory)
	}
	if opts.DeploymentControllers {
		if err := startDeploymentControllers(ctx, c.Client, factory); err != nil {
			return nil, err
		}
	}
	if opts.EphemeralVolumeController {
		if err := startEphemeralVolumeController(ctx, c.Client, factory); err != nil {
			return nil, err
		}
	}
	var k *kubelets
	if !opts.NoKubelets {
		if k, err = newKubelets(c.Client, factory); err != nil {
			return nil, err
		}
	}
	factory.Start(ctx.Done())
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("informer for %v did not sync", typ)
		}
	}
	if k != nil {
		go k.run(klog.NewContext(ctx, logger.WithName("kubelets")), 4)
	}
	go func() {
		<-ctx.Done()
		factory.Shutdown()
		close(c.stopped)
	}()
	logger.Info("Local control plane is up", "host", c.Config.Host, "elapsed", time.Since(start).Round(time.Millisecond))
	return c, nil
}

// Stop stops the controllers, the API server and etcd, and removes the
// cluster directory unless Options.Dir named it.
func (c *Cluster) Stop() {
	if c == nil {
		return
	}
	c.cancel()
	if c.apiserver != nil {
		c.apiserver.stop()
		c.apiserver = nil
	}
	if c.etcd != nil {
		c.etcd.Stop()
		c.etcd = nil
	}
	if c.removeDir && c.Dir != "" {
		os.RemoveAll(c.Dir)
	}
}
