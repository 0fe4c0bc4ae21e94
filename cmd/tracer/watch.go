package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/alert"
)

func watchCommand() *cli.Command {
	return &cli.Command{
		Name:  "watch",
		Usage: "manage the addresses tracer follow alerts on",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "watch addresses, a sanctioned entity, or the whole sanctions list",
				ArgsUsage: "ADDRESS...",
				Description: `Blocks above the store's current tip raise alerts for the new watches.
Entities are named as trace --entity names them: a case-insensitive part of a
sanctioned profile's name or alias in the list in force ("golden lotus"); the
profiles matched are printed. The same entity or address typed in another
case is the same watch, added once.

Examples:
  tracer watch add bc1q... 1BoatSLRHtKNngkdXEeobR76b53LETtpyT
  tracer watch add --entity "LAZARUS GROUP"
  tracer watch add --sanctions`,
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "entity", Usage: "sanctioned profile `NAME` (repeatable)"},
					&cli.BoolFlag{Name: "sanctions", Usage: "every XBT address of the sanctions list in force"},
				},
				Action: runWatchAdd,
			},
			{Name: "list", Usage: "show the watch list and how many addresses each stands for", Flags: []cli.Flag{jsonFlag}, Action: runWatchList},
			{
				Name:      "rm",
				Usage:     "stop watching",
				ArgsUsage: "ADDRESS...",
				Flags: []cli.Flag{
					&cli.StringSliceFlag{Name: "entity", Usage: "sanctioned profile `NAME` (repeatable)"},
					&cli.BoolFlag{Name: "sanctions", Usage: "the sanctions-list watch"},
				},
				Action: runWatchRm,
			},
		},
	}
}

func watchesFromArgs(c *cli.Context) []store.Watch {
	var ws []store.Watch
	for _, a := range c.Args().Slice() {
		ws = append(ws, store.Watch{Kind: store.WatchAddress, Value: a})
	}
	for _, e := range c.StringSlice("entity") {
		ws = append(ws, store.Watch{Kind: store.WatchEntity, Value: e})
	}
	if c.Bool("sanctions") {
		ws = append(ws, store.Watch{Kind: store.WatchSanctions})
	}
	return ws
}

func runWatchAdd(c *cli.Context) (err error) {
	ws := watchesFromArgs(c)
	if len(ws) == 0 {
		return usageErrorf("watch add needs addresses, --entity NAME or --sanctions")
	}
	st, params, err := openChainFor(c, false)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	for _, w := range ws {
		if w.Kind == store.WatchAddress {
			// One watch per address, whatever case or form it was typed in.
			a, _, err := st.ParseAddress(w.Value)
			if err != nil {
				return badInput(err)
			}
			w.Value = a.String(params)
		}
		addrs, err := alert.Resolve(st, params, w)
		if err != nil {
			return badInput(err)
		}
		w.Added = time.Now().UTC()
		w.FromHeight = st.State().Height
		added, err := st.WatchList().Add(w)
		if err != nil {
			return err
		}
		what := describeWatch(w)
		if !added {
			fmt.Fprintf(c.App.Writer, "already watched: %s\n", what)
			continue
		}
		if w.Kind == store.WatchEntity {
			what += " (" + strings.Join(profileNames(addrs), ", ") + ")"
		}
		fmt.Fprintf(c.App.Writer, "watching %s (%d addresses) for blocks after %d\n", what, len(addrs), w.FromHeight)
	}
	return nil
}

// profileNames are the sanctioned profiles an entity watch resolved to.
func profileNames(addrs map[string]string) []string {
	var names []string
	for _, reason := range addrs {
		if n, ok := strings.CutPrefix(reason, "entity:"); ok && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func describeWatch(w store.Watch) string {
	switch w.Kind {
	case store.WatchSanctions:
		return "the sanctions list"
	case store.WatchEntity:
		return fmt.Sprintf("entity %q", w.Value)
	}
	return w.Value
}

type watchView struct {
	store.Watch
	Addresses int    `json:"addresses"`
	Problem   string `json:"problem,omitempty"`
}

func runWatchList(c *cli.Context) (err error) {
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	ws, err := st.WatchList().All()
	if err != nil {
		return err
	}
	params, perr := storeParams(st)
	var views []watchView
	for _, w := range ws {
		v := watchView{Watch: w}
		if perr == nil {
			addrs, err := alert.Resolve(st, params, w)
			if err != nil {
				v.Problem = err.Error()
			}
			v.Addresses = len(addrs)
		}
		views = append(views, v)
	}
	if c.Bool("json") {
		return printJSON(c, views)
	}
	if len(views) == 0 {
		fmt.Fprintln(c.App.Writer, "no watches (tracer watch add)")
	}
	for _, v := range views {
		fmt.Fprintf(c.App.Writer, "%-9s %-44s %5d addresses  since block %d, added %s  %s\n", v.Kind, v.Value, v.Addresses,
			v.FromHeight, v.Added.Format(time.DateOnly), v.Problem)
	}
	return nil
}

func runWatchRm(c *cli.Context) (err error) {
	ws := watchesFromArgs(c)
	if len(ws) == 0 {
		return usageErrorf("watch rm needs addresses, --entity NAME or --sanctions")
	}
	st, err := openStore(c, false)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	for _, w := range ws {
		if w.Kind == store.WatchAddress {
			if a, params, err := st.ParseAddress(w.Value); err == nil {
				w.Value = a.String(params)
			}
		}
		found, err := st.WatchList().Remove(w.Kind, w.Value)
		if err != nil {
			return err
		}
		if !found {
			return usageErrorf("not watched: %s", describeWatch(w))
		}
		fmt.Fprintf(c.App.Writer, "removed %s\n", describeWatch(w))
	}
	return nil
}
