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
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/component-helpers/storage/ephemeral"

	"sigs.k8s.io/yaml"

	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
)

// strictCodecs decode the built-in kinds a manifest may hold and fail on
// unknown or duplicated fields, as kubectl apply's validation would.
var strictCodecs = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict)

// Workload is what a what-if manifest asks about.
type Workload struct {
	// Pods are the pods to place, in order.
	Pods []*v1.Pod
	// Notes name the documents that were skipped (kinds that do not take
	// part in placement, custom resources).
	Notes []string
	// objects are the manifest's StorageClasses, claims and volumes, and
	// the claims the pods would get from volumeClaimTemplates and generic
	// ephemeral volumes, by kind/namespace/name, in order.
	objects []keyed
}

type keyed struct {
	key string
	obj runtime.Object
}

// NoteSkipped is the note for a document explain does not use. Args: the
// document's number, kind, name.
const NoteSkipped = "skipped document %d (%s %s): explain places only Pods, StatefulSets, Deployments and ReplicaSets, with the StorageClasses, PersistentVolumeClaims and PersistentVolumes of the manifest"

// ErrNoPods: the manifest has nothing to place.
var ErrNoPods = errors.New("the manifest has no Pod, StatefulSet, Deployment or ReplicaSet")

// kinds are the documents explain reads, by apiVersion and kind; every other
// one is skipped with a note.
var kinds = map[schema.GroupVersionKind]bool{
	v1.SchemeGroupVersion.WithKind("Pod"):                   true,
	v1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"): true,
	v1.SchemeGroupVersion.WithKind("PersistentVolume"):      true,
	storagev1.SchemeGroupVersion.WithKind("StorageClass"):   true,
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"):       true,
	appsv1.SchemeGroupVersion.WithKind("Deployment"):        true,
	appsv1.SchemeGroupVersion.WithKind("ReplicaSet"):        true,
}

// ParseWorkload reads what-if pods from a manifest, without a cluster: Pods
// as they are, and replicas pods of each StatefulSet, Deployment and
// ReplicaSet (the manifest's count when replicas is negative). Objects
// without a namespace go to namespace. Documents of other kinds, custom
// resources included, are skipped with a note; a document that is not an
// object, or an object of a kind explain reads that does not decode
// strictly, is an error naming the document.
func ParseWorkload(data []byte, namespace string, replicas int) (*Workload, error) {
	w := &Workload{}
	seen := map[string]bool{}
	add := func(o runtime.Object, kind, ns, name string) {
		key := kind + "/" + ns + "/" + name
		if !seen[key] {
			seen[key] = true
			w.objects = append(w.objects, keyed{key, o})
		}
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	decode := strictCodecs.UniversalDeserializer()
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading document %d: %w", doc, err)
		}
		var head struct {
			metav1.TypeMeta `json:",inline"`
			Metadata        struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if head.APIVersion == "" && head.Kind == "" && len(bytes.TrimSpace(stripComments(raw))) == 0 {
			continue // an empty document
		}
		if head.APIVersion == "" || head.Kind == "" {
			return nil, fmt.Errorf("document %d: not a Kubernetes object: it has no apiVersion or no kind", doc)
		}
		gvk := schema.FromAPIVersionAndKind(head.APIVersion, head.Kind)
		if !kinds[gvk] {
			w.Notes = append(w.Notes, fmt.Sprintf(NoteSkipped, doc, head.Kind, head.Metadata.Name))
			continue
		}
		obj, _, err := decode.Decode(raw, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("document %d (%s %s): %w", doc, head.Kind, head.Metadata.Name, err)
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
		}
	}
	if len(w.Pods) == 0 {
		return nil, ErrNoPods
	}
	return w, nil
}

// Extra are the manifest's objects the cluster lacks: the cluster's own
// objects win over the manifest's of the same name.
func (w *Workload) Extra(state *audit.State) []runtime.Object {
	have := existing(state)
	var out []runtime.Object
	for _, o := range w.objects {
		if !have[o.key] {
			out = append(out, o.obj)
		}
	}
	return out
}

// SchedulerName is the scheduler the workload's pods name (the first pod's).
func (w *Workload) SchedulerName() string {
	return schedulerNameOf(w.Pods[0])
}

// schedulerNameOf is the pod's schedulerName, defaulted as the API server
// defaults it.
func schedulerNameOf(pod *v1.Pod) string {
	if pod.Spec.SchedulerName == "" {
		return v1.DefaultSchedulerName
	}
	return pod.Spec.SchedulerName
}

// stripComments drops YAML comment lines, so a document of comments only
// counts as empty.
func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
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
