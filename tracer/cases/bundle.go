package cases

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/graphview"
	"github.com/tracer-oss/tracer/tracer/report"
	"github.com/tracer-oss/tracer/tracer/spec"
)

// DataVersions name the data a trace was computed on, precisely enough
// to tell whether a later run on the store can match it.
type DataVersions struct {
	Network   string `json:"network"`
	TipHeight int32  `json:"tip_height"`
	TipHash   string `json:"tip_hash"`
	// SanctionsList describes the list in force; ListVersion is its
	// version in the store and ListSHA256 the SHA-256 of its stored record
	// (source, date of issue, entry counts).
	SanctionsList string        `json:"sanctions_list,omitempty"`
	ListVersion   uint32        `json:"list_version,omitempty"`
	ListSHA256    string        `json:"list_sha256,omitempty"`
	TagPacks      []PackVersion `json:"tag_packs,omitempty"`
	// Clusters describes the address clusters whose labels the trace used
	// ("" without clusters).
	Clusters string `json:"clusters,omitempty"`
}

// PackVersion is one tag pack in force.
type PackVersion struct {
	Name   string `json:"name"`
	Gen    uint32 `json:"generation"`
	Tags   int    `json:"tags"`
	SHA256 string `json:"sha256"` // of its stored header (source, load time, counts, generation)
}

// Bundle files.
const (
	manifestName = "MANIFEST.sha256"
	paramsName   = "params.json"
	resultName   = "result.json"
	versionsName = "data-versions.json"
)

// Bundle writes case id's evidence bundle, a zip: the interactive report
// (report.html), hits.csv, the graph (graph.json), the full result
// (result.json), the notes, the parameters, the case and its log, the data
// versions, the command that reproduces the trace, and MANIFEST.sha256
// (sha256sum format) of every other file.
func (s *Service) Bundle(ctx context.Context, id uint64, w io.Writer) error {
	c, err := s.Get(id)
	if err != nil {
		return err
	}
	r, err := s.Result(id)
	if err != nil {
		return err
	}
	g, err := s.Graph(ctx, id)
	if err != nil {
		return err
	}
	if err := s.annotate(g); err != nil {
		return err
	}
	log, err := s.st.Log(id)
	if err != nil {
		return err
	}
	files, err := s.bundleFiles(c, r, g, log)
	if err != nil {
		return err
	}
	return writeBundle(w, files, s.now().UTC())
}

// bundleFile is one member of an evidence bundle.
type bundleFile struct {
	name string
	data []byte
}

// bundleFiles renders the bundle's members, the manifest of the others
// last.
func (s *Service) bundleFiles(c *Case, r *tracer.Result, g *graphview.Graph, log []store.CaseEvent) ([]bundleFile, error) {
	var files []bundleFile
	add := func(name string, data []byte) { files = append(files, bundleFile{name, data}) }
	var html, csv bytes.Buffer
	rd := report.Renderer{Now: s.now, Graph: g}
	if err := rd.HTML(&html, r); err != nil {
		return nil, err
	}
	if err := rd.CSV(&csv, r); err != nil {
		return nil, err
	}
	add("report.html", html.Bytes())
	add("hits.csv", csv.Bytes())
	notes := c.Notes
	if notes == nil {
		notes = map[string]Note{}
	}
	for _, x := range []struct {
		name string
		v    any
	}{
		{"graph.json", g}, {resultName, r}, {"notes.json", notes},
		{paramsName, bundleParams{Case: c.ID, Seeds: c.Seeds, Params: c.Params}},
		{"case.json", c}, {"log.json", log}, {versionsName, c.Versions}, // the versions of the run that computed the result
	} {
		b, err := json.MarshalIndent(x.v, "", "  ")
		if err != nil {
			return nil, err
		}
		add(x.name, append(b, '\n'))
	}
	add("command.txt", []byte(Command(c.Seeds, c.Params)+"\n\n# check this bundle against the store:\n# tracer --db STORE case verify case.zip\n"))
	var man strings.Builder
	for _, f := range files {
		sum := sha256.Sum256(f.data)
		fmt.Fprintf(&man, "%s  %s\n", hex.EncodeToString(sum[:]), f.name)
	}
	add(manifestName, []byte(man.String()))
	return files, nil
}

// writeBundle zips files, each stamped mod.
func writeBundle(w io.Writer, files []bundleFile, mod time.Time) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: mod})
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	return zw.Close()
}

type manifestEntry struct{ sum, name string }

// parseManifest reads MANIFEST.sha256: lines of 64 hex digits, two spaces
// and a file name (sha256sum's format), each name once.
func parseManifest(b []byte) ([]manifestEntry, error) {
	var out []manifestEntry
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if _, err := hex.DecodeString(sum); !ok || err != nil || len(sum) != 64 || name == "" {
			return nil, fmt.Errorf("%w: %s line %d: want \"SHA256  NAME\"", ErrBadInput, manifestName, n)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: %s line %d: %s listed twice", ErrBadInput, manifestName, n, name)
		}
		seen[name] = true
		out = append(out, manifestEntry{strings.ToLower(sum), name})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadInput, manifestName, err)
	}
	return out, nil
}

