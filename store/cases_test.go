package store

import (
	"fmt"
	"sync"
	"testing"
)

// Concurrent updates of one case each land: none is lost, and the log
// numbers them 1..n.
func TestCaseConcurrentUpdates(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, err := st.Cases().Create(func(id uint64) ([]byte, error) { return []byte(""), nil }, []byte("{}"), CaseEvent{Action: "create"})
	if err != nil || id != 1 {
		t.Fatalf("create: %d %v", id, err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := st.Cases().Update(id, func(rec []byte) ([]byte, []byte, error) {
				return append(rec, 'x'), nil, nil
			}, CaseEvent{Action: fmt.Sprint("note ", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rec, err := st.Cases().Record(id)
	if err != nil || len(rec) != 20 {
		t.Errorf("record %q (%v): want 20 updates", rec, err)
	}
	log, err := st.Cases().Log(id)
	if err != nil || len(log) != 21 {
		t.Fatalf("log of %d entries (%v)", len(log), err)
	}
	for i, e := range log {
		if e.Seq != uint32(i+1) {
			t.Errorf("entry %d has seq %d", i, e.Seq)
		}
	}
	if err := st.Cases().Update(9, func(rec []byte) ([]byte, []byte, error) { return rec, nil, nil }, CaseEvent{}); err == nil {
		t.Error("update of a missing case succeeded")
	}
	if id2, _ := st.Cases().Create(func(id uint64) ([]byte, error) { return nil, nil }, nil, CaseEvent{}); id2 != 2 {
		t.Errorf("second case id %d", id2)
	}
}
