package v1

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubeschedulerconfigv1 "k8s.io/kube-scheduler/config/v1"
)

// SchemeGroupVersion is kubescheduler.config.k8s.io/v1, the version of
// KubeSchedulerConfiguration these args are written in.
var SchemeGroupVersion = schema.GroupVersion{Group: kubeschedulerconfigv1.GroupName, Version: "v1"}

var (
	// localSchemeBuilder is the builder of kube-scheduler's v1 config types,
	// shared with k8s.io/kubernetes/pkg/scheduler/apis/config/v1. Registering
	// here also puts our args into the scheme kube-scheduler uses to default
	// and convert plugin args.
	localSchemeBuilder = &kubeschedulerconfigv1.SchemeBuilder
	// AddToScheme adds the v1 kube-scheduler config types, ours included,
	// with their defaulting and conversion functions, to a scheme.
	AddToScheme = localSchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &VolumeTopologyArgs{})
	return nil
}

func init() {
	// The generated conversion file registers the conversions itself; the
	// generated defaulters are registered here.
	localSchemeBuilder.Register(addKnownTypes, RegisterDefaults)
}
