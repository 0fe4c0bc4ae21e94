package tags

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"gopkg.in/yaml.v3"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/sanctions/yamlerr"
)

// MaxSize bounds a tag file (the largest GraphSense pack is a few MB).
const MaxSize = 256 << 20

// BTC is the currency code of the tags kept.
const BTC = "BTC"

// Pack is one tag file (the domain type is sanctions.TagPack: the store
// saves it without importing this parser).
type Pack = sanctions.TagPack

// Invalid is a tag rejected by validation.
type Invalid = sanctions.InvalidTag

// Options adjust parsing.
type Options struct {
	// SkipInvalid skips a BTC tag that fails validation (an invalid
	// address, a missing label or source, both or neither of address and
	// tx_hash, an unknown category, abuse or confidence), recording it in
	// Pack.Invalid and Pack.Warnings, instead of failing the whole pack.
	// Published packs carry a few such tags (a TRON address tagged BTC in
	// ofac.yaml, a checksum typo in plustoken.yaml), so bulk imports want
	// this; the default is strict.
	SkipInvalid bool
	// Map renames CSV columns: tag field (one of CSVFields) → column name.
	Map map[string]string
	// Network is the network addresses must belong to; nil means mainnet.
	// GraphSense's currency code BTC covers every Bitcoin network.
	Network *chaincfg.Params
}

// ParsePackFile reads a TagPack YAML file.
func ParsePackFile(ctx context.Context, path string, opt Options) (*Pack, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parsePack(ctx, data, path, opt)
}

// ParsePack reads a TagPack YAML document; name is used in errors and as
// Tag.Pack.
func ParsePack(ctx context.Context, r io.Reader, name string, opt Options) (*Pack, error) {
	data, err := readAll(r, name)
	if err != nil {
		return nil, err
	}
	return parsePack(ctx, data, name, opt)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("tags: %w", err)
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	return readAll(f, path)
}

func readAll(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("tags: read %s: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, &ParseError{File: name, Err: ErrTooLarge}
	}
	return data, nil
}

// rootMapping decodes a YAML document and returns its top-level mapping.
func rootMapping(data []byte, name string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ParseError{File: name, Line: yamlerr.Line(err), Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &ParseError{File: name, Line: max(doc.Line, 1), Err: fmt.Errorf("%w: want a YAML mapping", ErrMalformed)}
	}
	return doc.Content[0], nil
}

// packParser reads one TagPack file.
type packParser struct {
	name, base string
	opt        Options
	p          *Pack
	header     map[string]*yaml.Node // header fields other than title, creator and description
}

func parsePack(ctx context.Context, data []byte, name string, opt Options) (*Pack, error) {
	root, err := rootMapping(data, name)
	if err != nil {
		return nil, err
	}
	pp := &packParser{name: name, base: filepath.Base(name), opt: opt, p: &Pack{Source: name, Skipped: map[string]int{}},
		header: map[string]*yaml.Node{}}
	p := pp.p
	tagsNode := pp.readHeader(root)
	for _, f := range []struct{ field, value string }{{"title", p.Title}, {"creator", p.Creator}} {
		if strings.TrimSpace(f.value) == "" {
			return nil, &ParseError{File: name, Line: root.Line, Err: fmt.Errorf("%w: header %s (a TagPack header names its title and creator)", ErrMissingField, f.field)}
		}
	}
	if tagsNode == nil {
		return nil, &ParseError{File: name, Line: root.Line, Err: fmt.Errorf("%w: tags", ErrMissingField)}
	}
	if tagsNode.Kind != yaml.SequenceNode {
		if tagsNode.Kind == yaml.ScalarNode && tagsNode.Tag == "!!null" {
			return p, nil
		}
		return nil, &ParseError{File: name, Line: tagsNode.Line, Err: fmt.Errorf("%w: tags is not a list", ErrMalformed)}
	}
	if v, ok := pp.header["lastmod"]; ok {
		t, err := parseDate(scalar(v))
		if err != nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s:%d: header lastmod %q: %v", name, v.Line, scalar(v), err))
		}
		p.LastMod = t
	}
	if err := pp.tags(ctx, tagsNode); err != nil {
		return nil, err
	}
	if p.NoConfidence > 0 {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: %d tags without confidence set to unknown (the lowest level)", name, p.NoConfidence))
	}
	return p, nil
}

// tags reads the list of tags, each a mapping.
func (pp *packParser) tags(ctx context.Context, list *yaml.Node) error {
	for i, item := range list.Content {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if item.Kind != yaml.MappingNode {
			return &ParseError{File: pp.name, Line: item.Line, Err: fmt.Errorf("%w: tag %d is not a mapping", ErrMalformed, i)}
		}
		if err := pp.tag(item); err != nil {
			return err
		}
	}
	return nil
}

