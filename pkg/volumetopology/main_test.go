package volumetopology

import (
	"os"
	"testing"

	schedmetrics "k8s.io/kubernetes/pkg/scheduler/metrics"
)

func TestMain(m *testing.M) {
	// The scheduler cache and framework record into the scheduler's metrics.
	schedmetrics.Register()
	os.Exit(m.Run())
}
