package localcluster

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"sync"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/version"
)

// NodeSpec describes a node to create: an ECS instance in a zone, with the
// labels the cloud controller manager and the disk driver would put on it,
// Ready, and a CSINode registering the disk driver.
type NodeSpec struct {
	Name string
	// Zone is written to the driver's zone key and to topology.kubernetes.io/zone.
	Zone string
	// Region is written to topology.kubernetes.io/region when set.
	Region string
	// InstanceType, e.g. ecs.g7se.xlarge, goes to node.kubernetes.io/instance-type.
	InstanceType string
	// DiskTypes are the disk categories the driver labels available
	// (node.csi.alibabacloud.com/disktype.<category>=available). None means the
	// driver has not described the node yet.
	DiskTypes []string
	// NVMe, when set, writes the explicit NVMe multi-attach label with this
	// value (it overrides the instance family).
	NVMe *bool
	// Labels are added last and win.
	Labels map[string]string
	Taints []v1.Taint
	// CPU, Memory and Pods are the node's capacity and allocatable;
	// defaults 4, 16Gi and 110.
	CPU    string
	Memory string
	Pods   int
	// MaxDiskVolumes is the CSINode allocatable count of the disk driver
	// (how many disks the instance takes); 0 leaves it unset.
	MaxDiskVolumes int32
	// InternalIP is the node's address (status.addresses); optional.
	InternalIP string
	// NoCSINode skips the CSINode, as for a node whose driver is not running.
	NoCSINode bool
}

// Node returns the Node object for the spec.
func (s NodeSpec) Node() (*v1.Node, error) {
	cpu, err := resource.ParseQuantity(defaultString(s.CPU, "4"))
	if err != nil {
		return nil, fmt.Errorf("node %s: cpu: %w", s.Name, err)
	}
	mem, err := resource.ParseQuantity(defaultString(s.Memory, "16Gi"))
	if err != nil {
		return nil, fmt.Errorf("node %s: memory: %w", s.Name, err)
	}
	pods := s.Pods
	if pods == 0 {
		pods = 110
	}
	labels := map[string]string{
		v1.LabelHostname:   s.Name,
		v1.LabelOSStable:   "linux",
		v1.LabelArchStable: "amd64",
	}
	if s.Zone != "" {
		labels[disk.LabelDriverZone] = s.Zone
		labels[v1.LabelTopologyZone] = s.Zone
	}
	if s.Region != "" {
		labels[v1.LabelTopologyRegion] = s.Region
	}
	if s.InstanceType != "" {
		labels[v1.LabelInstanceTypeStable] = s.InstanceType
	}
	for _, t := range s.DiskTypes {
		labels[disk.DiskTypeLabel(t)] = disk.DiskTypeAvailable
	}
	if s.NVMe != nil {
		labels[disk.LabelNVMeMultiAttach] = strconv.FormatBool(*s.NVMe)
	}
	for k, v := range s.Labels {
		labels[k] = v
	}
	resources := v1.ResourceList{
		v1.ResourceCPU:    cpu,
		v1.ResourceMemory: mem,
		v1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Labels: labels},
		Spec: v1.NodeSpec{
			ProviderID: "alicloud://" + instanceID(s.Name),
			Taints:     s.Taints,
		},
		Status: v1.NodeStatus{
			Capacity:    resources,
			Allocatable: resources.DeepCopy(),
			Phase:       v1.NodeRunning,
			Conditions: []v1.NodeCondition{{
				Type:               v1.NodeReady,
				Status:             v1.ConditionTrue,
				Reason:             "KubeletReady",
				Message:            "kubelet is posting ready status (simulated)",
				LastHeartbeatTime:  metav1.Now(),
				LastTransitionTime: metav1.Now(),
			}},
			NodeInfo: v1.NodeSystemInfo{
				KubeletVersion:          kubeletVersion(),
				OperatingSystem:         "linux",
				Architecture:            "amd64",
				ContainerRuntimeVersion: "containerd://simulated",
			},
		},
	}
	if s.InternalIP != "" {
		node.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: s.InternalIP}, {Type: v1.NodeHostName, Address: s.Name}}
	}
	return node, nil
}

