package config

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
)

// SchemeGroupVersion is the internal version of kube-scheduler's config group,
// the one plugins receive their args in.
var SchemeGroupVersion = schema.GroupVersion{Group: schedconfig.GroupName, Version: runtime.APIVersionInternal}

var (
	// localSchemeBuilder is kube-scheduler's own builder for the internal
	// version: registering here puts our args next to the in-tree ones in
	// every scheme kube-scheduler builds from it.
	localSchemeBuilder = &schedconfig.SchemeBuilder
	// AddToScheme adds the internal kube-scheduler config types, ours
	// included, to a scheme.
	AddToScheme = localSchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &VolumeTopologyArgs{})
	return nil
}

func init() {
	localSchemeBuilder.Register(addKnownTypes)
}
