package cluster

import "testing"

// TestCommitInterval: a set interval is kept; the default is 1,000,000
// transactions, or a third of the forest's addresses once that is more.
func TestCommitInterval(t *testing.T) {
	for _, tc := range []struct {
		every     int
		addresses int64
		want      int
	}{
		{0, 0, 1_000_000},
		{0, 3_000_000, 1_000_000},
		{0, 3_000_003, 1_000_001},
		{0, 30_000_000, 10_000_000},
		{-1, 30_000_000, 10_000_000},
		{500, 30_000_000, 500},
		{2_000_000, 0, 2_000_000},
	} {
		if got := commitInterval(tc.every, tc.addresses); got != tc.want {
			t.Errorf("commitInterval(%d, %d) = %d, want %d", tc.every, tc.addresses, got, tc.want)
		}
	}
}
