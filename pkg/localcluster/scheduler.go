package localcluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"k8s.io/component-base/configz"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	"sigs.k8s.io/yaml"

	// Registers VolumeTopologyArgs so the configuration decodes strictly.
	_ "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/scheme"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// SchedulerName is the profile (and schedulerName) of volume-topology-scheduler.
const SchedulerName = "volume-topology-scheduler"

// SchedulerConfig describes the KubeSchedulerConfiguration WriteSchedulerConfig
// writes: one profile with the default plugins plus VolumeTopology at every
// extension point it implements (multiPoint).
type SchedulerConfig struct {
	// Kubeconfig is the scheduler's clientConnection.kubeconfig.
	Kubeconfig string
	// SchedulerName is the profile name; default SchedulerName.
	SchedulerName string
	// LeaderElect turns on leader election on the lease LeaseName (default
	// SchedulerName) in kube-system.
	LeaderElect bool
	LeaseName   string
	// LeaseDuration, RenewDeadline and RetryPeriod tune leader election;
	// zero keeps kube-scheduler's defaults (15s, 10s, 2s).
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// PluginArgs, when set, are the VolumeTopologyArgs fields (without
	// apiVersion and kind), e.g. {"maxNodesPerZone": 4}.
	PluginArgs map[string]any
	// DefaultProfile adds a first profile, default-scheduler, with
	// kube-scheduler's default plugins only: the same scheduler then
	// schedules pods of either schedulerName, for side-by-side comparisons.
	DefaultProfile bool
}

// DefaultSchedulerName is kube-scheduler's default profile.
const DefaultSchedulerName = "default-scheduler"

// SchedulerConfigYAML renders the configuration.
func SchedulerConfigYAML(cfg SchedulerConfig) ([]byte, error) {
	name := cfg.SchedulerName
	if name == "" {
		name = SchedulerName
	}
	le := map[string]any{"leaderElect": cfg.LeaderElect}
	if cfg.LeaderElect {
		lease := cfg.LeaseName
		if lease == "" {
			lease = SchedulerName
		}
		le["resourceName"] = lease
		le["resourceNamespace"] = "kube-system"
		le["resourceLock"] = "leases"
		for k, d := range map[string]time.Duration{"leaseDuration": cfg.LeaseDuration, "renewDeadline": cfg.RenewDeadline, "retryPeriod": cfg.RetryPeriod} {
			if d > 0 {
				le[k] = d.String()
			}
		}
	}
	profile := map[string]any{
		"schedulerName": name,
		"plugins": map[string]any{
			"multiPoint": map[string]any{"enabled": []any{
				map[string]any{"name": volumetopology.Name, "weight": 5},
				map[string]any{"name": volumetopology.LocalityName, "weight": 10},
			}},
			// As the shipped profile: VolumeTopology's PostFilter, which
			// explains every node, before DefaultPreemption.
			"postFilter": map[string]any{"enabled": []any{map[string]any{"name": volumetopology.Name}}},
		},
	}
	if cfg.PluginArgs != nil {
		args := map[string]any{"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": volumetopology.Name + "Args"}
		for k, v := range cfg.PluginArgs {
			args[k] = v
		}
		profile["pluginConfig"] = []any{map[string]any{"name": volumetopology.Name, "args": args}}
	}
	doc := map[string]any{
		"apiVersion": "kubescheduler.config.k8s.io/v1",
		"kind":       "KubeSchedulerConfiguration",
		"clientConnection": map[string]any{
			"kubeconfig": cfg.Kubeconfig,
			"qps":        200,
			"burst":      400,
		},
		"leaderElection": le,
		"profiles":       []any{profile},
	}
	if cfg.DefaultProfile {
		doc["profiles"] = []any{map[string]any{"schedulerName": DefaultSchedulerName}, profile}
	}
	return yaml.Marshal(doc)
}

