package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tracer-oss/tracer/sanctions/address"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/lists"
)

// OFAC's published locations of the advanced SDN list, tried in order.
var ofacURLs = []string{
	"https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/SDN_ADVANCED.XML",
	"https://www.treasury.gov/ofac/downloads/sanctions/1.0/sdn_advanced.xml",
}

const dateLayout = "2006-01-02"

func sanctionsCommand() *cli.Command {
	return &cli.Command{
		Name:  "sanctions",
		Usage: "load, update, diff and query OFAC sanctions lists (digital-currency addresses)",
		Description: `Every load stores a new version of the list in the store (--db); the
newest loaded version is current (or the one chosen with use), and checks
run against it. A load that would empty the list or shrink it by more than
20% is refused unless --force. A load
that fails leaves the previous version current. Lists may be loaded
before any block is ingested.

Examples:
   tracer sanctions load sdn_advanced.xml
   tracer sanctions load sdn.csv sdn_comments.csv
   tracer sanctions update
   tracer sanctions check 35irs2AU6pVgenYbWvMRz22avDBLC9XMkd
   tracer sanctions diff            (previous version vs current)
   tracer sanctions list --entity "Chen Zhi" --asset XBT`,
		Subcommands: []*cli.Command{
			{
				Name:      "load",
				Usage:     "parse OFAC list files and store them as a new version",
				ArgsUsage: "FILE [FILE...]",
				Description: `Reads sdn_advanced.xml, SDN.XML or sdn.csv (with sdn_comments.csv, where
OFAC moved the digital-currency addresses of long entries), plain or in
.zip, .gz or .bz2. Warnings go to stderr. A malformed file exits with
code 2, names the file and line, and stores nothing.

A list with no entries, or with more than 20% fewer distinct addresses
than the list in force (a truncated or wrong file: OFAC removes addresses
rarely and few at a time), is refused with exit code 2 unless --force.
An sdn.csv without OFAC's final 0x1A byte gets a truncation warning.

Examples:
   tracer sanctions load sdn_advanced_2025-11-19.xml.bz2
   tracer sanctions load sdn.csv sdn_comments.csv`,
				Flags:  []cli.Flag{jsonFlag, forceListFlag},
				Action: runSanctionsLoad,
			},
			{
				Name:      "use",
				Usage:     "make a stored version the current list again (e.g. after a bad update)",
				ArgsUsage: "VERSION",
				Description: `Makes version N (see tracer sanctions versions) the list in force; checks,
traces and screens use it from then on (the exposure index is rebuilt on
the next screen). A later load still gets a new, higher version number.

Example:
   tracer sanctions use 3`,
				Flags:  []cli.Flag{jsonFlag},
				Action: runSanctionsUse,
			},
			{
				Name:  "update",
				Usage: "download the current list from OFAC and store it as a new version",
				Description: `Downloads sdn_advanced.xml from OFAC (the sanctions list service, then
treasury.gov) to a temporary file, parses and stores it. A URL that
fails, or serves a file that does not parse, is skipped for the next.

Examples:
   tracer sanctions update
   tracer sanctions update --url https://mirror.example/sdn_advanced.xml.bz2`,
				Flags: []cli.Flag{jsonFlag, forceListFlag,
					&cli.StringSliceFlag{Name: "url", Usage: "download from `URL` instead of OFAC (repeat to try several in order)"},
					&cli.DurationFlag{Name: "timeout", Value: 5 * time.Minute, Usage: "give up a download after this long"},
					&cli.Int64Flag{Name: "max-mb", Value: 1024, Usage: "refuse a download larger than this many MB"}},
				Action: runSanctionsUpdate,
			},
			{
				Name:      "diff",
				Usage:     "show the entries added and removed between two versions",
				ArgsUsage: "[OLD NEW]",
				Description: `Without arguments, compares the version before the current one with the
current one. Entries are compared by (asset, address, profile).

Examples:
   tracer sanctions diff
   tracer sanctions diff --asset XBT
   tracer sanctions diff 1 3 --json`,
				Flags: []cli.Flag{jsonFlag,
					&cli.StringFlag{Name: "asset", Usage: "only entries of asset `CODE` (XBT, ETH, ...)"}},
				Action: runSanctionsDiff,
			},
			{
				Name:  "list",
				Usage: "list the entries of a version, filtered",
				Description: `Examples:
   tracer sanctions list --asset XBT --program TCO
   tracer sanctions list --entity lazarus --since 2022-01-01 --json`,
				Flags: []cli.Flag{jsonFlag,
					&cli.StringFlag{Name: "entity", Usage: "name or alias contains `TEXT` (case-insensitive)"},
					&cli.StringFlag{Name: "program", Usage: "sanctions `PROGRAM` (CYBER2, TCO, ...)"},
					&cli.StringFlag{Name: "asset", Usage: "asset `CODE` (XBT, ETH, ...)"},
					&cli.StringFlag{Name: "since", Usage: "designated on or after `YYYY-MM-DD`"},
					&cli.StringFlag{Name: "until", Usage: "designated on or before `YYYY-MM-DD`"},
					&cli.UintFlag{Name: "version", Usage: "list `N` (default: current)"}},
				Action: runSanctionsList,
			},
			{
				Name:      "check",
				Usage:     "check addresses against the current list (direct hits only)",
				ArgsUsage: "ADDR [ADDR...]",
				Description: `Prints each hit's entity, profile, programs and designation date, or
"not listed". Exits 0 either way.

Examples:
   tracer sanctions check 35irs2AU6pVgenYbWvMRz22avDBLC9XMkd
   tracer sanctions check --json ADDR1 ADDR2`,
				Flags: []cli.Flag{jsonFlag,
					&cli.StringFlag{Name: "asset", Usage: "only entries of asset `CODE` (default: every asset)"}},
				Action: runSanctionsCheck,
			},
			{
				Name:   "versions",
				Usage:  "list the stored versions",
				Flags:  []cli.Flag{jsonFlag},
				Action: runSanctionsVersions,
			},
		},
	}
}

