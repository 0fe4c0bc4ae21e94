//go:build integration

package follow_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/ingest/rpcnode"
	"github.com/tracer-oss/tracer/tracer/alert"
	"github.com/tracer-oss/tracer/tracer/follow"
)

// The kill test re-runs this test binary as the follower (what tracer
// follow runs) and kills it; childEnv carries its arguments.
const childEnv = "TRACER_FOLLOW_CHILD"

type childArgs struct {
	DB, URL, User, Pass, Alerts string
	// Pause: an undo step (store.UndoStep*) or "commit"; the child prints
	// "paused STEP" there and waits to be killed.
	Pause string
}

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(childMain(v))
	}
	os.Exit(m.Run())
}

func childMain(v string) int {
	var a childArgs
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	pause := func(step string) {
		if step == a.Pause {
			fmt.Printf("paused %s\n", step)
			select {}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := store.Open(a.DB, store.Options{UndoHook: pause})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	node, err := rpcnode.Dial(ctx, rpcnode.Config{URL: a.URL, User: a.User, Pass: a.Pass})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer node.Close()
	sink, err := alert.OpenFile(a.Alerts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer sink.Close()
	err = follow.Run(ctx, st, node, follow.Config{
		Sync:   ingest.Config{Network: node.Network(), Workers: 2, OnCommit: func(int32) { pause("commit") }},
		Poll:   100 * time.Millisecond,
		Alerts: true,
		Sinks:  []alert.Sink{sink},
		OnSynced: func(s store.State) {
			if p, err := st.Outbox().Pending(0, 1); err == nil && len(p) == 0 {
				fmt.Printf("synced %d %s\n", s.Height, s.Hash)
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func startChild(t testing.TB, a childArgs) (*exec.Cmd, <-chan string) {
	t.Helper()
	b, _ := json.Marshal(a)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // the test reads only the latest lines it waits for
			}
		}
	}()
	return cmd, lines
}
