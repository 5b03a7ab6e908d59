package localcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Manifest is one decoded object of a manifest file.
type Manifest struct {
	// Source is "file:document" for messages.
	Source string
	// Object is the typed object (client-go's scheme knows its kind).
	Object runtime.Object
}

// ReadManifestDir decodes every *.yaml and *.yml file of dir, in name order.
func ReadManifestDir(dir string) ([]Manifest, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("no *.yaml files in %s", dir)
	}
	var out []Manifest
	for _, n := range names {
		ms, err := ReadManifestFile(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}

// ReadManifestFile decodes the YAML documents of one file.
func ReadManifestFile(path string) ([]Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading manifest: %w", err)
	}
	return DecodeManifests(filepath.Base(path), data)
}

// DecodeManifests decodes a multi-document YAML stream with client-go's
// scheme; empty documents are skipped, unknown kinds are errors.
func DecodeManifests(source string, data []byte) ([]Manifest, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	decoder := scheme.Codecs.UniversalDeserializer()
	var out []Manifest
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i, err)
		}
		out = append(out, Manifest{Source: fmt.Sprintf("%s:%d", source, i), Object: obj})
	}
}

func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// Applier applies objects of any kind the API server serves with server-side
// apply.
type Applier struct {
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	// FieldManager names the applier in managedFields.
	FieldManager string
}

// NewApplier returns an applier for the cluster at cfg.
func NewApplier(cfg *restclient.Config) (*Applier, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	return &Applier{
		dynamic:      dyn,
		mapper:       restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
		FieldManager: "volume-topology-localcluster",
	}, nil
}

// Apply applies each object, in order; namespaced objects without a
// namespace go to namespace. It returns "kind/namespace/name" of each.
func (a *Applier) Apply(ctx context.Context, namespace string, objs ...runtime.Object) ([]string, error) {
	var applied []string
	for _, obj := range objs {
		gvk := obj.GetObjectKind().GroupVersionKind()
		if gvk.Empty() {
			kinds, _, err := scheme.Scheme.ObjectKinds(obj)
			if err != nil || len(kinds) == 0 {
				return applied, fmt.Errorf("object %T has no kind: %v", obj, err)
			}
			gvk = kinds[0]
		}
		mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			a.mapper.Reset()
			mapping, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
		if err != nil {
			return applied, fmt.Errorf("%s is not served: %w", gvk, err)
		}
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return applied, fmt.Errorf("converting %s: %w", gvk.Kind, err)
		}
		u := &unstructured.Unstructured{Object: content}
		u.SetGroupVersionKind(gvk)
		unstructured.RemoveNestedField(u.Object, "status")
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		var ri dynamic.ResourceInterface = a.dynamic.Resource(mapping.Resource)
		id := gvk.Kind + "/" + u.GetName()
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			if u.GetNamespace() == "" {
				u.SetNamespace(namespace)
			}
			ri = a.dynamic.Resource(mapping.Resource).Namespace(u.GetNamespace())
			id = gvk.Kind + "/" + u.GetNamespace() + "/" + u.GetName()
		}
		if _, err := ri.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: a.FieldManager, Force: true}); err != nil {
			return applied, fmt.Errorf("applying %s: %w", id, err)
		}
		applied = append(applied, id)
	}
	return applied, nil
}
