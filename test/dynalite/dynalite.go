// Package dynalite starts dynalite (https://github.com/architect/dynalite),
// a DynamoDB-API server in Node, for tests of the DynamoDB adapter. The
// server is the npm package pinned in test/package.json; `make deps`
// installs it. Each server keeps its tables in memory and dies with its test.
package dynalite

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTimeout bounds the wait for a server to listen; dynalite needs about
// 0.2 s on an idle machine.
const startTimeout = 20 * time.Second

// stopTimeout bounds the wait for a killed server to be reaped.
const stopTimeout = 5 * time.Second

// Start starts a fresh in-memory dynalite server and returns its endpoint,
// such as http://127.0.0.1:41234. The server and its process group are
// killed when t ends. A missing installation skips the test with a hint to
// run `make deps`, except in CI (CI=true), where every test must run and a
// missing stand-in fails it.
func Start(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("dynalite: %v", err)
	}
	cli := filepath.Join(root, "test", "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		Missing(t, fmt.Sprintf("dynalite is not installed (%v)", err))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		Missing(t, fmt.Sprintf("dynalite needs Node.js on PATH (%v)", err))
	}
	// The free port may be taken between probing and dynalite's listen;
	// a few attempts make that race harmless.
	for attempt := 1; ; attempt++ {
		srv, err := start(node, cli)
		if err == nil {
			t.Cleanup(func() {
				if err := srv.stop(); err != nil {
					t.Errorf("stop dynalite: %v", err)
				}
			})
			return srv.endpoint
		}
		if attempt == 3 || !errors.Is(err, errAddrInUse) {
			t.Fatalf("start dynalite: %v", err)
		}
	}
}

// Missing ends a test whose stand-in is not installed: skipped with a hint to
// run `make deps` on a developer machine, failed in CI (CI=true), where a
// skipped adapter test would hide a broken build.
func Missing(t testing.TB, what string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s: run `make deps` to install the test servers (CI=true: stand-in tests must run)", what)
	}
	msg := fmt.Sprintf("%s: skipped; run `make deps` to install the test servers (CI=true makes this a failure)", what)
	if _, real := t.(*testing.T); real { // not a test double of testing.TB
		tellTerminal(msg)
	}
	t.Skipf("%s", msg)
}

var toldTerminal sync.Once

// tellTerminal shows msg once per test binary on the controlling terminal, when
// there is one: `go test ./...` prints only "ok" for a package whose tests
// skipped (the reason shows with -v or -json), and a developer should learn
// that adapter tests did not run and why.
func tellTerminal(msg string) {
	toldTerminal.Do(func() {
		tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer tty.Close()
		fmt.Fprintf(tty, "NOTE %s\n", msg)
	})
}

// InCI reports whether the tests run in CI (the CI variable most CI systems
// and .ci/run set).
func InCI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

var errAddrInUse = errors.New("address in use")

type server struct {
	endpoint string
	cmd      *exec.Cmd
	exited   chan struct{} // closed once the process is reaped
}

func start(node, cli string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		// Tables become ACTIVE at once, so a fresh table per test is cheap.
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	setProcAttr(cmd)
	ready := make(chan struct{})
	cmd.Stdout = &readyWriter{ready: ready}
	stderr := &limitedBuffer{max: 8 << 10}
	cmd.Stderr = stderr
	srv := &server{endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, exited: make(chan struct{})}
	var waitErr error
	started := make(chan error)
	go func() {
		// Pdeathsig fires when the thread that started the child exits, and
		// the runtime may end threads; holding this one until the child is
		// reaped keeps the signal for the test binary's death only.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		waitErr = cmd.Wait()
		close(srv.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-ready:
		return srv, nil
	case <-srv.exited:
		msg := stderr.String()
		if strings.Contains(msg, "EADDRINUSE") {
			return nil, fmt.Errorf("port %d: %w", port, errAddrInUse)
		}
		return nil, fmt.Errorf("dynalite exited before listening (%v): %s", waitErr, msg)
	case <-timer.C:
		return nil, errors.Join(fmt.Errorf("dynalite not listening after %v: %s", startTimeout, stderr.String()), srv.stop())
	}
}

// stop kills the server's process group and waits until it is reaped.
func (s *server) stop() error {
	if err := killGroup(s.cmd); err != nil {
		return err
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("dynalite (pid %d) still running %v after kill", s.cmd.Process.Pid, stopTimeout)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// moduleRoot walks up from the working directory to the directory of go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// readyLine is what dynalite prints once it listens.
const readyLine = "Dynalite listening at:"

// readyWriter receives the server's stdout and closes ready once the server
// reports that it listens; it discards everything else.
type readyWriter struct {
	ready chan struct{}
	seen  []byte
	done  bool
}

func (w *readyWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.seen = append(w.seen, p...)
		if bytes.Contains(w.seen, []byte(readyLine)) {
			w.done, w.seen = true, nil
			close(w.ready)
		} else if len(w.seen) > 4<<10 {
			w.seen = w.seen[len(w.seen)-len(readyLine):]
		}
	}
	return len(p), nil
}

// limitedBuffer keeps the first max bytes written to it, for error messages.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}
