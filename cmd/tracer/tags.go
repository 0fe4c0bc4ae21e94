package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/network"
	"github.com/tracer-oss/tracer/tracer/lists"
)

func tagsCommand() *cli.Command {
	return &cli.Command{
		Name:  "tags",
		Usage: "load, list, show and remove attribution tags (GraphSense TagPacks and ActorPacks, tag CSVs)",
		Description: `Tags label addresses (exchange, mixer, ransomware, ...). Each file is a
pack, stored under its file name; loading a file of the same name again
replaces that pack's tags. Only BTC tags are kept; other currencies are
counted and skipped. An ActorPack gives each tag naming one of its actors
that actor's categories: a mining-pool tag of an exchange's actor counts as
an exchange for tracing, screening and clustering.

Examples:
   tracer tags load graphsense-tagpacks/packs/ofac.yaml
   tracer tags load --skip-invalid packs/*.yaml actors/graphsense.actorpack.yaml
   tracer tags load --map label=entity,category=entity_type --skip-invalid reserves.csv
   tracer tags list
   tracer tags list --category exchange --min-confidence service_data
   tracer tags show 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa
   tracer tags remove walletexplorer.yaml`,
		Subcommands: []*cli.Command{
			{
				Name:      "load",
				Usage:     "load TagPack and ActorPack YAML files, or CSV files (by the .csv extension)",
				ArgsUsage: "FILE [FILE...]",
				Description: `TagPacks are checked as GraphSense's tagpack-tool checks them: the header
has a title and a creator (top level, or nested under header:); each BTC
tag has a label, a source, a currency (or network), exactly one of address
and tx_hash, and a category, abuse and confidence from GraphSense's
taxonomies when given (a tag without confidence gets "unknown", the lowest
level). Transaction (tx_hash) tags are counted and skipped. A tag that
fails a check fails the load with its file and line (exit code 2); with
--skip-invalid it is skipped instead and the report counts the rejected
tags by reason (--json lists each with its line). All files are parsed
before any is stored.

CSV columns (header names, any order): address and label (required),
category, source, actor, confidence, abuse, currency (default BTC),
lastmod, is_cluster_definer. --map FIELD=COLUMN uses another column for a
field (e.g. --map label=entity). A CSV without a label column is refused
naming the columns it has. Without a header line the columns are
address,label,category,source[,actor,confidence].

--min-confidence LEVEL (an id such as service_data, or 0-100) drops the
tags below it at load time; the report counts them.`,
				Flags: []cli.Flag{jsonFlag,
					&cli.BoolFlag{Name: "skip-invalid", Usage: "skip tags that fail validation, reporting them, instead of failing the load"},
					&cli.StringSliceFlag{Name: "map", Usage: "CSV: take tag `FIELD=COLUMN` from another column (repeat or comma-separate)"},
					minConfidenceFlag,
					&cli.StringFlag{Name: "network", Usage: "network the addresses belong to (default: the store's, else mainnet)"}},
				Action: runTagsLoad,
			},
			{
				Name:      "show",
				Usage:     "show the tags of an address",
				ArgsUsage: "ADDR",
				Flags:     []cli.Flag{jsonFlag, minConfidenceFlag},
				Action:    runTagsShow,
			},
			{
				Name:  "list",
				Usage: "list the stored packs, or with --pack/--category their tags",
				Description: `Without filters, lists the stored tag packs and actor packs with their
counts. With --pack, --category or --min-confidence, lists the matching
tags (--category matches a tag's category, abuse kind or actor category).`,
				Flags: []cli.Flag{jsonFlag, minConfidenceFlag,
					&cli.StringFlag{Name: "pack", Usage: "only tags of pack `NAME`"},
					&cli.StringFlag{Name: "category", Usage: "only tags of `CATEGORY` (exchange, mixing_service, ransomware, ...)"},
					&cli.IntFlag{Name: "limit", Value: 100, Usage: "list at most `N` tags (0: all)"}},
				Action: runTagsList,
			},
			{
				Name:      "remove",
				Usage:     "remove stored tag or actor packs by name",
				ArgsUsage: "PACK [PACK...]",
				Flags:     []cli.Flag{jsonFlag},
				Action:    runTagsRemove,
			},
		},
	}
}

