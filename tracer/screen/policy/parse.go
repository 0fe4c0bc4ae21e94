package policy

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/sanctions/yamlerr"
)

// MaxSize bounds a policy file.
const MaxSize = 1 << 20

// ParseFile reads a policy file.
func ParseFile(path string) (*Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	return Parse(f, path)
}

// Parse reads a policy document; name is used in errors.
func Parse(r io.Reader, name string) (*Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("policy: read %s: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: larger than %d bytes", ErrMalformed, MaxSize)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ParseError{File: name, Line: yamlerr.Line(err), Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
	}
	if len(bytes.TrimSpace(data)) == 0 || doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, &ParseError{File: name, Line: max(doc.Line, 1), Err: fmt.Errorf("%w: want a mapping with a rules list", ErrMalformed)}
	}
	root := doc.Content[0]
	p := &Policy{Source: name}
	var rules *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "name":
			p.Name = scalar(v)
		case "description":
		case "rules":
			rules = v
		default:
			return nil, &ParseError{File: name, Line: k.Line, Err: fmt.Errorf("%w %q (want name, description, rules)", ErrUnknownField, k.Value)}
		}
	}
	if rules == nil {
		return nil, &ParseError{File: name, Line: root.Line, Err: fmt.Errorf("%w: rules", ErrMissingField)}
	}
	if rules.Kind != yaml.SequenceNode || len(rules.Content) == 0 {
		return nil, &ParseError{File: name, Line: rules.Line, Err: fmt.Errorf("%w: rules must be a non-empty list", ErrBadValue)}
	}
	seen := map[string]int{}
	for _, n := range rules.Content {
		r, err := parseRule(n)
		if err != nil {
			err.File = name
			return nil, err
		}
		if l, dup := seen[r.Name]; dup {
			return nil, &ParseError{File: name, Line: r.Line, Rule: r.Name, Err: fmt.Errorf("%w: duplicate rule name (first on line %d)", ErrBadValue, l)}
		}
		seen[r.Name] = r.Line
		if r.Direction == Sent {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s:%d: rule %q: screens report received exposure only, so a sent rule does not fire yet", name, r.Line, r.Name))
		}
		p.Rules = append(p.Rules, r)
	}
	return p, nil
}

var ruleFields = "name, level, category, exposure, direction, min_amount, min_share, min_hops, max_hops, description"

func parseRule(n *yaml.Node) (Rule, *ParseError) {
	r := Rule{Line: n.Line, Exposure: Any, Direction: Any}
	fields, perr := ruleFieldsOf(n)
	if perr != nil {
		return r, perr
	}
	for _, req := range []string{"name", "level", "category"} {
		if v, ok := fields[req]; !ok || (v.Kind == yaml.ScalarNode && strings.TrimSpace(scalar(v)) == "") {
			name := scalar(fields["name"])
			return r, &ParseError{Line: n.Line, Rule: name, Err: fmt.Errorf("%w: %s", ErrMissingField, req)}
		}
	}
	r.Name = strings.TrimSpace(scalar(fields["name"]))
	fail := func(v *yaml.Node, err error) (Rule, *ParseError) {
		return r, &ParseError{Line: v.Line, Rule: r.Name, Err: err}
	}
	var err error
	if r.Level, err = ParseLevel(scalar(fields["level"])); err != nil {
		return fail(fields["level"], err)
	}
	if r.Categories, err = ruleCategories(fields["category"]); err != nil {
		return fail(fields["category"], err)
	}
	for _, f := range []struct {
		field string
		set   func(*Rule, string) error
	}{
		{"exposure", setExposure}, {"direction", setDirection}, {"min_amount", setMinAmount},
		{"min_share", setMinShare}, {"min_hops", setMinHops}, {"max_hops", setMaxHops},
	} {
		if v, ok := fields[f.field]; ok {
			if err := f.set(&r, scalar(v)); err != nil {
				return fail(v, err)
			}
		}
	}
	if r.MaxHops > 0 && r.MinHops > r.MaxHops {
		return fail(fields["min_hops"], fmt.Errorf("%w: min_hops %d is above max_hops %d", ErrBadValue, r.MinHops, r.MaxHops))
	}
	if r.Exposure == Direct && r.indirectOnly() {
		return fail(n, fmt.Errorf("%w: min_amount, min_share, min_hops, max_hops and direction concern indirect exposure; this rule has exposure: direct", ErrBadValue))
	}
	return r, nil
}