type bundleParams struct {
	Case   uint64   `json:"case"`
	Seeds  []string `json:"seeds"`
	Params Params   `json:"params"`
}

// Command is the tracer trace command line that reproduces a case's trace:
// every setting of p as its flag (spec.Keys).
func Command(seeds []string, p Params) string {
	args := []string{"tracer", "--db", "STORE", "trace", "--direction", p.Direction, "--model", p.Model,
		"--max-hops", strconv.Itoa(p.MaxHops), "--min-value", strconv.FormatInt(p.MinValue, 10),
		"--max-txs", strconv.Itoa(p.MaxTxs), "--wide", strconv.Itoa(p.WideOutputs)}
	if p.FeesTainted {
		args = append(args, "--fees-tainted")
	}
	if b := orHeight(p.SinceDate, p.SinceHeight); b != "" {
		args = append(args, "--since", b)
	}
	if b := orHeight(p.UntilDate, p.UntilHeight); b != "" {
		args = append(args, "--until", b)
	}
	if len(p.Stop) == 0 {
		args = append(args, "--stop", "none")
	}
	for _, c := range p.Stop {
		args = append(args, "--stop", c)
	}
	switch p.Clusters {
	case spec.ClustersOn:
		args = append(args, "--cluster")
	case spec.ClustersOff:
		args = append(args, "--cluster=false")
	}
	if p.LabelAllTags {
		args = append(args, "--label-all-tags")
	}
	args = append(args, "--format", "json")
	return strings.Join(append(args, seeds...), " ")
}

func orHeight(date string, h int32) string {
	if date != "" {
		return date
	}
	if h > 0 {
		return strconv.Itoa(int(h))
	}
	return ""
}

// Verification is what Verify found.
type Verification struct {
	// Intact: every file is listed in the manifest with its hash, and no
	// listed file is missing.
	Intact   bool     `json:"intact"`
	Tampered []string `json:"tampered,omitempty"` // files whose hash differs
	Missing  []string `json:"missing,omitempty"`  // listed but absent
	Unlisted []string `json:"unlisted,omitempty"` // present but not listed
	// Matches: the trace run again on the store gives the bundle's result.
	Matches     bool     `json:"matches"`
	Differences []string `json:"differences,omitempty"`
}

// OK is true when the bundle is intact and the trace still matches.
func (v *Verification) OK() bool { return v.Intact && v.Matches }

// Verify checks a bundle: each file against MANIFEST.sha256, then the
// trace run again with the bundle's parameters against the store's data,
// compared with the bundle's result and data versions.
func (s *Service) Verify(ctx context.Context, zr *zip.Reader) (*Verification, error) {
	v := &Verification{}
	files, err := unzipAll(zr)
	if err != nil {
		return nil, err
	}
	if err := v.checkManifest(files); err != nil {
		return nil, err
	}

	var bp bundleParams
	var old tracer.Result
	var oldDV DataVersions
	for name, dst := range map[string]any{paramsName: &bp, resultName: &old, versionsName: &oldDV} {
		b, ok := files[name]
		if !ok {
			return v, fmt.Errorf("%w: the bundle has no %s", ErrBadInput, name)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			return v, fmt.Errorf("%w: bundle %s: %v", ErrBadInput, name, err)
		}
	}
	if bp.Params, err = withDefaults(bp.Params); err != nil {
		return v, err
	}
	now, err := s.run(ctx, bp.Seeds, bp.Params)
	if err != nil && !errors.Is(err, tracer.ErrNoSeeds) {
		return v, err
	}
	if now == nil {
		v.Differences = append(v.Differences, "no seed receives anything in the store's blocks now")
		return v, nil
	}
	dv, err := s.versions(now)
	if err != nil {
		return v, err
	}
	v.Differences = append(v.Differences, diffVersions(oldDV, dv)...)
	v.Differences = append(v.Differences, diffResults(&old, now)...)
	v.Matches = len(v.Differences) == 0
	return v, nil
}

// unzipAll reads every member of a bundle (each at most 1 GiB), by name.
func unzipAll(zr *zip.Reader) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%w: bundle file %s: %v", ErrBadInput, f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, 1<<30))
		rc.Close() //nolint:errcheck // a zip member opened for reading: Close cannot lose data
		if err != nil {
			return nil, fmt.Errorf("%w: bundle file %s: %v", ErrBadInput, f.Name, err)
		}
		files[f.Name] = b
	}
	return files, nil
}