var minConfidenceFlag = &cli.StringFlag{Name: "min-confidence", Usage: "only tags of at least `LEVEL` (a GraphSense confidence id such as service_data, or 0-100)"}

// minConfidence reads --min-confidence; -1 when not given.
func minConfidence(c *cli.Context) (int, error) {
	s := c.String("min-confidence")
	if s == "" {
		return -1, nil
	}
	l, err := sanctions.ParseConfidence(s)
	if err != nil {
		return 0, badInput(fmt.Errorf("--min-confidence: %w", err))
	}
	return l, nil
}

func runTagsLoad(c *cli.Context) (err error) {
	if c.NArg() == 0 {
		return usageErrorf("tags load takes one or more tag files")
	}
	if err := checkHeld(c); err != nil {
		return err
	}
	opt, err := tagLoadOptions(c)
	if err != nil {
		return err
	}
	files, closeFiles, err := lists.OpenFiles(c.Args().Slice()...)
	if err != nil {
		return tagsError(c, opt, err)
	}
	defer closing(closeFunc(closeFiles), &err)
	parsed, err := lists.ReadTags(c.Context, opt, files...)
	if err != nil {
		return tagsError(c, opt, err)
	}
	for _, p := range parsed.Packs {
		for _, w := range p.Warnings {
			fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", w)
		}
	}
	st, err := createStore(c)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	views, err := lists.StoreTags(c.Context, st, parsed)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, views)
	}
	for _, v := range views {
		printTagLoad(c.App.Writer, v)
	}
	return nil
}