// ruleFieldsOf returns a rule mapping's fields by name: known, and each
// once.
func ruleFieldsOf(n *yaml.Node) (map[string]*yaml.Node, *ParseError) {
	if n.Kind != yaml.MappingNode {
		return nil, &ParseError{Line: n.Line, Err: fmt.Errorf("%w: a rule must be a mapping", ErrMalformed)}
	}
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !strings.Contains(", "+ruleFields+",", ", "+k.Value+",") {
			return nil, &ParseError{Line: k.Line, Err: fmt.Errorf("%w %q (want %s)", ErrUnknownField, k.Value, ruleFields)}
		}
		if _, dup := fields[k.Value]; dup {
			return nil, &ParseError{Line: k.Line, Err: fmt.Errorf("%w: %s given twice", ErrBadValue, k.Value)}
		}
		fields[k.Value] = n.Content[i+1]
	}
	return fields, nil
}

// ruleCategories reads a rule's category: a name or a non-empty list of
// known ones.
func ruleCategories(cat *yaml.Node) ([]string, error) {
	var cats []*yaml.Node
	switch cat.Kind {
	case yaml.ScalarNode:
		cats = []*yaml.Node{cat}
	case yaml.SequenceNode:
		cats = cat.Content
	}
	if len(cats) == 0 {
		return nil, fmt.Errorf("%w: category must be a name or a non-empty list", ErrBadValue)
	}
	var out []string
	for _, c := range cats {
		s := normalize(scalar(c))
		if c.Kind != yaml.ScalarNode || !knownCategory(s) {
			return nil, fmt.Errorf("%w: unknown category %q (sanctioned, any, or a tag category or abuse kind such as mixing_service, market, ransomware, scam, hack, exchange)", ErrBadValue, scalar(c))
		}
		out = append(out, s)
	}
	return out, nil
}

func setExposure(r *Rule, v string) error {
	switch r.Exposure = strings.ToLower(strings.TrimSpace(v)); r.Exposure {
	case Direct, Indirect, Any:
		return nil
	}
	return fmt.Errorf("%w: exposure %q (want direct, indirect or any)", ErrBadValue, v)
}

func setDirection(r *Rule, v string) error {
	switch r.Direction = strings.ToLower(strings.TrimSpace(v)); r.Direction {
	case Received, Sent, Any:
		return nil
	}
	return fmt.Errorf("%w: direction %q (want received, sent or any)", ErrBadValue, v)
}

func setMinAmount(r *Rule, v string) (err error) {
	if r.MinAmount, err = parseAmount(v); err != nil {
		return fmt.Errorf("%w: min_amount %q: %v", ErrBadValue, v, err)
	}
	return nil
}

func setMinShare(r *Rule, v string) (err error) {
	if r.MinShare, err = parseShare(v); err != nil {
		return fmt.Errorf("%w: min_share %q: %v", ErrBadValue, v, err)
	}
	return nil
}

func setMinHops(r *Rule, v string) (err error) {
	r.MinHops, err = parseHops("min_hops", v)
	return err
}

func setMaxHops(r *Rule, v string) (err error) {
	r.MaxHops, err = parseHops("max_hops", v)
	return err
}

// parseHops reads a hop bound: a whole number of at least 1.
func parseHops(field, v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%w: %s %q: want a whole number of at least 1", ErrBadValue, field, v)
	}
	return n, nil
}

// knownCategory accepts sanctioned, any, the screen's risk categories and
// the tag vocabulary of sanctions/tags.
func knownCategory(c string) bool {
	switch c {
	case CategorySanctioned, Any, "hack", "csam", "terrorism", "market", "mixing_service":
		return true
	}
	return tags.KnownCategory(c) || tags.KnownAbuse(c)
}

// parseAmount reads satoshi ("100000") or bitcoin ("0.5 BTC").
func parseAmount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if b, ok := strings.CutSuffix(strings.ToUpper(s), "BTC"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if err != nil || f < 0 || f > 21e6 || math.IsNaN(f) {
			return 0, fmt.Errorf("want satoshi or a bitcoin amount such as 0.5 BTC")
		}
		return int64(math.Round(f * 1e8)), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > 21e6*1e8 {
		return 0, fmt.Errorf("want satoshi (a whole number) or a bitcoin amount such as 0.5 BTC")
	}
	return n, nil
}

// parseShare reads a fraction ("0.01") or a percentage ("1%").
func parseShare(s string) (float64, error) {
	s = strings.TrimSpace(s)
	div := 1.0
	if p, ok := strings.CutSuffix(s, "%"); ok {
		s, div = strings.TrimSpace(p), 100
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, fmt.Errorf("want a fraction (0.01) or a percentage (1%%)")
	}
	f /= div
	if f < 0 || f > 1 {
		return 0, fmt.Errorf("a share lies between 0 and 1 (0%% and 100%%)")
	}
	return f, nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return ""
	}
	return n.Value
}