// readHeader reads the pack's header fields (at the top level, or nested
// under header:) and returns the tags node, nil when there is none.
func (pp *packParser) readHeader(root *yaml.Node) *yaml.Node {
	p, header := pp.p, pp.header
	var tagsNode *yaml.Node
	setHeader := func(k string, v *yaml.Node) {
		switch k {
		case "tags":
			tagsNode = v
		case "title":
			p.Title = scalar(v)
		case "creator":
			p.Creator = scalar(v)
		case "description":
			p.Description = scalar(v)
		}
		if k != "tags" {
			header[k] = v
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i].Value, root.Content[i+1]
		if k == "header" && v.Kind == yaml.MappingNode {
			// The nested form tagpack-tool also reads: header fields
			// under header:, tags beside it.
			for j := 0; j+1 < len(v.Content); j += 2 {
				setHeader(v.Content[j].Value, v.Content[j+1])
			}
			continue
		}
		setHeader(k, v)
	}
	delete(header, "title")
	delete(header, "creator")
	delete(header, "description")
	return tagsNode
}

// reject skips a tag that fails validation (SkipInvalid) or fails the pack.
func (pp *packParser) reject(line int, addr, label, kind string, err error) error {
	if !pp.opt.SkipInvalid {
		return &ParseError{File: pp.name, Line: line, Err: err}
	}
	pp.p.Invalid = append(pp.p.Invalid, Invalid{Line: line, Address: addr, Label: label, Kind: kind, Err: err.Error()})
	pp.p.Warnings = append(pp.p.Warnings, fmt.Sprintf("%s:%d: %v: tag skipped", pp.name, line, err))
	return nil
}

// tag reads one tag (a mapping whose fields override the header's): it
// adds it to the pack, counts it as skipped, or rejects it.
func (pp *packParser) tag(item *yaml.Node) error {
	p, header := pp.p, pp.header
	own := map[string]*yaml.Node{}
	for j := 0; j+1 < len(item.Content); j += 2 {
		own[item.Content[j].Value] = item.Content[j+1]
	}
	fields := maps.Clone(header)
	maps.Copy(fields, own)
	get := func(k string) string {
		if v, ok := fields[k]; ok {
			return scalar(v)
		}
		return ""
	}
	currency := tagCurrency(own, header)
	addr, label := strings.TrimSpace(get("address")), strings.TrimSpace(get("label"))
	if currency == "" {
		return pp.reject(item.Line, addr, label, "no currency", fmt.Errorf("%w: currency (or network)", ErrMissingField))
	}
	if currency != BTC {
		p.Skipped[currency]++
		return nil
	}
	txHash := strings.TrimSpace(get("tx_hash"))
	switch {
	case addr != "" && txHash != "":
		return pp.reject(item.Line, addr, label, "address and tx_hash", fmt.Errorf("%w: both address and tx_hash (a tag has exactly one)", ErrBadValue))
	case addr == "" && txHash == "":
		return pp.reject(item.Line, "", label, "no address", fmt.Errorf("%w: address or tx_hash", ErrMissingField))
	case addr == "":
		p.NoAddress++ // a transaction tag: valid, but nothing to label an address with
		return nil
	}
	t := sanctions.Tag{
		Address:    addr,
		Currency:   currency,
		Label:      label,
		Category:   NormalizeCategory(get("category")),
		Actor:      strings.TrimSpace(get("actor")),
		Abuse:      NormalizeCategory(get("abuse")),
		Confidence: strings.ToLower(strings.TrimSpace(get("confidence"))),
		Source:     strings.TrimSpace(get("source")),
		Pack:       pp.base,
	}
	if err := validBTC(t.Address, pp.opt.Network); err != nil {
		line := item.Line
		if v, ok := fields["address"]; ok && v.Line > 0 {
			line = v.Line
		}
		return pp.reject(line, t.Address, t.Label, "bad address", err)
	}
	if kind, badLine, bad := tagProblem(&t, fields, item.Line); bad != nil {
		return pp.reject(badLine, t.Address, t.Label, kind, bad)
	}
	pp.defaults(&t, fields)
	p.Tags = append(p.Tags, t)
	return nil
}

