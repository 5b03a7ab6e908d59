package soak

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/klog/v2"

	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
)

// acquiredLease is what client-go's leader election logs when a replica
// becomes the leader; a replica that loses the lease exits, so a live replica
// whose log says it is the leader. client-go 0.35 and newer log "Successfully
// acquired lease", older ones "successfully acquired lease": the first
// letter is left out.
var acquiredLease = []byte("uccessfully acquired lease")

// replica is one scheduler process.
type replica struct {
	name string
	proc *localcluster.SchedulerProcess
	log  string
}

func (r *replica) alive() bool {
	select {
	case <-r.proc.Done():
		return false
	default:
		return true
	}
}

func (r *replica) leads() bool {
	data, err := os.ReadFile(r.log)
	return err == nil && bytes.Contains(data, acquiredLease)
}

// schedulers keeps two replicas of volume-topology-scheduler with leader
// election running as child processes, and kills them on request.
type schedulers struct {
	dir        string
	command    []string
	env        []string
	kubeconfig string
	config     string

	mu       sync.Mutex // serialises faults
	replicas []*replica
	started  int
	// logs of every replica ever started, for forbidden checks and failure
	// reports.
	logs []string
}

func newSchedulers(dir string, command, env []string, kubeconfig string) (*schedulers, error) {
	s := &schedulers{dir: dir, command: command, env: env, kubeconfig: kubeconfig, config: filepath.Join(dir, "scheduler.yaml")}
	err := localcluster.WriteSchedulerConfig(s.config, localcluster.SchedulerConfig{
		Kubeconfig:    kubeconfig,
		LeaderElect:   true,
		LeaseDuration: 4 * time.Second,
		RenewDeadline: 3 * time.Second,
		RetryPeriod:   500 * time.Millisecond,
	})
	return s, err
}

// start starts one replica and adds it to the set.
func (s *schedulers) start(ctx context.Context) error {
	s.started++
	name := fmt.Sprintf("replica-%d", s.started)
	log := filepath.Join(s.dir, name+".log")
	s.logs = append(s.logs, log)
	p, err := localcluster.StartSchedulerProcess(ctx, localcluster.ProcessOptions{
		Command:    s.command,
		Env:        s.env,
		Kubeconfig: s.kubeconfig,
		ConfigPath: s.config,
		LogPath:    log,
		Verbosity:  2,
	})
	if err != nil {
		return fmt.Errorf("starting scheduler %s: %w", name, err)
	}
	klog.FromContext(ctx).V(1).Info("Scheduler replica started", "replica", name, "pid", p.Pid())
	s.replicas = append(s.replicas, &replica{name: name, proc: p, log: log})
	return nil
}

// ensure starts replicas until two are alive.
func (s *schedulers) ensure(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ensureLocked(ctx)
}

func (s *schedulers) ensureLocked(ctx context.Context) error {
	var alive []*replica
	for _, r := range s.replicas {
		if r.alive() {
			alive = append(alive, r)
		}
	}
	s.replicas = alive
	for len(s.replicas) < 2 {
		if err := s.start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// fault kills replicas as the op says and starts new ones after its delay.
// It returns what it did.
func (s *schedulers) fault(ctx context.Context, op Op) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureLocked(ctx); err != nil {
		return "", err
	}
	var leader, standby *replica
	for _, r := range s.replicas {
		if r.leads() {
			leader = r
		} else {
			standby = r
		}
	}
	var victims []*replica
	switch op.Kind {
	case OpKillLeader:
		if leader == nil {
			return "no leader yet: nothing killed", nil
		}
		victims = []*replica{leader}
	case OpKillStandby:
		if standby == nil {
			return "no standby: nothing killed", nil
		}
		victims = []*replica{standby}
	case OpKillAll:
		victims = s.replicas
	}
	var what []string
	for _, v := range victims {
		v.proc.Kill()
		role := "standby"
		if v == leader {
			role = "leader"
		}
		what = append(what, fmt.Sprintf("%s (%s, pid %d)", v.name, role, v.proc.Pid()))
	}
	select {
	case <-time.After(op.Delay):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if err := s.ensureLocked(ctx); err != nil {
		return "", err
	}
	return fmt.Sprintf("killed %v; restarted after %s", what, op.Delay), nil
}

// stop kills every replica.
func (s *schedulers) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.replicas {
		r.proc.Kill()
	}
	s.replicas = nil
}
