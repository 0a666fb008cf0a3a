package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is the dev server process under test.
type server struct {
	bin, addr, stateDir, logPath string
	env                          []string

	cmd     *exec.Cmd
	exited  chan struct{}
	peakRSS int64 // bytes, the highest VmHWM of any incarnation
}

// buildDevserver compiles ./lambdas/cmd/devserver into dir.
func buildDevserver(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root: %w", err)
	}
	out := filepath.Join(dir, "devserver")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./lambdas/cmd/devserver")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build devserver: %w\n%s", err, b)
	}
	return out, nil
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start launches the server and waits until /api/sms/status answers 200.
func (s *server) start(ctx context.Context) error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	cmd := exec.Command(s.bin)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start dev server: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("dev server exited during start; see %s", s.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := client.Get("http://" + s.addr + "/api/sms/status")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("dev server did not answer /api/sms/status within 30s")
}

// sampleRSS records the process's peak resident set (Linux; a no-op elsewhere).
func (s *server) sampleRSS() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "status"))
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					s.peakRSS = max(s.peakRSS, kb*1024)
				}
			}
		}
	}
}

// kill sends SIGKILL, as a crash or an OOM kill would, and waits for the exit.
func (s *server) kill() error {
	s.sampleRSS()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill dev server: %w", err)
	}
	<-s.exited
	return nil
}

// stop sends SIGTERM and waits up to 10 s, then kills.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	s.sampleRSS()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	}
}

// restart starts the server again on the same address and state, retrying
// while the port is still held by the dead process's socket.
func (s *server) restart(ctx context.Context) error {
	var err error
	for range 20 {
		if err = s.start(ctx); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("restart dev server: %w", err)
}
