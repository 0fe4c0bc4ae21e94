package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestHelpAndMessages is issue 17 #16 over every command: each flag's help
// shows its default once (no "(default: the tip) (default: -1)", no
// "(default: false)" on switches), and an unknown command or subcommand is
// named, with suggestions, exit 2.
func TestHelpAndMessages(t *testing.T) {
	var paths [][]string
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string{}, prefix...), c.Name)
			paths = append(paths, p)
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(nil, nil).Commands)
	if len(paths) < 25 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, p := range paths {
		code, out, errs := runCLI(t, append(p, "--help")...)
		if code != 0 {
			t.Errorf("%v --help: exit %d %s", p, code, errs)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.Count(l, "(default:") > 1 || strings.Contains(l, "(default: false)") {
				t.Errorf("%v --help: %q", p, strings.TrimSpace(l))
			}
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bogus"}, `unknown command "bogus" for tracer (commands: demo, ingest,`},
		{[]string{"trac"}, "did you mean trace?"},
		{[]string{"sanctions", "chek"}, `unknown command "chek" for tracer sanctions; did you mean check?`},
		{[]string{"tags", "shwo"}, "did you mean show?"},
		{[]string{"watch", "ad"}, "did you mean add?"},
		{[]string{"gen", "--out", t.TempDir() + "/c", "--txs", "99999999999999"}, "--txs must be between 0 and 4294967296, got 99999999999999"},
	} {
		code, _, errs := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) || strings.Contains(errs, "No help topic") {
			t.Errorf("%v: exit %d, %q; want exit 2 and %q", tc.args, code, errs, tc.want)
		}
	}
}
