package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/storetest"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

// The crash test re-runs this test binary as a clustering process that the
// test kills; childEnv holds its arguments.
const childEnv = "TRACER_CLUSTER_CHILD"

type childArgs struct {
	DB          string
	CommitEvery int
	MaxMerge    int64
	Change      []cluster.Rule
	// KillStep and KillCommit: the child kills itself with SIGKILL at
	// this step (store.ClusterStep*) of its KillCommit-th commit, or of the
	// first commit after it that has the step.
	KillStep   string
	KillCommit int
}

func (a childArgs) options() cluster.Options {
	return cluster.Options{MaxMerge: a.MaxMerge, Change: a.Change, CommitEvery: a.CommitEvery}
}

func childMain(v string) int {
	var a childArgs
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	commits := 0
	hook := func(step string) {
		if step == a.KillStep && commits+1 >= a.KillCommit {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		if step == store.ClusterStepDone {
			commits++
		}
	}
	st, err := store.Open(a.DB, store.Options{ClusterHook: hook})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	opt := a.options()
	opt.OnCommit = func(next store.TxNum) { fmt.Printf("commit %d\n", next) }
	if _, err := cluster.Run(ctx, st, opt); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func startChild(t *testing.T, a childArgs) (*exec.Cmd, <-chan string) {
	t.Helper()
	return storetest.StartChild(t, childEnv, a)
}

// TestClusterKilled kills a clustering process with SIGKILL after each
// durable step of a commit, then at random moments (commits every 40
// transactions), and restarts it each time. After every kill, readers
// must see exactly the clustering of the transactions the committed state
// counts (compared with the reference union-find over that prefix), never
// part of a commit; the final rerun must write the same forest, key by key,
// as an uninterrupted run.
func TestClusterKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes; run without -short")
	}
	dir, _ := scamChain(t)
	whole := ingestChain(t, dir, -1)
	a := childArgs{CommitEvery: 40, MaxMerge: 50, Change: []cluster.Rule{cluster.RuleOneTime}}
	if _, err := cluster.Run(context.Background(), whole, a.options()); err != nil {
		t.Fatal(err)
	}
	a.DB = filepath.Join(t.TempDir(), "db")
	st, err := store.Open(a.DB, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Run(context.Background(), st, ingest.Config{Paths: []string{filepath.Join(dir, "blocks")}, StartHeight: -1, ToHeight: -1}); err != nil {
		t.Fatal(err)
	}
	total := st.State().NextTx
	st.Close()

	// First at each step of a commit, then at random moments.
	points := []struct {
		step   string
		commit int
	}{
		{store.ClusterStepWritten, 1}, // the first build's only write
		{store.ClusterStepWritten, 3},
		{store.ClusterStepJournal, 2},
		{store.ClusterStepCopied, 4},
		{store.ClusterStepDone, 2},
		{store.ClusterStepJournal, 1}, // a resumed run's first commit has a journal
	}
	r := rand.New(rand.NewSource(time.Now().UnixNano()))
	var kills int
	var committed []store.TxNum
	finished := false
	for round := 0; round < 14 && !finished; round++ {
		if round < len(points) {
			a.KillStep, a.KillCommit = points[round].step, points[round].commit
			cmd, commits := startChild(t, a)
			for range commits {
			}
			err := cmd.Wait()
			if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("round %d: child killing itself at %s of commit %d ended with %v", round, a.KillStep, a.KillCommit, err)
			}
			kills++
			a.KillStep = ""
		} else {
			cmd, commits := startChild(t, a)
			target := 1 + r.Intn(20)
			seen := 0
			for range commits {
				if seen++; seen == target {
					break
				}
			}
			if seen < target {
				if err := cmd.Wait(); err != nil {
					t.Fatalf("child ended on its own with %v", err)
				}
				finished = true
			} else {
				time.Sleep(time.Duration(r.Intn(3000)) * time.Microsecond)
				cmd.Process.Kill()
				cmd.Wait()
				kills++
				go func() {
					for range commits {
					}
				}()
			}
		}
		st, err := store.Open(a.DB, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("reopen after round %d: %v", round, err)
		}
		cs, ok, err := st.ClusterState()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			committed = append(committed, cs.NextTx)
			ref := newRefForest()
			if err := cluster.RunWith(st, a.options(), ref, cs.NextTx); err != nil {
				t.Fatal(err)
			}
			t.Run(fmt.Sprintf("round %d at tx %d", round, cs.NextTx), func(t *testing.T) { compareForest(t, st, ref) })
		}
		st.Close()
	}
	t.Logf("%d kills; committed up to tx (of %d) after each: %v", kills, total, committed)
	if kills < 4 {
		t.Fatalf("only %d kills landed", kills)
	}
	cmd, commits := startChild(t, a)
	for range commits {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final run: %v", err)
	}
	st, err = store.Open(a.DB, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got, want := clusterKeys(t, st), clusterKeys(t, whole); got != want {
		t.Fatalf("the forest after kills differs from an uninterrupted run's (%d vs %d bytes of dump)", len(got), len(want))
	}
	ref := newRefForest()
	if err := cluster.RunWith(st, a.options(), ref, total); err != nil {
		t.Fatal(err)
	}
	compareForest(t, st, ref)
}
