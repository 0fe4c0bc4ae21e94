package main

import (
	"reflect"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"
)

// defaultInUsage is a default described in a flag's usage text.
var defaultInUsage = regexp.MustCompile(`\s*\(default: ([^)]*)\)\s*$`)

// tidyHelp makes every flag's help show its default once: a default
// described in the usage ("(default: the tip)") becomes the flag's default
// text instead of being followed by urfave/cli's own "(default: -1)", and
// switches do not say "(default: false)".
func tidyHelp(cmds []*cli.Command, flags []cli.Flag) {
	for _, f := range flags {
		v := reflect.ValueOf(f)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			continue
		}
		s := v.Elem()
		usage, text := s.FieldByName("Usage"), s.FieldByName("DefaultText")
		if !usage.IsValid() || !text.IsValid() || usage.Kind() != reflect.String || text.Kind() != reflect.String {
			continue
		}
		if m := defaultInUsage.FindStringSubmatchIndex(usage.String()); m != nil && text.String() == "" {
			u := usage.String()
			text.SetString(u[m[2]:m[3]])
			usage.SetString(strings.TrimSpace(u[:m[0]]))
			continue
		}
		if b, ok := f.(*cli.BoolFlag); ok && (b.DefaultText == "" || b.DefaultText == "false") && !b.Value {
			b.DisableDefaultText = true
		}
	}
	for _, c := range cmds {
		tidyHelp(c.Subcommands, c.Flags)
	}
}

// unknownCommands makes an unknown (sub)command a usage error that names it
// and suggests the commands it may have meant, instead of urfave/cli's "No
// help topic for 'x'". Without arguments a command with subcommands shows
// its help, as before.
func unknownCommands(app *cli.App) {
	app.Action = unknownCommandAction(func() []*cli.Command { return app.Commands }, "tracer")
	var walk func(parent string, cmds []*cli.Command)
	walk = func(parent string, cmds []*cli.Command) {
		for _, c := range cmds {
			if len(c.Subcommands) == 0 {
				continue
			}
			if c.Action == nil {
				c.Action = unknownCommandAction(func() []*cli.Command { return c.Subcommands }, parent+" "+c.Name)
			}
			walk(parent+" "+c.Name, c.Subcommands)
		}
	}
	walk("tracer", app.Commands)
}

func unknownCommandAction(cmds func() []*cli.Command, path string) cli.ActionFunc {
	return func(c *cli.Context) error {
		if c.NArg() == 0 {
			if c.Command == nil || c.Command.Name == "" {
				return cli.ShowAppHelp(c)
			}
			return cli.ShowSubcommandHelp(c)
		}
		name := c.Args().First()
		var names, near []string
		for _, cmd := range cmds() {
			if cmd.Hidden || cmd.Name == "help" {
				continue
			}
			names = append(names, cmd.Name)
			if strings.HasPrefix(cmd.Name, name) || strings.HasPrefix(name, cmd.Name) || editDistance(name, cmd.Name) <= typos(name) {
				near = append(near, cmd.Name)
			}
		}
		hint := ""
		if len(near) > 0 {
			hint = "; did you mean " + strings.Join(near, " or ") + "?"
		}
		return usageErrorf("unknown command %q for %s%s (commands: %s)", name, path, hint, strings.Join(names, ", "))
	}
}

// typos is how many edits from a command's name a mistyped name may be.
func typos(name string) int {
	if len(name) <= 3 {
		return 1
	}
	return max(2, len(name)/3)
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
