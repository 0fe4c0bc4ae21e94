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
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
	"gopkg.in/yaml.v3"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/internal/yamlerr"
	"github.com/tracer-oss/tracer/store/address"
)

// MaxSize bounds a tag file (the largest GraphSense pack is a few MB).
const MaxSize = 256 << 20

// BTC is the currency code of the tags kept.
const BTC = "BTC"

// Pack is one tag file.
type Pack struct {
	Title       string
	Creator     string
	Description string
	Source      string    // file name
	LastMod     time.Time // header lastmod; zero when absent
	Tags        []sanctions.Tag
	Skipped     map[string]int // tags of other currencies, by upper-case currency
	NoAddress   int            // BTC tags without an address (tx_hash tags)
	Invalid     []Invalid      // BTC tags with a bad address, skipped (Options.SkipInvalid only)
	Warnings    []string
}

// Invalid is a tag skipped because its BTC address does not decode.
type Invalid struct {
	Line    int
	Address string
	Label   string
	Err     string
}

// Options adjust parsing.
type Options struct {
	// SkipInvalid skips a BTC tag whose address is invalid, recording it in
	// Pack.Invalid and Pack.Warnings, instead of failing the whole pack.
	// Published packs carry a few such tags (a TRON address tagged BTC in
	// ofac.yaml, a checksum typo in plustoken.yaml), so bulk imports want
	// this; the default is strict.
	SkipInvalid bool
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
	defer f.Close()
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

func parsePack(ctx context.Context, data []byte, name string, opt Options) (*Pack, error) {
	root, err := rootMapping(data, name)
	if err != nil {
		return nil, err
	}
	base := filepath.Base(name)
	p := &Pack{Source: name, Skipped: map[string]int{}}
	header := map[string]*yaml.Node{}
	var tagsNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i].Value, root.Content[i+1]
		switch k {
		case "tags":
			tagsNode = v
		case "title":
			p.Title = scalar(v)
		case "creator":
			p.Creator = scalar(v)
		case "description":
			p.Description = scalar(v)
		default:
			header[k] = v
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
	if v, ok := header["lastmod"]; ok {
		t, err := parseDate(scalar(v))
		if err != nil {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s:%d: header lastmod %q: %v", name, v.Line, scalar(v), err))
		}
		p.LastMod = t
	}
	for i, item := range tagsNode.Content {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if item.Kind != yaml.MappingNode {
			return nil, &ParseError{File: name, Line: item.Line, Err: fmt.Errorf("%w: tag %d is not a mapping", ErrMalformed, i)}
		}
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
		// The tag's own currency or network (the newer name) beats the
		// header's.
		currency := ""
		for _, src := range []map[string]*yaml.Node{own, header} {
			for _, k := range []string{"currency", "network"} {
				if currency == "" {
					currency = strings.ToUpper(strings.TrimSpace(scalar(src[k])))
				}
			}
		}
		if currency == "" {
			return nil, &ParseError{File: name, Line: item.Line, Err: fmt.Errorf("%w: currency (or network)", ErrMissingField)}
		}
		if currency != BTC {
			p.Skipped[currency]++
			continue
		}
		addrNode, ok := fields["address"]
		if !ok || strings.TrimSpace(scalar(addrNode)) == "" {
			p.NoAddress++
			continue
		}
		t := sanctions.Tag{
			Address:    strings.TrimSpace(scalar(addrNode)),
			Currency:   currency,
			Label:      strings.TrimSpace(get("label")),
			Category:   NormalizeCategory(get("category")),
			Actor:      strings.TrimSpace(get("actor")),
			Abuse:      NormalizeCategory(get("abuse")),
			Confidence: strings.ToLower(strings.TrimSpace(get("confidence"))),
			Source:     strings.TrimSpace(get("source")),
			Pack:       base,
		}
		if err := validBTC(t.Address, opt.Network); err != nil {
			if !opt.SkipInvalid {
				return nil, &ParseError{File: name, Line: addrNode.Line, Err: err}
			}
			p.Invalid = append(p.Invalid, Invalid{Line: addrNode.Line, Address: t.Address, Label: t.Label, Err: err.Error()})
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s:%d: %v: tag skipped", name, addrNode.Line, err))
			continue
		}
		if t.Label == "" {
			return nil, &ParseError{File: name, Line: item.Line, Err: fmt.Errorf("%w: label of tag %s", ErrMissingField, t.Address)}
		}
		if v, ok := fields["is_cluster_definer"]; ok {
			b, err := parseBool(scalar(v))
			if err != nil {
				return nil, &ParseError{File: name, Line: v.Line, Err: fmt.Errorf("%w: is_cluster_definer %q", ErrBadValue, scalar(v))}
			}
			t.IsClusterDefiner = b
		}
		if v, ok := fields["lastmod"]; ok {
			d, err := parseDate(scalar(v))
			if err != nil {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s:%d: lastmod %q: %v", name, v.Line, scalar(v), err))
			}
			t.LastMod = d
		}
		p.Tags = append(p.Tags, t)
	}
	return p, nil
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
	// One wording for every command and file: "mainnet address; this
	// store is regtest".
	if _, err := address.Parse(addr, net); err != nil {
		return fmt.Errorf("%w %s", ErrBadAddress, address.Problem(err))
	}
	return nil
}

// Actor is one entry of an ActorPack.
type Actor struct {
	ID            string
	Label         string
	URI           string
	Categories    []string
	Jurisdictions []string
}

// ActorPack is a GraphSense ActorPack.
type ActorPack struct {
	Title   string
	Creator string
	Source  string
	LastMod time.Time
	Actors  []Actor
}

// ByID indexes the actors by id.
func (ap *ActorPack) ByID() map[string]Actor {
	m := make(map[string]Actor, len(ap.Actors))
	for _, a := range ap.Actors {
		m[a.ID] = a
	}
	return m
}

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

// ParseCSV reads a plain tag CSV: a header naming at least address and
// label (also category, source, actor, confidence, abuse, currency,
// lastmod, is_cluster_definer), or no header and the columns
// address,label,category,source[,actor,confidence]. Currency defaults to
// BTC; other currencies are skipped and counted.
func ParseCSV(ctx context.Context, r io.Reader, name string, opt Options) (*Pack, error) {
	data, err := readAll(r, name)
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	p := &Pack{Source: name, Skipped: map[string]int{}}
	cols := map[string]int{"address": 0, "label": 1, "category": 2, "source": 3, "actor": 4, "confidence": 5}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return p, nil
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
		if n == 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "address") {
			cols = map[string]int{}
			for i, h := range rec {
				if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
					if _, dup := cols[h]; !dup {
						cols[h] = i
					}
				}
			}
			continue
		}
		get := func(k string) string {
			if i, ok := cols[k]; ok && i < len(rec) {
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
			continue
		}
		t := sanctions.Tag{
			Address: get("address"), Currency: currency, Label: get("label"),
			Category: NormalizeCategory(get("category")), Actor: get("actor"), Abuse: NormalizeCategory(get("abuse")),
			Confidence: strings.ToLower(get("confidence")), Source: get("source"), Pack: filepath.Base(name),
		}
		if t.Address == "" {
			return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("%w: address", ErrMissingField)}
		}
		if err := validBTC(t.Address, opt.Network); err != nil {
			if !opt.SkipInvalid {
				return nil, &ParseError{File: name, Line: line, Err: err}
			}
			p.Invalid = append(p.Invalid, Invalid{Line: line, Address: t.Address, Label: t.Label, Err: err.Error()})
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s:%d: %v: tag skipped", name, line, err))
			continue
		}
		if s := get("is_cluster_definer"); s != "" {
			if t.IsClusterDefiner, err = parseBool(s); err != nil {
				return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("%w: is_cluster_definer %q", ErrBadValue, s)}
			}
		}
		if s := get("lastmod"); s != "" {
			if t.LastMod, err = parseDate(s); err != nil {
				p.Warnings = append(p.Warnings, fmt.Sprintf("%s:%d: lastmod %q: %v", name, line, s, err))
			}
		}
		p.Tags = append(p.Tags, t)
	}
}
