// Package soak runs volume-topology-scheduler under a seeded random workload
// on a real local control plane (package localcluster) with the simulated
// disk cloud (package simcloud), and checks that no shared disk ever lands
// where the cloud would refuse it.
//
// The workload: 3 zones of 60 nodes with NVMe-capable instances spread
// unevenly; 40 shared disks (StatefulSets and bare pod groups on multi-attach
// ReadWriteMany block claims, WaitForFirstConsumer or pre-bound static
// volumes, one disk reached through two static volumes) and StatefulSets of
// single-attach disks (WaitForFirstConsumer classes with zoneId lists, some
// written with spaces; classes spelled as leniently as the driver reads them:
// zoneid, trailing commas, multiAttach "Enabled", "yes" and " true"), and
// Deployments whose pods have generic ephemeral volumes of those classes. A plan derived from the seed alone scales sets up
// (past the attach limit) and down, deletes pods, adds, drains, removes,
// loses and relabels nodes (zone, NVMe override and disk-type labels), and
// kills scheduler replicas: the leader, the standby, or both. Two replicas
// run with leader election as child processes; disks detach late
// (simcloud.Options.DetachDelay).
//
// While the plan runs, a sampler reads the cluster at one etcd revision every
// few seconds and runs the operators' audit (package audit) on it. After a
// settle period the audit must find nothing, and every pending pod's
// PodScheduled message must be true of the cluster: CheckReasons parses the
// VolumeTopology reasons (pkg/volumetopology/reasons.go) and checks each
// against the same snapshot, and counts the reasons of other plugins.
//
// The same seed and duration give the same plan; the timing of the cluster's
// reactions, and so the outcome, can differ between runs.
package soak