// defaults fills what a valid tag may leave out: its confidence (the
// lowest level, counted) and its lastmod date (a bad one warned of).
func (pp *packParser) defaults(t *sanctions.Tag, fields map[string]*yaml.Node) {
	p := pp.p
	if t.Confidence == "" {
		// As tagpack-tool does: the lowest level, with a warning.
		t.Confidence = "unknown"
		p.NoConfidence++
	}
	if v, ok := fields["lastmod"]; ok {
		d, err := parseDate(scalar(v))
		if err != nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s:%d: lastmod %q: %v", pp.name, v.Line, scalar(v), err))
		}
		t.LastMod = d
	}
}

// conceptProblem checks a tag's category, abuse and confidence against
// the known concepts and levels: the first problem's kind and the problem.
func conceptProblem(t *sanctions.Tag) (kind string, bad error) {
	switch {
	case t.Category != "" && !KnownConcept(t.Category):
		return "unknown category", fmt.Errorf("%w: unknown category %q of tag %s", ErrBadValue, t.Category, t.Address)
	case t.Abuse != "" && !KnownConcept(t.Abuse):
		return "unknown abuse", fmt.Errorf("%w: unknown abuse %q of tag %s", ErrBadValue, t.Abuse, t.Address)
	case t.Confidence != "":
		if _, ok := sanctions.ConfidenceLevel(t.Confidence); !ok {
			return "unknown confidence", fmt.Errorf("%w: unknown confidence %q of tag %s", ErrBadValue, t.Confidence, t.Address)
		}
	}
	return "", nil
}

// tagCurrency is a tag's currency: its own currency or network (the newer
// name) beats the header's.
func tagCurrency(own, header map[string]*yaml.Node) string {
	currency := ""
	for _, src := range []map[string]*yaml.Node{own, header} {
		for _, k := range []string{"currency", "network"} {
			if currency == "" {
				currency = strings.ToUpper(strings.TrimSpace(scalar(src[k])))
			}
		}
	}
	return currency
}

// tagProblem checks a tag's fields (and reads is_cluster_definer into t):
// the first problem, its kind and its line; nil when there is none.
func tagProblem(t *sanctions.Tag, fields map[string]*yaml.Node, line int) (kind string, badLine int, bad error) {
	badLine = line
	switch {
	case t.Label == "":
		return "no label", badLine, fmt.Errorf("%w: label of tag %s", ErrMissingField, t.Address)
	case t.Source == "":
		return "no source", badLine, fmt.Errorf("%w: source of tag %s", ErrMissingField, t.Address)
	}
	if kind, bad := conceptProblem(t); bad != nil {
		return kind, badLine, bad
	}
	if v, ok := fields["is_cluster_definer"]; ok {
		b, err := parseBool(scalar(v))
		if err != nil {
			return "bad is_cluster_definer", v.Line, fmt.Errorf("%w: is_cluster_definer %q", ErrBadValue, scalar(v))
		}
		t.IsClusterDefiner = b
	}
	return "", badLine, nil
}

// scalar returns the value of a scalar node, "" for other kinds (context
// may be a mapping) and for null.
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "y", "1", "on":
		return true, nil
	case "false", "no", "n", "0", "off", "":
		return false, nil
	}
	return false, ErrBadValue
}

// parseDate accepts the date forms found in tag packs.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02", time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04:05.999999999 -07:00", "2006/01/02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised date")
}

func validBTC(addr string, net *chaincfg.Params) error {
	if net == nil {
		net = &chaincfg.MainNetParams
	}
	if len(addr) > sanctions.MaxAddressLen {
		return fmt.Errorf("%w %s: %d characters long; an address has at most %d", ErrBadAddress, sanctions.Clip(addr), len(addr), sanctions.MaxAddressLen)
	}
	if _, err := address.Parse(addr, net); err != nil {
		return fmt.Errorf("%w %s", ErrBadAddress, address.Problem(err))
	}
	return nil
}

// Actor is one entry of an ActorPack.
type Actor = sanctions.Actor

// ActorPack is a GraphSense ActorPack.
type ActorPack = sanctions.ActorPack

// ParseActorPackFile reads an ActorPack YAML file.
func ParseActorPackFile(ctx context.Context, path string) (*ActorPack, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parseActorPack(ctx, data, path)
}

// ParseActorPack reads an ActorPack YAML document.
func ParseActorPack(ctx context.Context, r io.Reader, name string) (*ActorPack, error) {
	data, err := readAll(r, name)
	if err != nil {
		return nil, err
	}
	return parseActorPack(ctx, data, name)
}

