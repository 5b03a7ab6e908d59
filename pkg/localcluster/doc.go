// Package localcluster runs a real Kubernetes control plane in-process for
// tests, the demo and soak runs: etcd (built from the Go module proxy by "make etcd") on a
// unix socket, kube-apiserver from Kubernetes' own test server, and
// Kubernetes' PersistentVolume and StatefulSet controllers, with simulated
// kubelets that start bound pods once their volumes are attached. Nodes are
// created Ready with the labels Alibaba Cloud puts on ECS instances
// (CreateNodes, PlanNodes).
//
// volume-topology-scheduler runs against it through the shipped binary's code
// path: in-process with StartScheduler (app.Setup with the VolumeTopology
// plugin, then app.Run), or as child processes with StartSchedulerProcess
// when replicas use leader election (kube-scheduler exits its process when it
// stops leading). The simulated disk driver is package simcloud.
//
// RunDemo wires all of it into the volume-topology-demo command.
package localcluster
