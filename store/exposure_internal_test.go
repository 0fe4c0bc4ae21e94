package store

import (
	"context"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestExposureGenerationInBadgerAlone: a generation written before the
// sorted files existed (its header without "files", every record a
// Badger key) reads as it did, and a newer build beside it uses files.
func TestExposureGenerationInBadgerAlone(t *testing.T) {
	st, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.db.Update(func(txn *badger.Txn) error {
		for k, v := range map[string]string{
			string(exposureAccKey(1, "addr-a")): "old-a",
			string(exposureAccKey(1, "addr-b")): "old-b",
			string(exposureTxKey(1, 9)):         "old-t",
			string(exposureHeaderKey(1)):        `{"gen":1,"addresses":2}`,
			string(keyExposureCurrent):          "\x00\x00\x00\x01",
			string(keyExposureGen):              "\x00\x00\x00\x01",
		} {
			if err := txn.Set([]byte(k), []byte(v)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	x := st.Exposure()
	if v, ok, err := x.Acc(1, "addr-b"); err != nil || !ok || string(v) != "old-b" {
		t.Fatalf("Acc: %q %v %v", v, ok, err)
	}
	if v, ok, err := x.TxShares(1, 9); err != nil || !ok || string(v) != "old-t" {
		t.Fatalf("TxShares: %q %v %v", v, ok, err)
	}
	n := 0
	if err := x.ForEachAcc(1, func(string, []byte) error { n++; return nil }); err != nil || n != 2 {
		t.Fatalf("ForEachAcc: %d records, %v", n, err)
	}
	err = x.Update(1, func(u *ExposureUpdate) error { return u.PutAcc("addr-a", nil) })
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := x.Acc(1, "addr-a"); err != nil || ok {
		t.Fatalf("deleted record: %v %v", ok, err)
	}
	if h, err := x.Header(1); err != nil || h.Addresses != 1 || h.Files {
		t.Fatalf("header after the update: %+v %v", h, err)
	}
	w, err := x.NewIndex()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.PutAcc("addr-c", []byte("new")); err != nil {
		t.Fatal(err)
	}
	hdr, err := w.Commit(context.Background(), ExposureIndex{Addresses: 1})
	if err != nil || !hdr.Files {
		t.Fatalf("commit: %+v %v", hdr, err)
	}
	if v, ok, err := x.Acc(hdr.Gen, "addr-c"); err != nil || !ok || string(v) != "new" {
		t.Fatalf("new generation: %q %v %v", v, ok, err)
	}
	if _, ok, _ := x.Acc(1, "addr-b"); ok {
		t.Fatal("the old generation's Badger records survived the switch")
	}
}