func parseActorPack(ctx context.Context, data []byte, name string) (*ActorPack, error) {
	root, err := rootMapping(data, name)
	if err != nil {
		return nil, err
	}
	ap := &ActorPack{Source: name}
	var actors *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i].Value, root.Content[i+1]
		switch k {
		case "title":
			ap.Title = scalar(v)
		case "creator":
			ap.Creator = scalar(v)
		case "lastmod":
			ap.LastMod, _ = parseDate(scalar(v))
		case "actors":
			actors = v
		}
	}
	if actors == nil || actors.Kind != yaml.SequenceNode {
		return nil, &ParseError{File: name, Line: root.Line, Err: fmt.Errorf("%w: actors list", ErrMissingField)}
	}
	seen := map[string]int{}
	for i, item := range actors.Content {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		var a struct {
			ID            string   `yaml:"id"`
			Label         string   `yaml:"label"`
			URI           string   `yaml:"uri"`
			Categories    []string `yaml:"categories"`
			Jurisdictions []string `yaml:"jurisdictions"`
		}
		if err := item.Decode(&a); err != nil {
			return nil, &ParseError{File: name, Line: item.Line, Err: fmt.Errorf("%w: actor %d: %v", ErrMalformed, i, err)}
		}
		a.ID = strings.TrimSpace(a.ID)
		if a.ID == "" {
			return nil, &ParseError{File: name, Line: item.Line, Err: fmt.Errorf("%w: actor id", ErrMissingField)}
		}
		if l, dup := seen[a.ID]; dup {
			return nil, &ParseError{File: name, Line: item.Line, Err: fmt.Errorf("%w: duplicate actor id %q (first on line %d)", ErrBadValue, a.ID, l)}
		}
		seen[a.ID] = item.Line
		for j, c := range a.Categories {
			a.Categories[j] = NormalizeCategory(c)
		}
		ap.Actors = append(ap.Actors, Actor{ID: a.ID, Label: strings.TrimSpace(a.Label), URI: strings.TrimSpace(a.URI),
			Categories: a.Categories, Jurisdictions: a.Jurisdictions})
	}
	return ap, nil
}

// CSVFields are the tag fields a CSV column can fill.
var CSVFields = []string{"address", "label", "category", "source", "actor", "confidence", "abuse", "currency", "lastmod", "is_cluster_definer"}

// ParseCSV reads a plain tag CSV: a header naming at least address and
// label (and any of CSVFields), or no header and the columns
// address,label,category,source[,actor,confidence]. Options.Map renames
// columns (field → column, e.g. label → entity); with a map the first row
// is always the header. A file with no label column is refused, naming the
// columns it has. Currency defaults to BTC; other currencies are skipped
// and counted. A row with no label, an invalid address, or an unknown
// category, abuse or confidence is rejected (see Options.SkipInvalid).
func ParseCSV(ctx context.Context, r io.Reader, name string, opt Options) (*Pack, error) {
	data, err := readAll(r, name)
	if err != nil {
		return nil, err
	}
	for field := range opt.Map {
		if !slices.Contains(CSVFields, field) {
			return nil, &ParseError{File: name, Err: fmt.Errorf("%w: cannot map %q (fields: %s)", ErrBadValue, field, strings.Join(CSVFields, ", "))}
		}
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cp := &csvParser{name: name, opt: opt, p: &Pack{Source: name, Skipped: map[string]int{}},
		cols: map[string]int{"address": 0, "label": 1, "category": 2, "source": 3, "actor": 4, "confidence": 5}}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return cp.p, nil
		}
		if err != nil {
			var ce *csv.ParseError
			line := 0
			if errors.As(err, &ce) {
				line = ce.Line
			}
			return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
		}
		line, _ := cr.FieldPos(0)
		if n == 0 && (len(opt.Map) > 0 || strings.EqualFold(strings.TrimSpace(rec[0]), "address")) {
			if cp.cols, err = csvHeader(rec, opt.Map); err != nil {
				return nil, &ParseError{File: name, Line: line, Err: err}
			}
			continue
		}
		if err := cp.row(rec, line); err != nil {
			return nil, err
		}
	}
}

// csvParser reads one CSV tag file.
type csvParser struct {
	name string
	opt  Options
	p    *Pack
	cols map[string]int // field → column
}