// entryView is the JSON form of a sanctions entry.
type entryView struct {
	Asset      string   `json:"asset"`
	Address    string   `json:"address"`
	ProfileID  int64    `json:"profile_id"`
	Name       string   `json:"name"`
	Aliases    []string `json:"aliases,omitempty"`
	EntityType string   `json:"entity_type,omitempty"`
	Programs   []string `json:"programs"`
	Designated string   `json:"designated,omitempty"`
}

func viewEntry(e sanctions.Entry) entryView {
	return entryView{Asset: e.Asset, Address: e.Address, ProfileID: e.ProfileID, Name: e.PrimaryName, Aliases: e.Aliases,
		EntityType: e.EntityType, Programs: e.Programs, Designated: date(e.Designated)}
}

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateLayout)
}

var forceListFlag = &cli.BoolFlag{Name: "force", Usage: "store a list even if it is empty or shrinks by more than 20%"}

func runSanctionsUse(c *cli.Context) (err error) {
	arg, err := oneArg(c, "version")
	if err != nil {
		return err
	}
	n, err := strconv.ParseUint(arg, 10, 32)
	if err != nil || n == 0 {
		return usageErrorf("sanctions use: %q is not a version number (tracer sanctions versions lists them)", arg)
	}
	st, err := openStore(c, false)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	if err := st.Lists().Use(uint32(n)); err != nil {
		return err
	}
	h, err := st.Lists().Version(uint32(n))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, h)
	}
	fmt.Fprintf(c.App.Writer, "sanctions list version %d is current: %s (%s), issued %s, %d entries, loaded %s\n", h.Version, h.Source, h.Format,
		orDash(date(h.DateOfIssue)), h.Entries, h.LoadedAt.Format("2006-01-02 15:04"))
	return nil
}

func runSanctionsLoad(c *cli.Context) (err error) {
	if c.NArg() == 0 {
		return usageErrorf("sanctions load takes one or more list files")
	}
	if err := checkHeld(c); err != nil {
		return err
	}
	files, closeFiles, err := lists.OpenFiles(c.Args().Slice()...)
	if err != nil {
		return listError(c, err)
	}
	defer closing(closeFunc(closeFiles), &err)
	l, err := readList(c, files...)
	if err != nil {
		return listError(c, err)
	}
	return storeList(c, l)
}

