package seeds

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"gopkg.in/yaml.v3"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/sanctions/yamlerr"
)

// Format of a seed file.
type Format string

// Seed file formats.
const (
	FormatUnknown Format = ""
	FormatCSV     Format = "csv"
	FormatJSON    Format = "json"
	FormatYAML    Format = "yaml"
)

// MaxSize bounds a seed file; seed lists are small.
const MaxSize = 64 << 20

// DetectFormat picks the format from the extension of name (.csv, .txt,
// .tsv, .json, .yaml, .yml), else from the first non-blank byte of data.
func DetectFormat(data []byte, name string) Format {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".txt":
		return FormatCSV
	case ".json":
		return FormatJSON
	case ".yaml", ".yml":
		return FormatYAML
	}
	t := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
	if len(t) > 0 && (t[0] == '[' || t[0] == '{') {
		return FormatJSON
	}
	// The first line that is not blank or a comment tells YAML from CSV.
	for _, line := range bytes.Split(t, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if line[0] == '-' || line[0] == '%' || bytes.HasPrefix(line, []byte("seeds:")) || bytes.HasPrefix(line, []byte("address:")) {
			return FormatYAML
		}
		break
	}
	return FormatCSV
}

// ParseFile reads the seed file at path.
func ParseFile(ctx context.Context, path string, net *chaincfg.Params) ([]sanctions.Seed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("seeds: %w", err)
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	return Parse(ctx, f, path, net)
}

