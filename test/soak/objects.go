package soak

import (
	"context"
	"fmt"
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
)

// setLabel names the set a pod belongs to.
const setLabel = "soak.volume-topology.scheduling.io/set"

const devicePath = "/dev/data-disk"

// createWorkload creates the namespace, classes, claims, static volumes,
// StatefulSets and initial group pods.
func createWorkload(ctx context.Context, c kubernetes.Interface, w *Workload) error {
	if _, err := c.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating namespace: %w", err)
	}
	for _, classes := range []map[string]map[string]string{sharedClasses, singleClasses} {
		for _, name := range slices.Sorted(maps.Keys(classes)) {
			sc := &storagev1.StorageClass{
				ObjectMeta:        metav1.ObjectMeta{Name: name},
				Provisioner:       disk.DriverName,
				Parameters:        classes[name],
				ReclaimPolicy:     ptr.To(v1.PersistentVolumeReclaimDelete),
				VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
			}
			if _, err := c.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating storageclass %s: %w", name, err)
			}
		}
	}
	for i := range w.Sets {
		s := &w.Sets[i]
		if s.Kind == SharedStatic || s.Kind == SharedWriter {
			if _, err := c.CoreV1().PersistentVolumes().Create(ctx, staticVolume(s), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating persistentvolume %s: %w", s.PV, err)
			}
		}
		if s.Shared() {
			if _, err := c.CoreV1().PersistentVolumeClaims(Namespace).Create(ctx, sharedClaim(s), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating claim %s: %w", s.Claim, err)
			}
		}
		if s.Kind == SharedGroup {
			for k := range s.Initial {
				if _, err := c.CoreV1().Pods(Namespace).Create(ctx, groupPod(s, fmt.Sprintf("%s-%d", s.Name, k)), metav1.CreateOptions{}); err != nil {
					return fmt.Errorf("creating pod of %s: %w", s.Name, err)
				}
			}
			continue
		}
		if s.Kind == Ephemeral {
			if _, err := c.AppsV1().Deployments(Namespace).Create(ctx, deployment(s), metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("creating deployment %s: %w", s.Name, err)
			}
			continue
		}
		if _, err := c.AppsV1().StatefulSets(Namespace).Create(ctx, statefulSet(s), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating statefulset %s: %w", s.Name, err)
		}
	}
	return nil
}

func sharedClaim(s *Set) *v1.PersistentVolumeClaim {
	pvc := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: s.Claim, Namespace: Namespace},
		Spec: v1.PersistentVolumeClaimSpec{
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteMany},
			VolumeMode:       ptr.To(v1.PersistentVolumeBlock),
			StorageClassName: ptr.To(s.Class),
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")}},
		},
	}
	switch s.Kind {
	case SharedStatic:
		pvc.Spec.VolumeName = s.PV
	case SharedWriter:
		pvc.Spec.VolumeName = s.PV
		pvc.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	}
	return pvc
}

// staticVolume is a multi-attach disk created outside Kubernetes, pre-bound to
// the set's claim. A writer's volume of such a disk is ReadWriteOnce and
// does not say multiAttach: the readers' volume of the disk does.
func staticVolume(s *Set) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: s.PV},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")},
			AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteMany},
			VolumeMode:                    ptr.To(v1.PersistentVolumeBlock),
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			ClaimRef:                      &v1.ObjectReference{Kind: "PersistentVolumeClaim", APIVersion: "v1", Namespace: Namespace, Name: s.Claim},
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver:           disk.DriverName,
				VolumeHandle:     s.Handle,
				VolumeAttributes: map[string]string{disk.ParamMultiAttach: "true", "type": disk.CategoryESSD},
			}},
		},
	}
	if s.Kind == SharedWriter {
		pv.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
		pv.Spec.CSI.VolumeAttributes = map[string]string{"type": disk.CategoryESSD}
	}
	if s.LegacyLabel {
		pv.Labels = map[string]string{v1.LabelTopologyZone: s.Zone, v1.LabelTopologyRegion: Region}
	} else {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: disk.LabelDriverZone, Operator: v1.NodeSelectorOpIn, Values: []string{s.Zone}}},
		}}}}
	}
	return pv
}

func podSpec(s *Set) v1.PodSpec {
	spec := v1.PodSpec{
		SchedulerName:                 localcluster.SchedulerName,
		TerminationGracePeriodSeconds: ptr.To[int64](1),
		Containers:                    []v1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
	}
	switch {
	case s.Shared():
		spec.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
			PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: s.Claim},
		}}}
		spec.Containers[0].VolumeDevices = []v1.VolumeDevice{{Name: "data", DevicePath: devicePath}}
	case s.Kind == Ephemeral:
		claim := v1.PersistentVolumeClaimSpec{
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			StorageClassName: ptr.To(s.Class),
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")}},
		}
		if _, shared := sharedClasses[s.Class]; shared {
			claim.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}
			claim.VolumeMode = ptr.To(v1.PersistentVolumeBlock)
			spec.Containers[0].VolumeDevices = []v1.VolumeDevice{{Name: "data", DevicePath: devicePath}}
		} else {
			spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}
		spec.Volumes = []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
			Ephemeral: &v1.EphemeralVolumeSource{VolumeClaimTemplate: &v1.PersistentVolumeClaimTemplate{Spec: claim}},
		}}}
	default:
		spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "data", MountPath: "/data"}}
	}
	return spec
}

func statefulSet(s *Set) *appsv1.StatefulSet {
	labels := map[string]string{setLabel: s.Name}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: Namespace},
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr.To(int32(s.Initial)),
			ServiceName:         s.Name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: labels},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       podSpec(s),
			},
		},
	}
	if s.Kind == Single {
		sts.Spec.VolumeClaimTemplates = []v1.PersistentVolumeClaim{{
			ObjectMeta: metav1.ObjectMeta{Name: "data"},
			Spec: v1.PersistentVolumeClaimSpec{
				AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
				StorageClassName: ptr.To(s.Class),
				Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")}},
			},
		}}
	}
	return sts
}

func groupPod(s *Set, name string) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: map[string]string{setLabel: s.Name}},
		Spec:       podSpec(s),
	}
}

// deployment is an Ephemeral set: its pods' disks are generic ephemeral
// volumes, created by the ephemeral volume controller with each pod.
func deployment(s *Set) *appsv1.Deployment {
	labels := map[string]string{setLabel: s.Name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: Namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(s.Initial)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       podSpec(s),
			},
		},
	}
}