// megabytes formats a size for a progress line.
func megabytes(n int64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.0f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// errListInterrupted is a load or update stopped by Ctrl-C: nothing was
// stored (the list is saved in one transaction).
var errListInterrupted = errors.New("sanctions: interrupted; the current list is unchanged")

// listOptions are the options of a list load, with a progress line while
// the files are read (the real list takes seconds).
func listOptions(c *cli.Context) (lists.SanctionsOptions, *progress) {
	prog := newProgress(c.App.ErrWriter)
	start := time.Now()
	return lists.SanctionsOptions{
		Force: c.Bool("force"),
		Progress: func(read, total int64) {
			if read%(1<<20) > 64<<10 && read != total {
				return // about once a megabyte
			}
			pct := ""
			if total > 0 {
				pct = fmt.Sprintf(" (%.0f%%)", 100*float64(read)/float64(total))
			}
			prog.line(fmt.Sprintf("sanctions: read %s of %s%s in %s", megabytes(read), megabytes(total), pct, time.Since(start).Round(time.Second)))
		},
		Storing: func(n int) { fmt.Fprintf(c.App.ErrWriter, "sanctions: storing %d entries\n", n) },
	}, prog
}

// readList parses a list from files, with a progress line.
func readList(c *cli.Context, files ...lists.File) (*sanctions.List, error) {
	opt, prog := listOptions(c)
	l, err := lists.ReadSanctions(c.Context, opt, files...)
	prog.finish()
	if c.Context.Err() != nil {
		return nil, errListInterrupted
	}
	return l, err
}

// storeList stores l as a new version and reports it, its warnings first.
// A list that does not parse never gets here: it creates no store.
func storeList(c *cli.Context, l *sanctions.List) (err error) {
	opt, _ := listOptions(c)
	st, err := createStore(c)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	sum, err := lists.StoreSanctions(c.Context, st, l, opt)
	if sum != nil {
		max := len(sum.Warnings)
		if !c.Bool("verbose") && max > 20 {
			max = 20
		}
		for _, w := range sum.Warnings[:max] {
			fmt.Fprintf(c.App.ErrWriter, "warning: %s\n", w)
		}
		if n := len(sum.Warnings) - max; n > 0 {
			fmt.Fprintf(c.App.ErrWriter, "warning: ... and %d more (--verbose shows all)\n", n)
		}
		if sum.Forced != "" && err == nil {
			fmt.Fprintf(c.App.ErrWriter, "warning: %s: %s; stored anyway (--force)\n", l.Source, sum.Forced)
		}
	}
	if err != nil {
		return listError(c, err)
	}
	h := sum.Version
	if c.Bool("json") {
		return printJSON(c, h)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "stored sanctions list version %d (current)\n", h.Version)
	fmt.Fprintf(w, "source     %s (%s)\n", h.Source, h.Format)
	fmt.Fprintf(w, "issued     %s\n", orDash(date(h.DateOfIssue)))
	fmt.Fprintf(w, "entries    %d", h.Entries)
	if len(h.Assets) > 0 {
		fmt.Fprintf(w, " (%s)", assetCounts(h.Assets))
	}
	fmt.Fprintln(w)
	if len(h.Warnings) > 0 {
		fmt.Fprintf(w, "warnings   %d\n", len(h.Warnings))
	}
	return nil
}

// listError renders an error of a list load: Ctrl-C says the list in force
// is unchanged, bad input (a malformed or missing file, a refused list)
// exits 2.
func listError(c *cli.Context, err error) error {
	switch {
	case c.Context.Err() != nil:
		return errListInterrupted
	case errors.Is(err, sanctions.ErrEmptyList), errors.Is(err, sanctions.ErrShrunk):
		return badInput(fmt.Errorf("%w (--force stores it anyway)", err))
	case errors.Is(err, lists.ErrBadInput):
		return badInput(err)
	}
	return err
}

func assetCounts(m map[string]int) string {
	assets := make([]string, 0, len(m))
	for a := range m {
		assets = append(assets, a)
	}
	slices.Sort(assets)
	parts := make([]string, len(assets))
	for i, a := range assets {
		parts[i] = fmt.Sprintf("%s %d", a, m[a])
	}
	return strings.Join(parts, ", ")
}

func runSanctionsUpdate(c *cli.Context) error {
	if c.NArg() != 0 {
		return usageErrorf("sanctions update takes no arguments (use --url)")
	}
	urls := c.StringSlice("url")
	if len(urls) == 0 {
		urls = ofacURLs
	}
	limit := c.Int64("max-mb") << 20
	if limit <= 0 {
		return usageErrorf("--max-mb must be positive")
	}
	if err := checkHeld(c); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "tracer-ofac-")
	if err != nil {
		return err
	}
	defer func() {
		if err := os.RemoveAll(tmp); err != nil {
			fmt.Fprintf(c.App.ErrWriter, "warning: could not remove the download folder %s: %v\n", tmp, err)
		}
	}()
	var errs []error
	for _, u := range urls {
		file, err := ofac.Download(c.Context, u, tmp, limit, c.Duration("timeout"))
		err = badInputIf(err, ofac.ErrURL)
		if c.Context.Err() != nil {
			return errListInterrupted
		}
		if err != nil {
			errs = append(errs, err)
			fmt.Fprintf(c.App.ErrWriter, "warning: %v\n", err)
			continue
		}
		l, err := readDownload(c, file)
		if errors.Is(err, errListInterrupted) {
			return err
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", u, err)
			errs = append(errs, err)
			fmt.Fprintf(c.App.ErrWriter, "warning: %v\n", err)
			continue
		}
		l.Source = u
		return storeList(c, l)
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	return fmt.Errorf("sanctions update: no URL gave a list (the current list is unchanged): %w", errors.Join(errs...))
}

// readDownload parses a downloaded list file.
func readDownload(c *cli.Context, path string) (l *sanctions.List, err error) {
	files, closeFiles, err := lists.OpenFiles(path)
	if err != nil {
		return nil, err
	}
	defer closing(closeFunc(closeFiles), &err)
	return readList(c, files...)
}

type diffView struct {
	Old     store.ListVersion `json:"old"`
	New     store.ListVersion `json:"new"`
	Added   []entryView       `json:"added"`
	Removed []entryView       `json:"removed"`
}

func runSanctionsDiff(c *cli.Context) (err error) {
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	oldV, newV, err := diffArgs(c)
	if err != nil {
		return err
	}
	d, err := st.Lists().Diff(oldV, newV, sanctions.Filter{Asset: c.String("asset")})
	switch {
	case errors.Is(err, store.ErrNoList):
		return usageErrorf("no sanctions list loaded: run tracer sanctions load or update")
	case errors.Is(err, store.ErrNoPrevious):
		return usageErrorf("no version before the current one: nothing to diff (load another list, or name two versions)")
	case err != nil:
		return err
	}
	oh, nh, added, removed := d.Old, d.New, d.Added, d.Removed
	v := diffView{Old: oh, New: nh, Added: []entryView{}, Removed: []entryView{}}
	for _, e := range added {
		v.Added = append(v.Added, viewEntry(e))
	}
	for _, e := range removed {
		v.Removed = append(v.Removed, viewEntry(e))
	}
	if c.Bool("json") {
		return printJSON(c, v)
	}
	return printDiff(c.App.Writer, v)
}

// diffArgs are the two versions sanctions diff compares: OLD NEW, or none
// (0, 0: the current list and the one before).
func diffArgs(c *cli.Context) (oldV, newV uint32, err error) {
	switch c.NArg() {
	case 0:
		return 0, 0, nil
	case 2:
	default:
		return 0, 0, usageErrorf("sanctions diff takes no arguments or two versions (OLD NEW)")
	}
	for i, p := range []*uint32{&oldV, &newV} {
		var v uint32
		if _, err := fmt.Sscan(c.Args().Get(i), &v); err != nil || v == 0 {
			return 0, 0, usageErrorf("bad version %q: want a number from tracer sanctions versions", c.Args().Get(i))
		}
		*p = v
	}
	return oldV, newV, nil
}

func printDiff(w io.Writer, v diffView) error {
	oh, nh := v.Old, v.New
	fmt.Fprintf(w, "version %d (issued %s) → version %d (issued %s): %d added, %d removed\n",
		oh.Version, orDash(date(oh.DateOfIssue)), nh.Version, orDash(date(nh.DateOfIssue)), len(v.Added), len(v.Removed))
	if len(v.Added)+len(v.Removed) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tASSET\tADDRESS\tPROFILE\tNAME\tPROGRAMS\tDESIGNATED")
	for _, g := range []struct {
		sign string
		es   []entryView
	}{{"+", v.Added}, {"-", v.Removed}} {
		for _, e := range g.es {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", g.sign, e.Asset, e.Address, e.ProfileID, e.Name,
				strings.Join(e.Programs, ","), orDash(e.Designated))
		}
	}
	return tw.Flush()
}