// Parse reads a seed list; name is used for format detection and errors.
// net is the network addresses must belong to (nil means mainnet).
func Parse(ctx context.Context, r io.Reader, name string, net *chaincfg.Params) ([]sanctions.Seed, error) {
	if net == nil {
		net = &chaincfg.MainNetParams
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("seeds: read %s: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, &ParseError{File: name, Index: -1, Err: ErrTooLarge}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p := &parser{name: name, net: net, index: map[string]int{}}
	switch DetectFormat(data, name) {
	case FormatJSON:
		err = p.json(data)
	case FormatYAML:
		err = p.yaml(data)
	default:
		err = p.csv(ctx, data)
	}
	if err != nil {
		return nil, err
	}
	if len(p.out) == 0 {
		return nil, &ParseError{File: name, Index: -1, Err: ErrEmpty}
	}
	return p.out, nil
}

type parser struct {
	name  string
	net   *chaincfg.Params
	out   []sanctions.Seed
	index map[string]int // address -> position in out
}

// raw is one seed as read, before validation.
type raw struct {
	Address    string `json:"address" yaml:"address"`
	Label      string `json:"label" yaml:"label"`
	Source     string `json:"source" yaml:"source"`
	Confidence any    `json:"confidence" yaml:"confidence"`
}

func (p *parser) add(r raw, line, index int) error {
	fail := func(err error) error { return &ParseError{File: p.name, Line: line, Index: index, Err: err} }
	addr := strings.TrimSpace(r.Address)
	if addr == "" {
		return fail(ErrMissingField)
	}
	if len(addr) > sanctions.MaxAddressLen {
		return fail(fmt.Errorf("%w %s: %d characters long; an address has at most %d", ErrBadAddress, sanctions.Clip(addr), len(addr), sanctions.MaxAddressLen))
	}
	if _, err := address.Parse(addr, p.net); err != nil {
		return fail(fmt.Errorf("%w %s", ErrBadAddress, address.Problem(err)))
	}
	conf, err := confidence(r.Confidence)
	if err != nil {
		return fail(err)
	}
	s := sanctions.Seed{Address: addr, Label: strings.TrimSpace(r.Label), Source: strings.TrimSpace(r.Source), Confidence: conf}
	if i, ok := p.index[addr]; ok {
		old := &p.out[i]
		if old.Label == "" {
			old.Label = s.Label
		}
		if old.Source == "" {
			old.Source = s.Source
		}
		old.Confidence = max(old.Confidence, s.Confidence)
		return nil
	}
	p.index[addr] = len(p.out)
	p.out = append(p.out, s)
	return nil
}

// confidence accepts a number in [0, 1], a numeric string, or a GraphSense
// confidence id.
func confidence(v any) (float64, error) {
	var f float64
	switch c := v.(type) {
	case nil:
		return 0, nil
	case float64:
		f = c
	case int:
		f = float64(c)
	case string:
		c = strings.TrimSpace(c)
		if c == "" {
			return 0, nil
		}
		if l, ok := sanctions.ConfidenceLevel(c); ok {
			return float64(l) / 100, nil
		}
		var err error
		if f, err = strconv.ParseFloat(c, 64); err != nil {
			return 0, fmt.Errorf("%w %q: want a number in [0,1] or a confidence id", ErrBadConfidence, c)
		}
	default:
		return 0, fmt.Errorf("%w: %v (%T)", ErrBadConfidence, v, v)
	}
	if !(f >= 0 && f <= 1) { // also rejects NaN
		return 0, fmt.Errorf("%w %v: want a number in [0,1]", ErrBadConfidence, f)
	}
	return f, nil
}

func (p *parser) csv(ctx context.Context, data []byte) error {
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cols := map[string]int{"address": 0, "label": 1, "source": 2, "confidence": 3}
	first := true
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			line := 0
			if errors.As(err, &pe) {
				line = pe.Line
			}
			return &ParseError{File: p.name, Line: line, Index: -1, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			if header(rec) {
				if cols = headerColumns(rec); !hasColumn(cols, "address") {
					return &ParseError{File: p.name, Line: line, Index: -1, Err: fmt.Errorf("%w: header has no address column", ErrMalformed)}
				}
				continue
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		r := rowSeed(cols, rec)
		if err := p.add(r, line, -1); err != nil {
			return err
		}
	}
}

// headerColumns maps a header's names (lower case) to their columns, the
// first of a repeated name.
func headerColumns(rec []string) map[string]int {
	cols := map[string]int{}
	for i, h := range rec {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := cols[h]; !dup {
			cols[h] = i
		}
	}
	return cols
}

func hasColumn(cols map[string]int, name string) bool {
	_, ok := cols[name]
	return ok
}

// rowSeed is the seed a CSV record gives with these columns (a missing
// column: "").
func rowSeed(cols map[string]int, rec []string) raw {
	get := func(k string) string {
		if i, ok := cols[k]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	r := raw{Address: get("address"), Label: get("label"), Source: get("source")}
	if c := get("confidence"); c != "" {
		r.Confidence = c
	}
	return r
}

// header reports whether the first CSV record is a header: it names an
// address column.
func header(rec []string) bool {
	for _, h := range rec {
		if strings.EqualFold(strings.TrimSpace(h), "address") {
			return true
		}
	}
	return false
}

func (p *parser) json(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	lineAt := func(off int64) int {
		if off > int64(len(data)) {
			off = int64(len(data))
		}
		return 1 + bytes.Count(data[:off], []byte("\n"))
	}
	fail := func(index int, off int64, err error) error {
		return &ParseError{File: p.name, Line: lineAt(off), Index: index, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
	}
	tok, err := dec.Token()
	if err != nil {
		return fail(-1, dec.InputOffset(), err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fail(-1, dec.InputOffset(), fmt.Errorf("want a JSON array of seeds, got %v", tok))
	}
	for i := 0; dec.More(); i++ {
		var msg json.RawMessage
		start := dec.InputOffset()
		if err := dec.Decode(&msg); err != nil {
			return fail(i, dec.InputOffset(), err)
		}
		// InputOffset before Decode points at the separator; skip to the value.
		line := lineAt(start + int64(len(data[start:])-len(bytes.TrimLeft(data[start:], ", \t\r\n"))))
		r, err := jsonSeed(bytes.TrimSpace(msg))
		if err != nil {
			return fail(i, start, err)
		}
		if err := p.add(r, line, i); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fail(-1, dec.InputOffset(), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail(-1, dec.InputOffset(), fmt.Errorf("data after the array"))
	}
	return nil
}

// jsonSeed decodes one element of a JSON seed array: an address string,
// or an object whose confidence is a number or a string id.
func jsonSeed(t []byte) (raw, error) {
	var r raw
	if len(t) > 0 && t[0] == '"' {
		err := json.Unmarshal(t, &r.Address)
		return r, err
	}
	var obj struct {
		Address    string      `json:"address"`
		Label      string      `json:"label"`
		Source     string      `json:"source"`
		Confidence json.Number `json:"confidence"`
	}
	d := json.NewDecoder(bytes.NewReader(t))
	d.UseNumber()
	if err := d.Decode(&obj); err != nil {
		// Confidence may be a string id.
		if err2 := json.Unmarshal(t, &r); err2 != nil {
			return raw{}, err
		}
		return r, nil
	}
	r = raw{Address: obj.Address, Label: obj.Label, Source: obj.Source}
	if obj.Confidence != "" {
		r.Confidence = string(obj.Confidence)
	}
	return r, nil
}

func (p *parser) yaml(data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &ParseError{File: p.name, Line: yamlerr.Line(err), Index: -1, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
	}
	if doc.Kind == 0 {
		return nil
	}
	list := &doc
	if list.Kind == yaml.DocumentNode && len(list.Content) == 1 {
		list = list.Content[0]
	}
	if list.Kind == yaml.MappingNode { // {seeds: [...]}
		for i := 0; i+1 < len(list.Content); i += 2 {
			if list.Content[i].Value == "seeds" {
				list = list.Content[i+1]
				break
			}
		}
	}
	if list.Kind != yaml.SequenceNode {
		return &ParseError{File: p.name, Line: list.Line, Index: -1, Err: fmt.Errorf("%w: want a list of seeds", ErrMalformed)}
	}
	for i, item := range list.Content {
		var r raw
		switch item.Kind {
		case yaml.ScalarNode:
			r.Address = item.Value
		case yaml.MappingNode:
			if err := item.Decode(&r); err != nil {
				return &ParseError{File: p.name, Line: item.Line, Index: i, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
			}
		default:
			return &ParseError{File: p.name, Line: item.Line, Index: i, Err: fmt.Errorf("%w: want an address or a mapping", ErrMalformed)}
		}
		if f, ok := r.Confidence.(float64); ok {
			r.Confidence = f
		}
		if err := p.add(r, item.Line, i); err != nil {
			return err
		}
	}
	return nil
}