// tagLoadOptions reads the flags of tags load: --skip-invalid, --map,
// --min-confidence and the network (--network, else the store's, when a
// store exists; a failed load must not create one).
func tagLoadOptions(c *cli.Context) (lists.TagOptions, error) {
	netName := c.String("network")
	if netName == "" {
		if ro, err := store.Open(c.String("db"), store.Options{ReadOnly: true}); err == nil {
			netName = ro.State().Network
			ro.Close() //nolint:errcheck // opened read-only to read the network: Close cannot lose data
		}
	}
	var opt lists.TagOptions
	opt.SkipInvalid = c.Bool("skip-invalid")
	for _, m := range c.StringSlice("map") {
		for _, kv := range strings.Split(m, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
				return opt, usageErrorf("--map %q: want FIELD=COLUMN, e.g. label=entity", kv)
			}
			if opt.Map == nil {
				opt.Map = map[string]string{}
			}
			opt.Map[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	var err error
	if opt.MinConfidence, err = minConfidence(c); err != nil {
		return opt, err
	}
	if netName != "" {
		n, err := network.ByName(netName)
		if err != nil {
			return opt, badInput(err)
		}
		opt.Network = n.Params
	}
	return opt, nil
}

// printTagLoad writes the line of one stored pack.
func printTagLoad(w io.Writer, v lists.PackSummary) {
	if v.Kind == "actors" {
		fmt.Fprintf(w, "%s: %d actors stored (an actor pack: tags naming them get their categories)", v.Pack, v.Actors)
		if v.Replaced > 0 {
			fmt.Fprintf(w, " (replacing %d)", v.Replaced)
		}
		fmt.Fprintln(w)
		return
	}
	fmt.Fprintf(w, "%s: %d BTC tags stored", v.Pack, v.Tags)
	if v.Replaced > 0 {
		fmt.Fprintf(w, " (replacing %d)", v.Replaced)
	}
	if v.Invalid > 0 {
		fmt.Fprintf(w, ", %d rejected (%s)", v.Invalid, assetCounts(v.RejectedByKind))
	}
	if v.BelowMin > 0 {
		fmt.Fprintf(w, ", %d below --min-confidence dropped", v.BelowMin)
	}
	if v.NoAddress > 0 {
		fmt.Fprintf(w, ", %d transaction tags skipped", v.NoAddress)
	}
	if v.NoConfidence > 0 {
		fmt.Fprintf(w, ", %d without confidence (set to unknown)", v.NoConfidence)
	}
	if len(v.Skipped) > 0 {
		fmt.Fprintf(w, ", other currencies skipped: %s", assetCounts(v.Skipped))
	}
	fmt.Fprintln(w)
}

// tagsError renders an error of a tag load: a bad file exits 2, with a
// hint at --skip-invalid when one tag failed validation.
func tagsError(c *cli.Context, opt lists.TagOptions, err error) error {
	if c.Context.Err() != nil || !errors.Is(err, lists.ErrBadInput) {
		return err
	}
	var pe *tags.ParseError
	hint := ""
	if !opt.SkipInvalid && errors.As(err, &pe) && pe.Line > 0 && !errors.Is(err, tags.ErrMalformed) && !strings.Contains(err.Error(), "header") && !strings.Contains(err.Error(), "column") {
		hint = " (--skip-invalid skips such tags)"
	}
	return badInput(fmt.Errorf("%w%s; nothing stored", err, hint))
}

type packView struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"` // tags or actors
	Title    string    `json:"title,omitempty"`
	Source   string    `json:"source"`
	LoadedAt time.Time `json:"loaded_at"`
	Count    int       `json:"count"` // tags or actors
}

func runTagsList(c *cli.Context) (err error) {
	if c.NArg() > 0 {
		return usageErrorf("tags list takes no arguments (use --pack or --category)")
	}
	minConf, err := minConfidence(c)
	if err != nil {
		return err
	}
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	pack, cat := c.String("pack"), tags.NormalizeCategory(c.String("category"))
	if pack == "" && cat == "" && minConf < 0 {
		return listPacks(c, st)
	}
	views, total, err := selectTags(st, pack, cat, minConf, c.Int("limit"))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, views)
	}
	if err := writeTags(c, views, true); err != nil {
		return err
	}
	if total > len(views) {
		fmt.Fprintf(c.App.Writer, "... %d of %d tags shown (--limit 0 shows all)\n", len(views), total)
	}
	return nil
}

// selectTags returns the stored tags of pack (which must exist), of
// category cat and of confidence minConf or more (each "" or negative:
// any), at most limit of them (0: all), and how many there are.
func selectTags(st *store.Store, pack, cat string, minConf, limit int) ([]tagView, int, error) {
	if pack != "" {
		ps, err := st.Tags().Packs()
		if err != nil {
			return nil, 0, err
		}
		if !slices.ContainsFunc(ps, func(p store.TagPack) bool { return p.Name == pack }) {
			return nil, 0, badInput(fmt.Errorf("no tag pack named %q (tracer tags list shows them)", pack))
		}
	}
	views := []tagView{}
	total := 0
	err := st.Tags().Each(func(t sanctions.Tag) error {
		if pack != "" && t.Pack != pack || cat != "" && !t.HasCategory(cat) || minConf >= 0 && t.ConfidenceLevel() < minConf {
			return nil
		}
		total++
		if limit <= 0 || len(views) < limit {
			views = append(views, viewTag(t))
		}
		return nil
	})
	return views, total, err
}

// listPacks lists the tag packs and actor packs in the store.
func listPacks(c *cli.Context, st *store.Store) error {
	ps, err := st.Tags().Packs()
	if err != nil {
		return err
	}
	aps, err := st.Tags().ActorPacks()
	if err != nil {
		return err
	}
	views := []packView{}
	for _, p := range ps {
		views = append(views, packView{Name: p.Name, Kind: "tags", Title: p.Title, Source: p.Source, LoadedAt: p.LoadedAt, Count: p.Tags})
	}
	for _, p := range aps {
		views = append(views, packView{Name: p.Name, Kind: "actors", Title: p.Title, Source: p.Source, LoadedAt: p.LoadedAt, Count: p.Actors})
	}
	if c.Bool("json") {
		return printJSON(c, views)
	}
	if len(views) == 0 {
		fmt.Fprintln(c.App.Writer, "no tags loaded: run tracer tags load")
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACK\tKIND\tCOUNT\tLOADED\tTITLE")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", v.Name, v.Kind, v.Count, v.LoadedAt.Format("2006-01-02 15:04"), orDash(v.Title))
	}
	return tw.Flush()
}