func parseDay(c *cli.Context, flag string) (time.Time, error) {
	s := strings.TrimSpace(c.String(flag))
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, usageErrorf("bad --%s %q: want YYYY-MM-DD", flag, s)
	}
	return t, nil
}

func runSanctionsList(c *cli.Context) (err error) {
	if c.NArg() != 0 {
		return usageErrorf("sanctions list takes no arguments (use --entity, --program, --asset, --since, --until)")
	}
	since, err := parseDay(c, "since")
	if err != nil {
		return err
	}
	until, err := parseDay(c, "until")
	if err != nil {
		return err
	}
	f := sanctions.Filter{Entity: c.String("entity"), Program: c.String("program"), Asset: c.String("asset"),
		DesignatedFrom: since, DesignatedTo: until}
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	l, err := st.Lists().List(uint32(c.Uint("version")))
	if err != nil {
		return err
	}
	views := []entryView{}
	for _, e := range l.Filter(f) {
		views = append(views, viewEntry(e))
	}
	if c.Bool("json") {
		return printJSON(c, views)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ASSET\tADDRESS\tPROFILE\tNAME\tPROGRAMS\tDESIGNATED")
	for _, e := range views {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", e.Asset, e.Address, e.ProfileID, e.Name, strings.Join(e.Programs, ","), orDash(e.Designated))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%d of %d entries (list issued %s)\n", len(views), len(l.Entries), orDash(date(l.DateOfIssue)))
	return nil
}

type checkView struct {
	Address     string      `json:"address"`
	Listed      bool        `json:"listed"`
	Hits        []entryView `json:"hits"`
	ListVersion uint32      `json:"list_version"`
	ListDate    string      `json:"list_date,omitempty"`
}

func runSanctionsCheck(c *cli.Context) (err error) {
	if c.NArg() == 0 {
		return usageErrorf("sanctions check takes one or more addresses")
	}
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	h, err := st.Lists().Version(0)
	if err != nil {
		return err
	}
	var views []checkView
	for _, a := range c.Args().Slice() {
		v, err := checkAddress(st, c.String("asset"), strings.TrimSpace(a), h)
		if err != nil {
			return err
		}
		views = append(views, v)
	}
	if c.Bool("json") {
		return printJSON(c, views)
	}
	printChecks(c.App.Writer, views, h)
	return nil
}

// checkAddress looks a up in the current list (h). An address the list
// does not name must be a Bitcoin address of the store's network when the
// asset is XBT or any.
func checkAddress(st *store.Store, asset, a string, h store.ListVersion) (checkView, error) {
	hits, err := st.Lists().Hits(asset, a)
	if err != nil {
		return checkView{}, err
	}
	if len(hits) == 0 && (asset == "" || strings.EqualFold(asset, "XBT")) {
		// Listed is listed, whatever the string; anything else must
		// be a Bitcoin address of the store's network.
		if _, _, err := st.ParseAddress(a); err != nil {
			if ne := (*address.NetworkError)(nil); a != "" && !errors.As(err, &ne) {
				err = fmt.Errorf("%w (for another asset's address give --asset ETH, ...)", err)
			}
			return checkView{}, badInput(err)
		}
	}
	v := checkView{Address: a, Listed: len(hits) > 0, Hits: []entryView{}, ListVersion: h.Version, ListDate: date(h.DateOfIssue)}
	for _, e := range hits {
		v.Hits = append(v.Hits, viewEntry(e))
	}
	return v, nil
}

func printChecks(w io.Writer, views []checkView, h store.ListVersion) {
	for _, v := range views {
		if !v.Listed {
			fmt.Fprintf(w, "%s  not listed\n", v.Address)
			continue
		}
		for _, e := range v.Hits {
			fmt.Fprintf(w, "%s  LISTED  %s %s, %s (profile %d), programs %s, designated %s\n", v.Address, e.Asset, e.Name,
				orDash(e.EntityType), e.ProfileID, strings.Join(e.Programs, ","), orDash(e.Designated))
		}
	}
	fmt.Fprintf(w, "checked against sanctions list version %d, issued %s\n", h.Version, orDash(date(h.DateOfIssue)))
}

func runSanctionsVersions(c *cli.Context) (err error) {
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	vs, err := st.Lists().Versions()
	if err != nil {
		return err
	}
	if vs == nil {
		vs = []store.ListVersion{}
	}
	if c.Bool("json") {
		return printJSON(c, vs)
	}
	if len(vs) == 0 {
		fmt.Fprintln(c.App.Writer, "no sanctions list loaded: run tracer sanctions load or update")
		return nil
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tISSUED\tLOADED\tENTRIES\tFORMAT\tSOURCE")
	for _, v := range vs {
		cur := ""
		if v.Current {
			cur = " *"
		}
		fmt.Fprintf(tw, "%d%s\t%s\t%s\t%d\t%s\t%s\n", v.Version, cur, orDash(date(v.DateOfIssue)),
			v.LoadedAt.Format("2006-01-02 15:04"), v.Entries, v.Format, v.Source)
	}
	return tw.Flush()
}