// row reads the tag of one row: it adds it to the pack, counts it as
// skipped, or rejects it.
func (cp *csvParser) row(rec []string, line int) error {
	p := cp.p
	get := func(k string) string {
		if i, ok := cp.cols[k]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	currency := strings.ToUpper(get("currency"))
	if currency == "" {
		currency = BTC
	}
	if currency != BTC {
		p.Skipped[currency]++
		return nil
	}
	t := sanctions.Tag{
		Address: get("address"), Currency: currency, Label: get("label"),
		Category: NormalizeCategory(get("category")), Actor: get("actor"), Abuse: NormalizeCategory(get("abuse")),
		Confidence: strings.ToLower(get("confidence")), Source: get("source"), Pack: filepath.Base(cp.name),
	}
	if kind, bad := cp.check(&t, get("is_cluster_definer")); bad != nil {
		if !cp.opt.SkipInvalid {
			return &ParseError{File: cp.name, Line: line, Err: bad}
		}
		p.Invalid = append(p.Invalid, Invalid{Line: line, Address: t.Address, Label: t.Label, Kind: kind, Err: bad.Error()})
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s:%d: %v: tag skipped", cp.name, line, bad))
		return nil
	}
	if s := get("lastmod"); s != "" {
		var err error
		if t.LastMod, err = parseDate(s); err != nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s:%d: lastmod %q: %v", cp.name, line, s, err))
		}
	}
	if t.Confidence == "" {
		t.Confidence = "unknown" // the lowest level, as for TagPacks
		p.NoConfidence++
	}
	p.Tags = append(p.Tags, t)
	return nil
}

// check validates a row's tag — address, label, concepts — and reads its
// is_cluster_definer column (definer); on a problem it returns its kind.
func (cp *csvParser) check(t *sanctions.Tag, definer string) (kind string, bad error) {
	switch {
	case t.Address == "":
		return "no address", fmt.Errorf("%w: address", ErrMissingField)
	case validBTC(t.Address, cp.opt.Network) != nil:
		return "bad address", validBTC(t.Address, cp.opt.Network)
	case t.Label == "":
		return "no label", fmt.Errorf("%w: label of tag %s", ErrMissingField, t.Address)
	}
	if kind, bad := conceptProblem(t); bad != nil {
		return kind, bad
	}
	if definer != "" {
		var err error
		if t.IsClusterDefiner, err = parseBool(definer); err != nil {
			return "bad is_cluster_definer", fmt.Errorf("%w: is_cluster_definer %q", ErrBadValue, definer)
		}
	}
	return "", nil
}

// csvHeader maps field names to column indexes: the header's own names,
// then the mapped ones. A header without an address or label column is an
// error naming the columns it has.
func csvHeader(rec []string, m map[string]string) (map[string]int, error) {
	cols := map[string]int{}
	var names []string
	for i, h := range rec {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			names = append(names, h)
			if _, dup := cols[h]; !dup {
				cols[h] = i
			}
		}
	}
	header := maps.Clone(cols)
	for _, field := range slices.Sorted(maps.Keys(m)) {
		col := strings.ToLower(strings.TrimSpace(m[field]))
		i, ok := header[col]
		if !ok {
			return nil, fmt.Errorf("%w: --map %s=%s: no column %q (the header has %s)", ErrMissingField, field, m[field], col, strings.Join(names, ", "))
		}
		cols[field] = i
	}
	for _, need := range []string{"address", "label"} {
		if _, ok := cols[need]; !ok {
			return nil, fmt.Errorf("%w: no %s column (the header has %s); name one with --map %s=COLUMN", ErrMissingField, need, strings.Join(names, ", "), need)
		}
	}
	return cols, nil
}

// ParseAnyFile reads a tag file of any kind: a CSV (by its .csv extension),
// an ActorPack (a YAML document with an actors list and no tags), or a
// TagPack. Exactly one of the results is non-nil without an error.
func ParseAnyFile(ctx context.Context, path string, opt Options) (*Pack, *ActorPack, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	return parseAny(ctx, data, path, opt)
}

// ParseAny is ParseAnyFile over a reader: name (a file name; a CSV by its
// .csv extension) is used in errors and as the pack's Source.
func ParseAny(ctx context.Context, r io.Reader, name string, opt Options) (*Pack, *ActorPack, error) {
	data, err := readAll(r, name)
	if err != nil {
		return nil, nil, err
	}
	return parseAny(ctx, data, name, opt)
}

func parseAny(ctx context.Context, data []byte, name string, opt Options) (*Pack, *ActorPack, error) {
	if strings.EqualFold(filepath.Ext(name), ".csv") {
		p, err := ParseCSV(ctx, bytes.NewReader(data), name, opt)
		return p, nil, err
	}
	root, err := rootMapping(data, name)
	if err != nil {
		return nil, nil, err
	}
	keys := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		keys[root.Content[i].Value] = true
	}
	if keys["actors"] && !keys["tags"] {
		ap, err := parseActorPack(ctx, data, name)
		return nil, ap, err
	}
	p, err := parsePack(ctx, data, name, opt)
	return p, nil, err
}