// WriteSchedulerConfig writes the configuration to path.
func WriteSchedulerConfig(path string, cfg SchedulerConfig) error {
	data, err := SchedulerConfigYAML(cfg)
	if err != nil {
		return fmt.Errorf("rendering scheduler configuration: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("writing scheduler configuration: %w", err)
	}
	return nil
}

// Scheduler is volume-topology-scheduler running in this process.
type Scheduler struct {
	// Address is the host:port of its secure endpoint (/readyz, /metrics).
	Address string

	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// schedulerMu serialises in-process schedulers: kube-scheduler registers its
// configuration in a process-wide registry (configz) that holds one.
var schedulerMu sync.Mutex

// StartScheduler runs volume-topology-scheduler in this process the way the
// shipped binary does, app.Setup with the VolumeTopology plugin and then
// app.Run, reading the KubeSchedulerConfiguration at configPath. kubeconfig
// is used for delegated authentication and authorization of its secure
// endpoint, which listens on a free loopback port. It returns once the
// scheduler reports ready.
//
// Only one in-process scheduler may run at a time, and it must not use leader
// election: when kube-scheduler stops leading it exits the process. Use
// StartSchedulerProcess for replicas with leader election.
func StartScheduler(ctx context.Context, kubeconfig, configPath string) (*Scheduler, error) {
	logger := klog.FromContext(ctx).WithName("scheduler")
	if !schedulerMu.TryLock() {
		return nil, errors.New("an in-process scheduler is already running: stop it first")
	}
	ok := false
	defer func() {
		if !ok {
			schedulerMu.Unlock()
		}
	}()

	opts := options.NewOptions()
	opts.ConfigFile = configPath
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the scheduler's secure endpoint: %w", err)
	}
	opts.SecureServing.Listener = ln
	opts.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	opts.SecureServing.BindPort = ln.Addr().(*net.TCPAddr).Port
	opts.Authentication.RemoteKubeConfigFile = kubeconfig
	opts.Authorization.RemoteKubeConfigFile = kubeconfig
	if err := opts.ComponentGlobalsRegistry.Set(); err != nil {
		ln.Close()
		return nil, fmt.Errorf("applying scheduler feature gates: %w", err)
	}

	ctx, cancel := context.WithCancel(klog.NewContext(ctx, logger))
	cc, sched, err := app.Setup(ctx, opts,
		app.WithPlugin(volumetopology.Name, volumetopology.New),
		app.WithPlugin(volumetopology.LocalityName, volumetopology.NewDiskLocality))
	if err != nil {
		cancel()
		ln.Close()
		return nil, fmt.Errorf("setting up the scheduler from %s: %w", configPath, err)
	}
	if cc.LeaderElection != nil {
		cancel()
		ln.Close()
		return nil, errors.New("an in-process scheduler cannot use leader election (kube-scheduler exits the process when it stops leading): use StartSchedulerProcess")
	}
	s := &Scheduler{Address: ln.Addr().String(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer schedulerMu.Unlock()
		defer configz.Delete("componentconfig")
		err := app.Run(ctx, cc, sched)
		if ctx.Err() == nil {
			s.err = err
			logger.Error(err, "Scheduler stopped")
		}
	}()
	ok = true
	if err := waitReady(ctx, s.Address, s.done); err != nil {
		s.Stop()
		return nil, err
	}
	logger.Info("Scheduler is ready", "address", s.Address, "config", configPath)
	return s, nil
}

// Stop stops the scheduler and waits until it has.
func (s *Scheduler) Stop() {
	s.cancel()
	<-s.done
}

// Done is closed once the scheduler has stopped.
func (s *Scheduler) Done() <-chan struct{} { return s.done }

// Err is why the scheduler stopped by itself, if it did.
func (s *Scheduler) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// ProcessOptions start a scheduler in a child process.
type ProcessOptions struct {
	// Command runs the scheduler: the shipped binary, or a program that runs
	// its command (for a test binary, itself with an environment variable
	// telling it to). Flags are appended.
	Command []string
	// Env is added to this process's environment.
	Env []string
	// Kubeconfig and ConfigPath are as for StartScheduler.
	Kubeconfig string
	ConfigPath string
	// LogPath receives the process's output; empty discards it.
	LogPath string
	// Verbosity is the -v flag.
	Verbosity int
}

// SchedulerProcess is a scheduler running in a child process.
type SchedulerProcess struct {
	Address string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	log     *os.File
}

// StartSchedulerProcess starts a scheduler process with the configuration
// and waits until it reports ready (a replica waiting for the lease is ready).
func StartSchedulerProcess(ctx context.Context, o ProcessOptions) (*SchedulerProcess, error) {
	if len(o.Command) == 0 {
		return nil, errors.New("no scheduler command")
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append(append([]string{}, o.Command[1:]...),
		"--config="+o.ConfigPath,
		"--authentication-kubeconfig="+o.Kubeconfig,
		"--authorization-kubeconfig="+o.Kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"-v="+strconv.Itoa(o.Verbosity),
	)
	p := &SchedulerProcess{Address: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), done: make(chan struct{})}
	p.cmd = exec.Command(o.Command[0], args...)
	p.cmd.Env = append(os.Environ(), o.Env...)
	p.cmd.SysProcAttr = childProcAttr()
	if o.LogPath != "" {
		if p.log, err = os.Create(o.LogPath); err != nil {
			return nil, fmt.Errorf("creating scheduler log: %w", err)
		}
		p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting scheduler process %s: %w", o.Command[0], err)
	}
	klog.FromContext(ctx).V(1).Info("Started scheduler process", "pid", p.cmd.Process.Pid, "address", p.Address, "log", o.LogPath)
	go func() {
		p.err = p.cmd.Wait()
		if p.log != nil {
			p.log.Close()
		}
		close(p.done)
	}()
	if err := waitReady(ctx, p.Address, p.done); err != nil {
		p.Kill()
		if o.LogPath != "" {
			err = fmt.Errorf("%w (log: %s)", err, o.LogPath)
		}
		return nil, err
	}
	return p, nil
}

// Pid is the process ID.
func (p *SchedulerProcess) Pid() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM (a leader releases its lease) and waits; after 10
// seconds it kills the process.
func (p *SchedulerProcess) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

// Kill kills the process (a leader keeps its lease until it expires) and
// waits for it.
func (p *SchedulerProcess) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Done is closed once the process has exited.
func (p *SchedulerProcess) Done() <-chan struct{} { return p.done }

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls https://address/readyz until it answers ok, done closes
// (the scheduler stopped) or a minute passes.
func waitReady(ctx context.Context, address string, done <-chan struct{}) error {
	client := &http.Client{
		Timeout: 2 * time.Second,
		// The scheduler serves a self-signed certificate; only readiness is
		// read over this connection.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec
	}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(time.Minute)
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+address+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body))
		} else {
			last = err.Error()
		}
		select {
		case <-done:
			return fmt.Errorf("scheduler exited before it was ready (last /readyz: %s)", last)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("scheduler not ready after a minute (last /readyz: %s)", last)
		}
	}
}
