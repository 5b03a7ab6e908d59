// Package results is the contract between the scheduler_perf benchmark in
// test/perf and cmd/perf-summary: the violation counts the benchmark writes
// after each workload, how test case names map to workloads and profiles, and
// the summary table built from the harness's data items and those counts.
//
// It imports nothing but the standard library, so the summary tool builds in
// seconds.
package results

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Profiles, the part of a test case name after the last underscore.
const (
	ProfileVolumeTopology = "VolumeTopology"
	ProfileSeedRecipe     = "SeedRecipe"
	ProfileDefault        = "Default"
)

// Workloads, the part of a test case name before the last underscore.
const (
	WorkloadSharedDisks       = "SharedDisks"
	WorkloadOverSubscribed    = "OverSubscribed"
	WorkloadNoClaims          = "NoClaims"
	WorkloadNoVolumes         = "NoVolumes"
	WorkloadOtherDriverClaims = "OtherDriverClaims"
	WorkloadWFFC              = "WaitForFirstConsumer"
	// WorkloadAttachedDisksReturn: pods come back to single-attach disks
	// still attached to a node (a StatefulSet restart).
	WorkloadAttachedDisksReturn = "AttachedDisksReturn"
)

// SplitTestCase splits a test case name "<Workload>_<Profile>".
func SplitTestCase(testCase string) (workload, profile string) {
	i := strings.LastIndexByte(testCase, '_')
	if i < 0 {
		return testCase, ""
	}
	return testCase[:i], testCase[i+1:]
}

// SplitBenchmarkName splits a (sub-)benchmark or data item name such as
// "BenchmarkPerfScheduling/SharedDisks_VolumeTopology/500Nodes/shared" into
// the test case ("SharedDisks_VolumeTopology") and the harness's workload
// ("500Nodes"). ok is false for names with fewer parts.
func SplitBenchmarkName(name string) (testCase, workload string, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) > 0 && strings.HasPrefix(parts[0], "Benchmark") {
		parts = parts[1:]
	}
	if len(parts) < 2 {
		return "", "", false
	}
	return parts[0], parts[1], true
}

var leadingNumber = regexp.MustCompile(`^\d+`)

// NodesOf reads the node count from a workload name such as "5000Nodes".
func NodesOf(workload string) int {
	n, _ := strconv.Atoi(leadingNumber.FindString(workload))
	return n
}

// Violations are the placement rules broken at the end of one workload, as
// the audit (pkg/audit) finds them in the API server's state.
type Violations struct {
	TestCase string `json:"testCase"`
	Workload string `json:"workload"`

	Nodes     int `json:"nodes"`
	Pods      int `json:"pods"`
	Scheduled int `json:"scheduled"`
	Pending   int `json:"pending"`
	// SharedDisks is how many multi-attach disks the pods use.
	SharedDisks int `json:"sharedDisks"`
	// MaxAttachedInZone is the most nodes of one zone any shared disk is
	// attached to.
	MaxAttachedInZone int `json:"maxAttachedInZone"`

	// DisksOverLimit counts shared disks attached to more than the limit
	// (16) nodes of one zone: the cloud refuses those attaches.
	DisksOverLimit int `json:"disksOverLimit"`
	// DoubleHolders counts (node, shared disk) pairs with more than one pod
	// using the disk: NVMe reservations are per host.
	DoubleHolders int `json:"doubleHolders"`
	// NotNVMe counts pods using a shared disk on a node without NVMe
	// multi-attach.
	NotNVMe int `json:"notNVMe"`
	// OutsideDiskZone counts pods on a node outside their volume's node
	// affinity.
	OutsideDiskZone int `json:"outsideDiskZone"`
	// ZoneConflicts counts WaitForFirstConsumer claims whose disk was
	// created outside the zone of the node the scheduler selected (the
	// driver's ConflictingZone).
	ZoneConflicts int `json:"zoneConflicts"`

	// ReadWriteOnce counts single-attach disks used by pods on more than
	// one node at once (the audit's read-write-once rule).
	ReadWriteOnce int `json:"readWriteOnce"`

	// AttachedPods counts the scheduled pods with a claim whose disk has a
	// VolumeAttachment (not being deleted) to some node, OnAttachedNode
	// those of them on such a node; counted in the AttachedDisksReturn
	// workloads only, whose disks were attached before their pods came.
	AttachedPods   int `json:"attachedPods"`
	OnAttachedNode int `json:"onAttachedNode"`

	// Batched counts the pods opportunistic batching placed on its hint
	// (scheduler_batch_attempts_total{result="hint_used"}), BatchNoHint the
	// attempts it had no hint for.
	Batched     int `json:"batched"`
	BatchNoHint int `json:"batchNoHint"`

	// Failed is true when the workload itself failed; the counts are then
	// of whatever state it left.
	Failed bool `json:"failed,omitempty"`
}

// Broken returns the rules the counts say were broken, as text.
func (v *Violations) Broken() []string {
	var out []string
	add := func(n int, what string) {
		if n > 0 {
			out = append(out, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(v.DisksOverLimit, "shared disks attached to more than 16 nodes of a zone")
	add(v.DoubleHolders, "nodes with two holders of one shared disk")
	add(v.NotNVMe, "pods with a shared disk on a node without NVMe multi-attach")
	add(v.OutsideDiskZone, "pods outside their disk's zone")
	add(v.ZoneConflicts, "claims provisioned outside the selected node's zone")
	add(v.ReadWriteOnce, "single-attach disks used on two nodes at once")
	return out
}

// ViolationsPrefix starts the name of every violations file.
const ViolationsPrefix = "violations_"

var unsafeFileChars = regexp.MustCompile(`[^a-zA-Z0-9_-]`)

// ViolationsFile is where the counts of one workload go in dir: one file per
// test case and workload, so a later run replaces an earlier one.
func ViolationsFile(dir, testCase, workload string) string {
	return workloadFile(dir, ViolationsPrefix, testCase, workload)
}

// workloadFile is the file of one test case and workload in dir, its name
// starting with prefix.
func workloadFile(dir, prefix, testCase, workload string) string {
	name := prefix + unsafeFileChars.ReplaceAllString(testCase+"_"+workload, "_") + ".json"
	return filepath.Join(dir, name)
}

// WriteViolations writes the counts of one workload into dir.
func WriteViolations(dir string, v *Violations) (string, error) {
	file := ViolationsFile(dir, v.TestCase, v.Workload)
	return file, writeJSON(dir, file, v)
}