// checkManifest compares the bundle's files with MANIFEST.sha256: it lists
// the files missing, changed or not in the manifest, and sets Intact.
func (v *Verification) checkManifest(files map[string][]byte) error {
	man, ok := files[manifestName]
	if !ok {
		return fmt.Errorf("%w: the bundle has no %s", ErrBadInput, manifestName)
	}
	sums, err := parseManifest(man)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, e := range sums {
		listed[e.name] = true
		b, ok := files[e.name]
		if !ok {
			v.Missing = append(v.Missing, e.name)
			continue
		}
		got := sha256.Sum256(b)
		if hex.EncodeToString(got[:]) != e.sum {
			v.Tampered = append(v.Tampered, e.name)
		}
	}
	for name := range files {
		if name != manifestName && !listed[name] {
			v.Unlisted = append(v.Unlisted, name)
		}
	}
	sort.Strings(v.Unlisted)
	v.Intact = len(v.Tampered)+len(v.Missing)+len(v.Unlisted) == 0
	return nil
}

func diffVersions(a, b DataVersions) []string {
	var d []string
	if a.TipHash != b.TipHash {
		d = append(d, fmt.Sprintf("chain tip: bundle %d %s, store now %d %s", a.TipHeight, a.TipHash, b.TipHeight, b.TipHash))
	}
	if a.ListVersion != b.ListVersion || a.ListSHA256 != b.ListSHA256 {
		d = append(d, fmt.Sprintf("sanctions list: bundle %q (version %d, sha256 %.12s), store now %q (version %d, sha256 %.12s)",
			a.SanctionsList, a.ListVersion, a.ListSHA256, b.SanctionsList, b.ListVersion, b.ListSHA256))
	}
	if a.Clusters != b.Clusters {
		d = append(d, fmt.Sprintf("clusters: bundle %q, store now %q", a.Clusters, b.Clusters))
	}
	packs := func(ps []PackVersion) map[string]PackVersion {
		m := map[string]PackVersion{}
		for _, p := range ps {
			m[p.Name] = p
		}
		return m
	}
	pa, pb := packs(a.TagPacks), packs(b.TagPacks)
	var names []string
	for n := range pa {
		names = append(names, n)
	}
	for n := range pb {
		if _, ok := pa[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		x, okx := pa[n]
		y, oky := pb[n]
		switch {
		case !oky:
			d = append(d, fmt.Sprintf("tag pack %s: in the bundle, not in the store now", n))
		case !okx:
			d = append(d, fmt.Sprintf("tag pack %s: in the store now, not in the bundle", n))
		case x.SHA256 != y.SHA256:
			d = append(d, fmt.Sprintf("tag pack %s: bundle generation %d (%d tags), store now generation %d (%d tags)", n, x.Gen, x.Tags, y.Gen, y.Tags))
		}
	}
	return d
}

func diffResults(a, b *tracer.Result) []string {
	var d []string
	key := func(h tracer.Hit) string {
		return fmt.Sprintf("%s:%d %s → %s %s BTC", h.Txid, h.Vout, h.Address, h.Entity, report.BTC(h.Tainted))
	}
	set := func(r *tracer.Result) map[string]bool {
		m := map[string]bool{}
		for _, h := range r.Hits {
			m[key(h)] = true
		}
		return m
	}
	sa, sb := set(a), set(b)
	var gone, added []string
	for k := range sa {
		if !sb[k] {
			gone = append(gone, k)
		}
	}
	for k := range sb {
		if !sa[k] {
			added = append(added, k)
		}
	}
	slices.Sort(gone)
	slices.Sort(added)
	const show = 5
	for _, x := range []struct {
		what string
		l    []string
	}{{"in the bundle, not found now", gone}, {"found now, not in the bundle", added}} {
		if len(x.l) == 0 {
			continue
		}
		s := fmt.Sprintf("%d hits %s: %s", len(x.l), x.what, strings.Join(x.l[:min(show, len(x.l))], "; "))
		if len(x.l) > show {
			s += fmt.Sprintf("; and %d more", len(x.l)-show)
		}
		d = append(d, s)
	}
	ta, tb := a.Totals, b.Totals
	for _, x := range []struct {
		name string
		a, b int64
	}{
		{"traced", ta.Traced, tb.Traced}, {"to entities", ta.ToEntities, tb.ToEntities}, {"unspent", ta.Unspent, tb.Unspent},
		{"fees", ta.Fees, tb.Fees}, {"dust", ta.Dust, tb.Dust}, {"cut by limits", ta.Cut, tb.Cut},
		{"hits", int64(ta.Hits), int64(tb.Hits)}, {"holdings", int64(ta.Holdings), int64(tb.Holdings)},
	} {
		if x.a != x.b {
			d = append(d, fmt.Sprintf("total %s: bundle %d, now %d", x.name, x.a, x.b))
		}
	}
	if len(a.Nodes) != len(b.Nodes) || len(a.Edges) != len(b.Edges) {
		d = append(d, fmt.Sprintf("graph: bundle %d transactions and %d edges, now %d and %d", len(a.Nodes), len(a.Edges), len(b.Nodes), len(b.Edges)))
	}
	return d
}
