// Package version reports what this binary is and which Kubernetes it is
// built on.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	componentversion "k8s.io/component-base/version"
)

// Version is the release of volume-topology-scheduler, set at build time with
// -ldflags "-X github.com/volume-topology/volume-topology-scheduler/pkg/version.Version=...".
var Version = "v0.0.0-dev"

// KubernetesVersion returns the version of the k8s.io/kubernetes module the
// binary was built with, read from the build information.
func KubernetesVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, dep := range info.Deps {
		if dep.Path == "k8s.io/kubernetes" {
			if dep.Replace != nil {
				return dep.Replace.Version
			}
			return dep.Version
		}
	}
	return "unknown"
}

// KubernetesMinor returns the Kubernetes minor the binary is built on
// ("1.37"), as compiled into k8s.io/component-base. Unlike
// KubernetesVersion it is known in test binaries too, which carry no module
// list.
func KubernetesMinor() string { return componentversion.DefaultKubeBinaryVersion }

// String is the one-line version report printed by --version.
func String() string {
	return fmt.Sprintf("volume-topology-scheduler %s (kube-scheduler %s, %s %s/%s)", Version, KubernetesVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
