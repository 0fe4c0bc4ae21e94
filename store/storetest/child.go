package storetest

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
)

// StartChild re-runs the test binary as a child process (running no test)
// with args, JSON-encoded, in the environment variable env; the test's
// TestMain sees it and does the child's work. The channel gets the child's
// stdout line by line (commit marks, for the crash tests) and is closed
// when the child's stdout ends.
func StartChild(tb testing.TB, env string, args any) (*exec.Cmd, <-chan string) {
	tb.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+string(b))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}
