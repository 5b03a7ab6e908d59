// +k8s:deepcopy-gen=package
// +k8s:conversion-gen=github.com/volume-topology/volume-topology-scheduler/pkg/apis/config
// +k8s:defaulter-gen=TypeMeta
// +k8s:defaulter-gen-input=github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/v1
// +groupName=kubescheduler.config.k8s.io

// Package v1 is the versioned form of the VolumeTopology plugin args, written
// in a KubeSchedulerConfiguration of apiVersion kubescheduler.config.k8s.io/v1
// as the args of the plugin's pluginConfig entry:
//
//	profiles:
//	- schedulerName: volume-topology-scheduler
//	  pluginConfig:
//	  - name: VolumeTopology
//	    args:
//	      maxNodesPerZone: 16
//
// Every field is optional; SetDefaults_VolumeTopologyArgs documents the
// defaults.
package v1
