package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/store/storetest"
)

// TestBackupRestore: a backup of a store restores into a store with the
// same content digest (every key and value) and state, opened read-only;
// a backup of the replica is a backup of the same data.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	st := storetest.GeneratedStore(t, chaingen.Config{Txs: 600, Seed: 5, TxsPerBlock: 40})
	// An exposure index generation: its files and an update over them
	// travel with the backup.
	gen := buildExposure(t, st, 700, 300)
	if err := st.Exposure().Update(gen, func(u *store.ExposureUpdate) error { return u.PutAcc("acc-0001", []byte("updated")) }); err != nil {
		t.Fatal(err)
	}
	want, n, err := st.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < 1000 {
		t.Fatalf("only %d keys: the store is too small to test with", n)
	}
	file := filepath.Join(t.TempDir(), "store.backup")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := st.Backup(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(file); fi.Size() != bs.Bytes || bs.Height != st.State().Height {
		t.Fatalf("backup stats %+v, file %d bytes, store at %d", bs, fi.Size(), st.State().Height)
	}
	replica := filepath.Join(t.TempDir(), "replica")
	rs, err := store.Restore(ctx, file, replica, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rs.Height != bs.Height || rs.Hash != bs.Hash {
		t.Fatalf("restored %+v, backed up %+v", rs, bs)
	}
	r, err := store.Open(replica, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, m, err := r.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != want || m != n {
		t.Fatalf("replica digest %x (%d keys), primary %x (%d keys)", got, m, want, n)
	}
	for k, w := range map[string]string{"acc-0001": "updated", "acc-0699": fmt.Sprintf("a%d-699", gen)} {
		if v, ok, err := r.Exposure().Acc(gen, k); err != nil || !ok || string(v) != w {
			t.Fatalf("replica's exposure record %s: %q %v %v, want %q", k, v, ok, err, w)
		}
	}
	if r.State() != st.State() {
		t.Fatalf("replica state %+v, primary %+v", r.State(), st.State())
	}
}

// TestRestoreRefusesBadFiles: a truncated, extended, damaged or foreign
// file is refused with ErrBadBackup before anything is written, and a
// non-empty target directory with ErrExists.
func TestRestoreRefusesBadFiles(t *testing.T) {
	ctx := context.Background()
	st := storetest.GeneratedStore(t, chaingen.Config{Txs: 300, Seed: 6, TxsPerBlock: 40})
	var buf bytes.Buffer
	if _, err := st.Backup(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	flip := bytes.Clone(good)
	flip[len(flip)/2] ^= 0x40
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"header only", good[:16]},
		{"truncated in the body", good[:len(good)/2]},
		{"truncated in the trailer", good[:len(good)-10]},
		{"extended", append(bytes.Clone(good), 0)},
		{"a flipped bit", flip},
		{"not a backup", bytes.Repeat([]byte("x"), 200)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "b")
			if err := os.WriteFile(file, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(dir, "replica")
			_, err := store.Restore(ctx, file, target, store.Options{})
			if !errors.Is(err, store.ErrBadBackup) {
				t.Fatalf("err %v, want ErrBadBackup", err)
			}
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Fatalf("the refused restore created %s (%v)", target, err)
			}
		})
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "b")
	if err := os.WriteFile(file, good, 0o644); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "keep"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Restore(ctx, file, full, store.Options{}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("restore into a non-empty dir: %v, want ErrExists", err)
	}
	if b, err := os.ReadFile(filepath.Join(full, "keep")); err != nil || string(b) != "mine" {
		t.Fatalf("the refused restore touched the directory's file: %q %v", b, err)
	}
}
