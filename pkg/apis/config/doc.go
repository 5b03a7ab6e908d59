// +k8s:deepcopy-gen=package
// +groupName=kubescheduler.config.k8s.io

// Package config holds the internal (unversioned) form of the VolumeTopology
// plugin args. It joins kube-scheduler's own config group, so the scheduler
// hands the plugin a *VolumeTopologyArgs after decoding, defaulting and
// converting whatever version the configuration file used.
package config