func runTagsRemove(c *cli.Context) (err error) {
	if c.NArg() == 0 {
		return usageErrorf("tags remove takes one or more pack names (tracer tags list shows them)")
	}
	st, err := openStore(c, false)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	type removed struct {
		Pack    string `json:"pack"`
		Removed int    `json:"removed"`
	}
	var out []removed
	for _, name := range c.Args().Slice() {
		n, err := st.Tags().RemovePack(name)
		if err != nil {
			return err
		}
		out = append(out, removed{name, n})
	}
	if c.Bool("json") {
		return printJSON(c, out)
	}
	for _, r := range out {
		fmt.Fprintf(c.App.Writer, "%s: removed (%d tags or actors)\n", r.Pack, r.Removed)
	}
	return nil
}

type tagView struct {
	Address          string   `json:"address"`
	Label            string   `json:"label"`
	Category         string   `json:"category,omitempty"`
	Actor            string   `json:"actor,omitempty"`
	Abuse            string   `json:"abuse,omitempty"`
	Confidence       string   `json:"confidence,omitempty"`
	ActorCategories  []string `json:"actor_categories,omitempty"`
	IsClusterDefiner bool     `json:"is_cluster_definer,omitempty"`
	Source           string   `json:"source,omitempty"`
	LastMod          string   `json:"lastmod,omitempty"`
	Pack             string   `json:"pack"`
}

func viewTag(t sanctions.Tag) tagView {
	return tagView{Address: t.Address, Label: t.Label, Category: t.Category, Actor: t.Actor, Abuse: t.Abuse,
		Confidence: t.Confidence, ActorCategories: t.ActorCategories, IsClusterDefiner: t.IsClusterDefiner, Source: t.Source, LastMod: date(t.LastMod), Pack: t.Pack}
}

func runTagsShow(c *cli.Context) (err error) {
	addr, err := oneArg(c, "address")
	if err != nil {
		return err
	}
	minConf, err := minConfidence(c)
	if err != nil {
		return err
	}
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	ts, err := st.Tags().For(addr)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		// A tagged string is shown whatever it is; anything else must be
		// an address of the store's network.
		if _, _, err := st.ParseAddress(addr); err != nil {
			return badInput(err)
		}
	}
	views := []tagView{}
	for _, t := range ts {
		if minConf < 0 || t.ConfidenceLevel() >= minConf {
			views = append(views, viewTag(t))
		}
	}
	slices.SortStableFunc(views, func(a, b tagView) int { return strings.Compare(a.Pack, b.Pack) })
	if c.Bool("json") {
		return printJSON(c, views)
	}
	if len(views) == 0 {
		fmt.Fprintf(c.App.Writer, "%s  no tags\n", addr)
		return nil
	}
	return writeTags(c, views, false)
}

func writeTags(c *cli.Context, views []tagView, withAddr bool) error {
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	if withAddr {
		fmt.Fprint(tw, "ADDRESS\t")
	}
	fmt.Fprintln(tw, "LABEL\tCATEGORY\tACTOR\tACTOR CATEGORIES\tABUSE\tCONFIDENCE\tPACK\tSOURCE")
	for _, v := range views {
		if withAddr {
			fmt.Fprintf(tw, "%s\t", v.Address)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Label, orDash(v.Category), orDash(v.Actor), orDash(strings.Join(v.ActorCategories, ",")),
			orDash(v.Abuse), orDash(v.Confidence), v.Pack, orDash(v.Source))
	}
	return tw.Flush()
}