// CSINode returns the CSINode the disk driver's node plugin would register.
func (s NodeSpec) CSINode(node *v1.Node) *storagev1.CSINode {
	drv := storagev1.CSINodeDriver{
		Name:         disk.DriverName,
		NodeID:       instanceID(s.Name),
		TopologyKeys: []string{disk.LabelDriverZone},
	}
	if s.MaxDiskVolumes > 0 {
		drv.Allocatable = &storagev1.VolumeNodeResources{Count: ptr.To(s.MaxDiskVolumes)}
	}
	return &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.Name,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID,
			}},
		},
		Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{drv}},
	}
}

// instanceID derives a stable ECS-like instance ID from the node name.
func instanceID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return fmt.Sprintf("i-%x", sum[:10])
}

func defaultString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// CreateNodes creates the nodes (with their status) and their CSINodes, a few
// at a time.
func CreateNodes(ctx context.Context, client kubernetes.Interface, specs []NodeSpec) error {
	const workers = 8
	work := make(chan NodeSpec)
	errs := make(chan error, len(specs))
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range work {
				errs <- createNode(ctx, client, s)
			}
		}()
	}
	for _, s := range specs {
		work <- s
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func createNode(ctx context.Context, client kubernetes.Interface, s NodeSpec) error {
	node, err := s.Node()
	if err != nil {
		return err
	}
	created, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating node %s: %w", s.Name, err)
	}
	if s.NoCSINode {
		return nil
	}
	if _, err := client.StorageV1().CSINodes().Create(ctx, s.CSINode(created), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating csinode %s: %w", s.Name, err)
	}
	return nil
}

// ZonePlan describes one zone of a fleet for PlanNodes.
type ZonePlan struct {
	Zone string
	// Nodes is the number of nodes in the zone, of which NVMe are of an
	// NVMe multi-attach family.
	Nodes int
	NVMe  int
}

// Instance types PlanNodes uses: NVMe multi-attach capable or not.
const (
	InstanceTypeNVMe       = "ecs.g7se.xlarge"
	InstanceTypeNVMeLarge  = "ecs.c8y.2xlarge"
	InstanceTypePlain      = "ecs.g6.large"
	InstanceTypePlainLarge = "ecs.c6.xlarge"
)

// PlanNodes returns a fleet: per zone, nodes named <zone>-NN, the NVMe ones
// spread among the others rather than first, alternating between two
// families of each kind, with the disk types such instances offer.
func PlanNodes(region string, zones []ZonePlan) []NodeSpec {
	var specs []NodeSpec
	for zi, z := range zones {
		nvmeLeft := z.NVMe
		for i := range z.Nodes {
			// Spread the NVMe nodes evenly through the zone's numbering.
			nvme := nvmeLeft > 0 && (i*z.NVMe)/max(z.Nodes, 1) != ((i+1)*z.NVMe)/max(z.Nodes, 1)
			if nvme {
				nvmeLeft--
			}
			s := NodeSpec{
				Name:       fmt.Sprintf("%s-%02d", z.Zone, i+1),
				Zone:       z.Zone,
				Region:     region,
				InternalIP: fmt.Sprintf("10.%d.%d.%d", 10+zi, i/250, i%250+1),
			}
			switch {
			case nvme && i%3 == 2:
				s.InstanceType = InstanceTypeNVMeLarge
				s.CPU, s.Memory = "8", "16Gi"
				s.DiskTypes = []string{disk.CategoryESSD, disk.CategoryESSDAuto, disk.CategoryESSDEntry}
			case nvme:
				s.InstanceType = InstanceTypeNVMe
				s.CPU, s.Memory = "4", "16Gi"
				s.DiskTypes = []string{disk.CategoryESSD, disk.CategoryESSDAuto, disk.CategoryESSDEntry, disk.CategoryRegional}
			case i%2 == 1:
				s.InstanceType = InstanceTypePlainLarge
				s.CPU, s.Memory = "4", "8Gi"
				s.DiskTypes = []string{disk.CategoryEfficiency, disk.CategorySSD, disk.CategoryESSD}
			default:
				s.InstanceType = InstanceTypePlain
				s.CPU, s.Memory = "2", "8Gi"
				s.DiskTypes = []string{disk.CategoryEfficiency, disk.CategorySSD, disk.CategoryESSD, disk.CategoryESSDAuto}
			}
			s.MaxDiskVolumes = 16
			specs = append(specs, s)
		}
	}
	return specs
}

// kubeletVersion is the version simulated kubelets report: the control
// plane's own release (its minor only, in test binaries, which carry no
// module list).
func kubeletVersion() string {
	if v := version.KubernetesVersion(); v != "unknown" {
		return v
	}
	return "v" + version.KubernetesMinor() + ".0"
}
