package localcluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/yaml"
)

// AuditLog is the API server's audit log of the requests of some users, at
// the Metadata level (who did what to which object, and the answer; no
// bodies). Pass Flags to Options.APIServerFlags.
type AuditLog struct {
	// Path is the log file: one JSON audit.k8s.io/v1 Event per line.
	Path string
	// Flags configure the API server to write it.
	Flags []string
}

// NewAuditLog writes an audit policy into dir that records every request
// of the given users at the Metadata level and nothing else, and returns
// the flags that make the API server log to dir/audit.log (synchronously,
// so the log is complete when a request has been answered).
func NewAuditLog(dir string, users ...string) (*AuditLog, error) {
	if len(users) == 0 {
		return nil, fmt.Errorf("audit log: no users to record")
	}
	policy := map[string]any{
		"apiVersion": "audit.k8s.io/v1",
		"kind":       "Policy",
		// One event per request: the answer, or for watches the start of
		// the response.
		"omitStages": []string{"RequestReceived"},
		"rules": []any{
			map[string]any{"level": "Metadata", "users": users},
			map[string]any{"level": "None"},
		},
	}
	data, err := yaml.Marshal(policy)
	if err != nil {
		return nil, fmt.Errorf("encoding audit policy: %w", err)
	}
	policyPath := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policyPath, data, 0o600); err != nil {
		return nil, fmt.Errorf("writing audit policy: %w", err)
	}
	l := &AuditLog{Path: filepath.Join(dir, "audit.log")}
	l.Flags = []string{
		"--audit-policy-file=" + policyPath,
		"--audit-log-path=" + l.Path,
		"--audit-log-format=json",
		"--audit-log-mode=blocking",
	}
	return l, nil
}

// Events reads the events logged so far; a partly written last line is
// ignored.
func (l *AuditLog) Events() ([]auditv1.Event, error) {
	f, err := os.Open(l.Path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening audit log: %w", err)
	}
	defer f.Close()
	var out []auditv1.Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var bad error
	for line := 1; sc.Scan(); line++ {
		if bad != nil {
			return nil, bad // only the last line may be incomplete
		}
		var e auditv1.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			bad = fmt.Errorf("audit log %s line %d: %w", l.Path, line, err)
			continue
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading audit log: %w", err)
	}
	return out, nil
}
