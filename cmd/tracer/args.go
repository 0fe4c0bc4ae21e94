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
		var pos, local []string
		var sub *cli.Command
		i := 0
		for ; i < len(rest); i++ {
			a := rest[i]
			if a == "--" {
				pos = append(pos, rest[i:]...)
				i = len(rest)
				break
			}
			if strings.HasPrefix(a, "-") && len(a) > 1 {
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
					global = append(global, grab...)
				} else {
					local = append(local, grab...)
				}
				continue
			}
			if len(pos) == 0 {
				if sub = findCommand(cmds, a); sub != nil {
					break
				}
			}
			pos = append(pos, a)
		}
		body = append(body, local...)
		if sub == nil {
			body = append(body, pos...)
			break
		}
		body = append(body, rest[i])
		cmds, flags, rest = sub.Subcommands, sub.Flags, rest[i+1:]
		if flags == nil {
			flags = []cli.Flag{}
		}
	}
	out := append([]string{args[0]}, global...)
	return append(out, body...)
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
