package sanctions

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func listOf(n int) *List {
	l := &List{}
	for i := 0; i < n; i++ {
		l.Entries = append(l.Entries, Entry{Asset: AssetXBT, Address: fmt.Sprintf("addr%03d", i), ProfileID: 1})
	}
	return l
}

func TestCheckReplacement(t *testing.T) {
	for _, tc := range []struct {
		name          string
		current, next *List
		want          error
	}{
		{"first list", nil, listOf(3), nil},
		{"first list empty", nil, listOf(0), ErrEmptyList},
		{"nil next", listOf(3), nil, ErrEmptyList},
		{"empty next", listOf(100), listOf(0), ErrEmptyList},
		{"grows", listOf(100), listOf(120), nil},
		{"same", listOf(100), listOf(100), nil},
		{"20% fewer is allowed", listOf(100), listOf(80), nil},
		{"21% fewer is refused", listOf(100), listOf(79), ErrShrunk},
		{"truncated", listOf(517), listOf(12), ErrShrunk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckReplacement(tc.current, tc.next, 0)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Duplicate entries of one address count once.
	dup := listOf(80)
	dup.Entries = append(dup.Entries, dup.Entries...)
	if err := CheckReplacement(listOf(100), dup, 0); err != nil {
		t.Fatalf("80 distinct addresses in 160 entries: %v", err)
	}
	var se *ShrinkError
	err := CheckReplacement(listOf(517), listOf(12), 0)
	if !errors.As(err, &se) || se.Before != 517 || se.After != 12 || !strings.Contains(err.Error(), "505 (97.7%) fewer than the 517") {
		t.Fatalf("%v", err)
	}
	if err := CheckReplacement(listOf(100), listOf(60), 0.5); err != nil {
		t.Fatalf("custom threshold: %v", err)
	}
}
