// Package neverworse holds the "never worse" property test (issue 15): a
// randomized differential test of the default kube-scheduler profile against
// ours (the default plugins plus VolumeTopology and DiskLocality, built from
// the shipped configuration), both built by kube-scheduler's own scheduler.New
// on a fake clientset and run through PreFilter and Filter.
//
// Each world has random nodes (zones under each zone key or none, NVMe and
// other instance types, the NVMe label, disk-type labels, taints, cordons,
// NotReady), StorageClasses spelled from the driver-conformance grammar
// (case, spaces, empty elements, repeated zones, zoneId and zoneid, unknown
// multiAttach values, allowedTopologies, regional types, performanceLevel),
// claims bound to volumes the simulated provisioner made and unbound
// WaitForFirstConsumer claims, pods already using the disks (some
// terminating or finished) and VolumeAttachments. Several pods are placed in
// each world.
//
// The property: every node the default profile accepts for a pod, where the
// simulated driver (pkg/simcloud's own reading of the class) provisions the
// pod's unbound claims without a zone conflict, the node has a zone to attach
// in, and the audit (pkg/audit) finds no new violation with the pod placed
// there (zone, NVMe, attach limit, holder, and a single-attach disk in use on
// another node; the audit reads each class's multiAttach as the simulated
// driver does, so it judges the disks the driver makes, not the plugin's
// reading), must be accepted by our profile too. Finished pods are left out
// of the fake clientset, as kube-scheduler's pod informer leaves them out.
// A plugin reading " true" as multi-attach, for instance, fails the test. A counterexample fails
// the test and is printed with the objects it involves as YAML and both
// profiles' verdicts.
//
// Run it with another seed or more cases:
//
//	go test ./test/neverworse/ -args -seed=42 -cases=20000
//
// Not covered: preemption (PostFilter), Score, the binding cycle, nominated
// pods, generic ephemeral volumes, Immediate classes and claims of other
// drivers.
package neverworse
