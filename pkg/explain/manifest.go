package explain

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/component-helpers/storage/ephemeral"

	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
)

// Workload is what a what-if manifest asks about.
type Workload struct {
	// Pods are the pods to place, in order.
	Pods []*v1.Pod
	// Extra are objects the cluster lacks: the manifest's StorageClasses,
	// claims and volumes, and the claims the pods would get from
	// volumeClaimTemplates and generic ephemeral volumes.
	Extra []runtime.Object
}

// ReadWorkload reads what-if pods from a manifest: Pods as they are, and
// replicas pods of each StatefulSet, Deployment and ReplicaSet (the
// manifest's count when replicas is negative). Objects without a namespace
// go to namespace. The cluster's own objects win over the manifest's of the
// same name.
func ReadWorkload(data []byte, namespace string, replicas int, state *audit.State) (*Workload, error) {
	w := &Workload{}
	have := existing(state)
	add := func(o runtime.Object, kind, ns, name string) {
		if !have[kind+"/"+ns+"/"+name] {
			have[kind+"/"+ns+"/"+name] = true
			w.Extra = append(w.Extra, o)
		}
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	decode := scheme.Codecs.UniversalDeserializer()
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading document %d: %w", doc, err)
		}
		if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("---")) {
			continue
		}
		obj, gvk, err := decode.Decode(raw, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		switch o := obj.(type) {
		case *storagev1.StorageClass:
			add(o, "StorageClass", "", o.Name)
		case *v1.PersistentVolume:
			add(o, "PersistentVolume", "", o.Name)
		case *v1.PersistentVolumeClaim:
			setNamespace(&o.ObjectMeta, namespace)
			add(o, "PersistentVolumeClaim", o.Namespace, o.Name)
		case *v1.Pod:
			setNamespace(&o.ObjectMeta, namespace)
			w.Pods = append(w.Pods, whatIfPod(o.Namespace, o.Name, o.Labels, o.Spec, add))
		case *appsv1.StatefulSet:
			setNamespace(&o.ObjectMeta, namespace)
			for i := range count(o.Spec.Replicas, replicas) {
				name := fmt.Sprintf("%s-%d", o.Name, i)
				spec := *o.Spec.Template.Spec.DeepCopy()
				for _, t := range o.Spec.VolumeClaimTemplates {
					claim := fmt.Sprintf("%s-%s", t.Name, name)
					spec.Volumes = withClaimVolume(spec.Volumes, t.Name, claim)
					add(&v1.PersistentVolumeClaim{
						ObjectMeta: metav1.ObjectMeta{Namespace: o.Namespace, Name: claim, Labels: t.Labels},
						Spec:       *t.Spec.DeepCopy(),
					}, "PersistentVolumeClaim", o.Namespace, claim)
				}
				w.Pods = append(w.Pods, whatIfPod(o.Namespace, name, o.Spec.Template.Labels, spec, add))
			}
		case *appsv1.Deployment:
			setNamespace(&o.ObjectMeta, namespace)
			for i := range count(o.Spec.Replicas, replicas) {
				w.Pods = append(w.Pods, whatIfPod(o.Namespace, fmt.Sprintf("%s-%d", o.Name, i), o.Spec.Template.Labels, o.Spec.Template.Spec, add))
			}
		case *appsv1.ReplicaSet:
			setNamespace(&o.ObjectMeta, namespace)
			for i := range count(o.Spec.Replicas, replicas) {
				w.Pods = append(w.Pods, whatIfPod(o.Namespace, fmt.Sprintf("%s-%d", o.Name, i), o.Spec.Template.Labels, o.Spec.Template.Spec, add))
			}
		default:
			// Services, ConfigMaps and the like do not change placement.
			_ = gvk
		}
	}
	if len(w.Pods) == 0 {
		return nil, errors.New("the manifest has no Pod, StatefulSet, Deployment or ReplicaSet")
	}
	return w, nil
}

func setNamespace(m *metav1.ObjectMeta, namespace string) {
	if m.Namespace == "" {
		m.Namespace = namespace
	}
}

func count(replicas *int32, override int) int {
	switch {
	case override >= 0:
		return override
	case replicas != nil:
		return int(*replicas)
	}
	return 1
}

// withClaimVolume makes the volume named name use claim, as the StatefulSet
// controller does for a volumeClaimTemplate.
func withClaimVolume(volumes []v1.Volume, name, claim string) []v1.Volume {
	src := v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}
	for i := range volumes {
		if volumes[i].Name == name {
			volumes[i].VolumeSource = src
			return volumes
		}
	}
	return append(volumes, v1.Volume{Name: name, VolumeSource: src})
}

// whatIfPod builds a pending pod, and the claims of its generic ephemeral
// volumes, owned by it as the ephemeral volume controller makes them.
func whatIfPod(namespace, name string, labels map[string]string, spec v1.PodSpec, add func(runtime.Object, string, string, string)) *v1.Pod {
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: labels, UID: types.UID("what-if/" + namespace + "/" + name)},
		Spec:       *spec.DeepCopy(),
	}
	pod.Spec.NodeName = ""
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		if vol.Ephemeral == nil || vol.Ephemeral.VolumeClaimTemplate == nil {
			continue
		}
		claim := ephemeral.VolumeClaimName(pod, vol)
		controller := true
		add(&v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: namespace, Name: claim, Labels: vol.Ephemeral.VolumeClaimTemplate.Labels,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: name, UID: pod.UID, Controller: &controller}},
			},
			Spec: *vol.Ephemeral.VolumeClaimTemplate.Spec.DeepCopy(),
		}, "PersistentVolumeClaim", namespace, claim)
	}
	return pod
}

// existing keys the objects of the state a manifest may name too.
func existing(state *audit.State) map[string]bool {
	have := map[string]bool{}
	for _, sc := range state.Classes {
		have["StorageClass//"+sc.Name] = true
	}
	for _, pv := range state.Volumes {
		have["PersistentVolume//"+pv.Name] = true
	}
	for _, pvc := range state.Claims {
		have["PersistentVolumeClaim/"+pvc.Namespace+"/"+pvc.Name] = true
	}
	return have
}
