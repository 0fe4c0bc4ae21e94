package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestTextCopyableIDs is issue 17 #20 for text reports: every hit and
// holding gives its full txid (a reader copies it), hits say whether a tag
// or a cluster attributed them, with the linking transaction, and a
// backward trace's value from before the store's range is named as such.
func TestTextCopyableIDs(t *testing.T) {
	r := fixture(false)
	r.Totals.BeforeRange = 12345
	r.Totals.Traced += 12345
	var b bytes.Buffer
	if err := Write(&b, "text", r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "…") {
		t.Errorf("text report cuts an id:\n%s", out)
	}
	for _, h := range r.Hits {
		if !strings.Contains(out, h.Txid) {
			t.Errorf("hit txid %s missing", h.Txid)
		}
		if h.Via == "cluster" && !strings.Contains(out, "linked by tx "+h.LinkTxid) {
			t.Errorf("cluster hit's link %s missing", h.LinkTxid)
		}
	}
	for _, h := range r.Holdings[:min(len(r.Holdings), holdingsShown)] {
		if !strings.Contains(out, h.Txid) {
			t.Errorf("holding txid %s missing", h.Txid)
		}
	}
	if !strings.Contains(out, "VIA") || !strings.Contains(out, "source before the store's range: value unknown") || strings.Contains(out, "do not add up") {
		t.Errorf("text report:\n%s", out)
	}
}
