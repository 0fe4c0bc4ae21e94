// Package yamlerr reads the line number out of a yaml.v3 error, for the
// located parse errors of the seed-list, tag-pack and risk-policy readers.
package yamlerr

import (
	"strconv"
	"strings"
)

// Line returns the line a yaml.v3 error names ("yaml: line 3: ..."), or 0.
func Line(err error) int {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, err := strconv.Atoi(rest[:j]); err == nil {
			return n
		}
	}
	return 0
}
