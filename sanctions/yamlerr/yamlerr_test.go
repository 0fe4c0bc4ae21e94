package yamlerr

import (
	"errors"
	"testing"
)

func TestLine(t *testing.T) {
	for msg, want := range map[string]int{
		"yaml: line 3: mapping values are not allowed": 3,
		"yaml: unmarshal errors:\n  line 12: cannot":   12,
		"no line here": 0,
		"line x":       0,
	} {
		if got := Line(errors.New(msg)); got != want {
			t.Errorf("Line(%q) = %d, want %d", msg, got, want)
		}
	}
}
