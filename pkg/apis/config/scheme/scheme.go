// Package scheme puts the VolumeTopology plugin args into kube-scheduler's own
// config scheme. Importing it, even only for its side effects, is what lets
// `kube-scheduler --config` decode, default and convert a VolumeTopology
// pluginConfig entry into a *config.VolumeTopologyArgs instead of leaving the
// args undecoded; decoding is strict, so an unknown field is an error.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kubeschedulerscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	configv1 "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/v1"
)

var (
	// Scheme is kube-scheduler's in-tree config scheme (the very same
	// object), with the VolumeTopology args added.
	Scheme = kubeschedulerscheme.Scheme

	// Codecs encodes and strictly decodes kube-scheduler configurations with
	// the VolumeTopology args.
	Codecs = serializer.NewCodecFactory(Scheme, serializer.EnableStrict)
)

func init() {
	AddToScheme(Scheme)
}

// AddToScheme adds every kube-scheduler config version, with the
// VolumeTopology args in the internal and v1 versions, to a scheme.
func AddToScheme(scheme *runtime.Scheme) {
	utilruntime.Must(config.AddToScheme(scheme))
	utilruntime.Must(configv1.AddToScheme(scheme))
}
