package main

import (
	"errors"
	"testing"
)

// TestClosing: a failed Close at the end of a command fails the command
// (a store's last writes did not reach the disk), unless the command had
// failed already, whose error is kept.
func TestClosing(t *testing.T) {
	errRun, errClose := errors.New("run failed"), errors.New("close failed")
	for _, tc := range []struct {
		name             string
		run, close, want error
	}{
		{"both fine", nil, nil, nil},
		{"close fails", nil, errClose, errClose},
		{"run fails", errRun, nil, errRun},
		{"both fail: the first is kept", errRun, errClose, errRun},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closed := 0
			got := func() (err error) {
				defer closing(closeFunc(func() error { closed++; return tc.close }), &err)
				return tc.run
			}()
			if got != tc.want || closed != 1 {
				t.Errorf("got %v after %d closes, want %v after 1", got, closed, tc.want)
			}
		})
	}
}
