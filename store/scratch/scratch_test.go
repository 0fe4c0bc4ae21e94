package scratch_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/tracer-oss/tracer/store/scratch"
)

// TestMain lets the test binary play a build that is killed while it
// holds a directory (SCRATCH_KILLED=dir).
func TestMain(m *testing.M) {
	if dir := os.Getenv("SCRATCH_KILLED"); dir != "" {
		d, err := scratch.Make(dir, "run-")
		if err != nil {
			os.Exit(3)
		}
		if err := os.WriteFile(filepath.Join(d.Path, "spill"), make([]byte, 1<<16), 0o644); err != nil {
			os.Exit(4)
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	os.Exit(m.Run())
}

// TestLeftovers: a directory whose process was SIGKILLed is removed by the
// next Make of its prefix; one a live process holds (this one), one Make
// did not make, and one of another prefix are left; Remove removes its own.
func TestLeftovers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no flock: leftovers are not told from live directories here")
	}
	tmp := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^$")
	cmd.Env = append(os.Environ(), "SCRATCH_KILLED="+tmp)
	err := cmd.Run()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the killed build: %v (%v)", err, cmd.ProcessState)
	}
	killed, _ := filepath.Glob(filepath.Join(tmp, "run-*"))
	if len(killed) != 1 {
		t.Fatalf("the killed build left %v, want one directory", killed)
	}
	live, err := scratch.Make(tmp, "run-")
	if err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(tmp, "run-older")
	other := filepath.Join(tmp, "cache-1")
	for _, d := range []string{foreign, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(killed[0]); !os.IsNotExist(err) {
		t.Fatalf("the killed build's %s outlived the next Make (%v)", killed[0], err)
	}
	if n := scratch.RemoveLeftovers(tmp, "run-"); n != 0 {
		t.Fatalf("RemoveLeftovers removed %d directories with the live one and no leftovers", n)
	}
	for _, d := range []string{live.Path, foreign, other} {
		if _, err := os.Stat(d); err != nil {
			t.Fatalf("%s: %v, want it left", d, err)
		}
	}
	live.Remove()
	if _, err := os.Stat(live.Path); !os.IsNotExist(err) {
		t.Fatalf("Remove left %s (%v)", live.Path, err)
	}
}
