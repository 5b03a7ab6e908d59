//go:build skew

package integration

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/version"
)

// envSkewScheduler names the scheduler binary of the build one Kubernetes
// minor older than this test binary's control plane (make test-skew builds
// it and sets it).
const envSkewScheduler = "VOLUME_TOPOLOGY_SKEW_SCHEDULER"

// TestVersionSkew runs the older build's binary (kube-scheduler may be one
// minor older than the API server) against this control plane and gives it
// the lease workload: 20 replicas of one shared disk, 16 running on distinct
// NVMe nodes of one zone and 4 Pending with the attach-limit reason.
func TestVersionSkew(t *testing.T) {
	binary := os.Getenv(envSkewScheduler)
	if binary == "" {
		t.Fatalf("%s must name the older build's scheduler binary (run make test-skew)", envSkewScheduler)
	}
	out, err := exec.Command(binary, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", binary, err, out)
	}
	server := "v" + version.KubernetesMinor()
	if !olderByOneMinor(string(out), server) {
		t.Fatalf("%s reports %q; want a build one minor older than the control plane (Kubernetes %s)", binary, strings.TrimSpace(string(out)), server)
	}
	t.Logf("scheduler %s against kube-apiserver %s", strings.TrimSpace(string(out)), server)

	ctx := testContext(t)
	ns := newNamespace(ctx, t, "skew")
	cfg := localcluster.SchedulerConfig{SchedulerName: "volume-topology-scheduler-skew"}
	startReplicaCommand(ctx, t, "older build", cfg, []string{binary}, nil)
	sharedDiskSet(ctx, t, ns, cfg.SchedulerName, 20)
	c := waitPods(ctx, t, ns, "app=shared", 16, 4, 90*time.Second)
	assertLeasePlacement(ctx, t, ns, "app=shared", c, zoneOfNode(node(ctx, t, c.running[0].Spec.NodeName)))
	checkRules(ctx, t, ns)
}

// olderByOneMinor tells whether a --version line ("... Kubernetes v1.36.3"
// or "kube-scheduler v1.36.3") names the minor just before server's ("v1.37").
func olderByOneMinor(versionOutput, server string) bool {
	minor := func(v string) int {
		v = strings.TrimPrefix(v, "v")
		parts := strings.Split(v, ".")
		if len(parts) < 2 {
			return -1
		}
		n := 0
		for _, c := range parts[1] {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	want := minor(server) - 1
	for _, field := range strings.FieldsFunc(versionOutput, func(r rune) bool { return r == ' ' || r == '(' || r == ')' || r == ',' || r == '\n' }) {
		if strings.HasPrefix(field, "v1.") && minor(field) == want {
			return true
		}
	}
	return false
}
