package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs lets flags follow positional arguments ("tracer tx TXID --json"),
// as people type them; urfave/cli stops parsing flags at the first argument.
// Within each (sub)command segment, flags and their values move before the
// positional arguments, and global flags (--db) move to the front wherever
// they were typed. Everything after "--" is left as is.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	var global, body []string
	cmds, flags := app.Commands, app.Flags
	rest := args[1:]
	for len(rest) > 0 || flags != nil {
		sg := scanSegment(app, cmds, flags, rest)
		global = append(global, sg.global...)
		body = append(body, sg.local...)
		if sg.sub == nil {
			body = append(body, sg.pos...)
			break
		}
		body = append(body, rest[sg.end])
		cmds, flags, rest = sg.sub.Subcommands, sg.sub.Flags, rest[sg.end+1:]
		if flags == nil {
			flags = []cli.Flag{}
		}
	}
	out := append([]string{args[0]}, global...)
	return append(out, body...)
}

// segment is one (sub)command's arguments, sorted: global flags, its own
// flags, positional arguments; and the subcommand that ends it, at end.
type segment struct {
	global, local, pos []string
	sub                *cli.Command
	end                int
}

// scanSegment sorts rest's arguments up to the first subcommand of cmds
// named before any positional argument (or to the end, or "--" and what
// follows as positional); flags are looked up in flags, then in the app's.
func scanSegment(app *cli.App, cmds []*cli.Command, flags []cli.Flag, rest []string) segment {
	var sg segment
	i := 0
	for ; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			sg.pos = append(sg.pos, rest[i:]...)
			i = len(rest)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			i = sg.takeFlag(app, flags, rest, i)
			continue
		}
		if len(sg.pos) == 0 {
			if sg.sub = findCommand(cmds, a); sg.sub != nil {
				break
			}
		}
		sg.pos = append(sg.pos, a)
	}
	sg.end = i
	return sg
}

// takeFlag files the flag at rest[i], with its value when it takes one,
// as global or local; it returns the index of the last argument taken.
func (sg *segment) takeFlag(app *cli.App, flags []cli.Flag, rest []string, i int) int {
	a := rest[i]
	f, isGlobal := lookupFlag(flags, a), false
	if f == nil && flags != nil && !sameFlags(flags, app.Flags) {
		if f = lookupFlag(app.Flags, a); f != nil {
			isGlobal = true
		}
	}
	grab := []string{a}
	if !strings.Contains(a, "=") && takesValue(f) && i+1 < len(rest) {
		i++
		grab = append(grab, rest[i])
	}
	if isGlobal {
		sg.global = append(sg.global, grab...)
	} else {
		sg.local = append(sg.local, grab...)
	}
	return i
}

func sameFlags(a, b []cli.Flag) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
		for _, a := range c.Aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

func lookupFlag(flags []cli.Flag, arg string) cli.Flag {
	name := strings.TrimLeft(arg, "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		name = name[:i]
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// takesValue reports whether flag f consumes the following argument.
func takesValue(f cli.Flag) bool {
	if f == nil {
		return false
	}
	_, isBool := f.(*cli.BoolFlag)
	return !isBool
}
