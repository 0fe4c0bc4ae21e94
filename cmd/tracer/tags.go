package main

import (
	"errors"
	"fmt"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/network"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/tags"
)

func tagsCommand() *cli.Command {
	return &cli.Command{
		Name:  "tags",
		Usage: "load and show attribution tags (GraphSense TagPacks, tag CSVs)",
		Description: `Tags label addresses (exchange, mixer, ransomware, ...). Each file is a
pack, stored under its file name; loading a file of the same name again
replaces that pack's tags. Only BTC tags are kept; other currencies are
counted and skipped.

Examples:
   tracer tags load graphsense-tagpacks/packs/ofac.yaml
   tracer tags load --skip-invalid packs/*.yaml exchanges.csv
   tracer tags show 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa`,
		Subcommands: []*cli.Command{
			{
				Name:      "load",
				Usage:     "load TagPack YAML files, or CSV files (by the .csv extension)",
				ArgsUsage: "FILE [FILE...]",
				Description: `A BTC tag with an invalid address fails the load with its file and line
(exit code 2) unless --skip-invalid, which skips it with a warning. All
files are parsed before any is stored.`,
				Flags: []cli.Flag{jsonFlag,
					&cli.BoolFlag{Name: "skip-invalid", Usage: "skip tags with an invalid BTC address, with a warning"},
					&cli.StringFlag{Name: "network", Usage: "network the addresses belong to (default: the store's, else mainnet)"}},
				Action: runTagsLoad,
			},
			{
				Name:      "show",
				Usage:     "show the tags of an address",
				ArgsUsage: "ADDR",
				Flags:     []cli.Flag{jsonFlag},
				Action:    runTagsShow,
			},
		},
	}
}

type tagLoadView struct {
	Pack      string         `json:"pack"`
	Source    string         `json:"source"`
	Tags      int            `json:"tags"`
	Replaced  int            `json:"replaced"`
	Skipped   map[string]int `json:"skipped_currencies,omitempty"`
	Invalid   int            `json:"invalid_skipped"`
	NoAddress int            `json:"no_address"`
}

func runTagsLoad(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("tags load takes one or more tag files")
	}
	netName := c.String("network")
	if netName == "" {
		// The store's network, if a store exists; a failed load must not
		// create one.
		if ro, err := store.Open(c.String("db"), store.Options{ReadOnly: true}); err == nil {
			netName = ro.State().Network
			ro.Close()
		}
	}
	opt := tags.Options{SkipInvalid: c.Bool("skip-invalid")}
	if netName != "" {
		n, err := network.ByName(netName)
		if err != nil {
			return badInput(err)
		}
		opt.Network = n.Params
	}
	var packs []*tags.Pack
	for _, path := range c.Args().Slice() {
		p, err := parseTagFile(c, path, opt)
		if err != nil {
			var pe *tags.ParseError
			if c.Context.Err() == nil && (errors.As(err, &pe) || errors.Is(err, fs.ErrNotExist)) {
				hint := ""
				if errors.Is(err, tags.ErrBadAddress) {
					hint = " (--skip-invalid skips such tags)"
				}
				return badInput(fmt.Errorf("%w%s; nothing stored", err, hint))
			}
			return err
		}
		for _, w := range p.Warnings {
			fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", w)
		}
		packs = append(packs, p)
	}
	st, err := createStore(c)
	if err != nil {
		return err
	}
	defer st.Close()
	var views []tagLoadView
	for _, p := range packs {
		n, err := st.SaveTagPack(c.Context, p)
		if err != nil {
			return err
		}
		views = append(views, tagLoadView{Pack: packName(p.Source), Source: p.Source, Tags: len(p.Tags), Replaced: n,
			Skipped: p.Skipped, Invalid: len(p.Invalid), NoAddress: p.NoAddress})
	}
	if c.Bool("json") {
		return printJSON(c, views)
	}
	for _, v := range views {
		fmt.Fprintf(c.App.Writer, "%s: %d BTC tags stored", v.Pack, v.Tags)
		if v.Replaced > 0 {
			fmt.Fprintf(c.App.Writer, " (replacing %d)", v.Replaced)
		}
		if v.Invalid > 0 {
			fmt.Fprintf(c.App.Writer, ", %d invalid skipped", v.Invalid)
		}
		if v.NoAddress > 0 {
			fmt.Fprintf(c.App.Writer, ", %d without address skipped", v.NoAddress)
		}
		if len(v.Skipped) > 0 {
			fmt.Fprintf(c.App.Writer, ", other currencies skipped: %s", assetCounts(v.Skipped))
		}
		fmt.Fprintln(c.App.Writer)
	}
	return nil
}

// packName is the name the store keeps a pack under (store.SaveTagPack).
func packName(source string) string { return filepath.Base(source) }

func parseTagFile(c *cli.Context, path string, opt tags.Options) (*tags.Pack, error) {
	if !strings.EqualFold(filepath.Ext(path), ".csv") {
		return tags.ParsePackFile(c.Context, path, opt)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return tags.ParseCSV(c.Context, f, path, opt)
}

type tagView struct {
	Address          string `json:"address"`
	Label            string `json:"label"`
	Category         string `json:"category,omitempty"`
	Actor            string `json:"actor,omitempty"`
	Abuse            string `json:"abuse,omitempty"`
	Confidence       string `json:"confidence,omitempty"`
	IsClusterDefiner bool   `json:"is_cluster_definer,omitempty"`
	Source           string `json:"source,omitempty"`
	LastMod          string `json:"lastmod,omitempty"`
	Pack             string `json:"pack"`
}

func viewTag(t sanctions.Tag) tagView {
	return tagView{Address: t.Address, Label: t.Label, Category: t.Category, Actor: t.Actor, Abuse: t.Abuse,
		Confidence: t.Confidence, IsClusterDefiner: t.IsClusterDefiner, Source: t.Source, LastMod: date(t.LastMod), Pack: t.Pack}
}

func runTagsShow(c *cli.Context) error {
	addr, err := oneArg(c, "address")
	if err != nil {
		return err
	}
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer st.Close()
	ts, err := st.TagsFor(addr)
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
		views = append(views, viewTag(t))
	}
	slices.SortStableFunc(views, func(a, b tagView) int { return strings.Compare(a.Pack, b.Pack) })
	if c.Bool("json") {
		return printJSON(c, views)
	}
	if len(views) == 0 {
		fmt.Fprintf(c.App.Writer, "%s  no tags\n", addr)
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LABEL\tCATEGORY\tACTOR\tABUSE\tCONFIDENCE\tPACK\tSOURCE")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.Label, orDash(v.Category), orDash(v.Actor), orDash(v.Abuse),
			orDash(v.Confidence), v.Pack, orDash(v.Source))
	}
	return tw.Flush()
}
