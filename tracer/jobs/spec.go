package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"gopkg.in/yaml.v3"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/tracer/seedsel"
	"github.com/tracer-oss/tracer/tracer/spec"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// Job is one trace of a batch: a name and a trace specification, every
// default filled in. Its JSON form is written to the job's folder as
// job.json and, with the data versions, fingerprints the job's output.
type Job struct {
	Name string `json:"name"`
	spec.Spec
	Line int `json:"-"` // where the job (or its matrix) is in the job file
}

// defaultJob holds the defaults of every trace (spec.Default).
func defaultJob() Job {
	return Job{Spec: spec.Default()}
}

// Plan is a parsed job file: its jobs in file order (traces, then each
// matrix expanded seeds × models × hop limits).
type Plan struct {
	File string
	Jobs []Job
}

// Check validates every job's specification against the store (dates in
// since and until resolve to heights only there): a ParseError naming the
// job's line and field, as for any other bad value.
func (p *Plan) Check(r *spec.Runner) error {
	for _, j := range p.Jobs {
		if err := r.Check(j.Spec); err != nil {
			var fe *spec.FieldError
			if errors.As(err, &fe) {
				return &ParseError{File: p.File, Line: j.Line, Job: j.Name, Field: fe.Key, Err: fmt.Errorf("%w: %s", ErrBadValue, fe.Msg)}
			}
			return err
		}
	}
	return nil
}

// maxFileSize bounds a job file: it is read whole.
const maxFileSize = 16 << 20

// ParseFile reads and parses a job file; relative seed files are found
// next to it. params is the store's network, against which addresses are
// checked.
func ParseFile(ctx context.Context, path string, params *chaincfg.Params) (*Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxFileSize+1)); err != nil {
		return nil, fmt.Errorf("jobs: read %s: %w", path, err)
	}
	if buf.Len() > maxFileSize {
		return nil, &ParseError{File: path, Err: fmt.Errorf("%w: larger than %d bytes", ErrMalformed, maxFileSize)}
	}
	return Parse(ctx, buf.Bytes(), path, filepath.Dir(path), params)
}

// Parse parses a job file's contents; name is used in errors, dir is where
// relative seed files are.
func Parse(ctx context.Context, data []byte, name, dir string, params *chaincfg.Params) (*Plan, error) {
	p := &parser{file: name, dir: dir, params: params, names: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ParseError{File: name, Line: yamlErrLine(err), Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
	}
	if len(doc.Content) == 0 {
		return nil, &ParseError{File: name, Err: fmt.Errorf("%w: no traces (want traces: or matrix:)", ErrMissingField)}
	}
	top, err := p.mapping(doc.Content[0], "", "", map[string]bool{"version": true, "defaults": true, "traces": true, "matrix": true})
	if err != nil {
		return nil, err
	}
	base, err := p.defaults(top)
	if err != nil {
		return nil, err
	}
	plan := &Plan{File: name}
	if plan.Jobs, err = p.traces(ctx, top, base); err != nil {
		return nil, err
	}
	if mx, ok := top["matrix"]; ok {
		items := []*yaml.Node{mx}
		if mx.Kind == yaml.SequenceNode {
			items = mx.Content
		}
		for i, item := range items {
			js, err := p.matrix(item, base, i)
			if err != nil {
				return nil, err
			}
			plan.Jobs = append(plan.Jobs, js...)
		}
	}
	if len(plan.Jobs) == 0 {
		return nil, &ParseError{File: name, Line: doc.Content[0].Line, Err: fmt.Errorf("%w: no traces (want traces: or matrix:)", ErrMissingField)}
	}
	return plan, nil
}

// defaults checks the file's version (1 when given) and returns the base
// job: the built-in defaults with the file's defaults: applied.
func (p *parser) defaults(top map[string]*yaml.Node) (Job, error) {
	base := defaultJob()
	if v, ok := top["version"]; ok {
		var n int
		if err := v.Decode(&n); err != nil || n != 1 {
			return base, p.errf(v, "", "version", ErrBadValue, "want 1")
		}
	}
	if d, ok := top["defaults"]; ok {
		m, err := p.mapping(d, "", "defaults", optionKeys)
		if err != nil {
			return base, err
		}
		if err := p.options(&base, m, "defaults"); err != nil {
			return base, err
		}
	}
	return base, nil
}

// traces reads the list under traces: (none: no jobs), each on the
// defaults base.
func (p *parser) traces(ctx context.Context, top map[string]*yaml.Node, base Job) ([]Job, error) {
	t, ok := top["traces"]
	if !ok {
		return nil, nil
	}
	if t.Kind != yaml.SequenceNode {
		return nil, p.errf(t, "", "traces", ErrMalformed, "want a list of traces")
	}
	var jobs []Job
	for i, item := range t.Content {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		j, err := p.trace(item, base, i)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// yamlErrLine pulls the line out of a yaml.v3 syntax error ("yaml: line 3: ...").
func yamlErrLine(err error) int {
	var n int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		if _, err := fmt.Sscanf(msg[i+5:], "%d", &n); err != nil {
			return 0
		}
	}
	return n
}

type parser struct {
	file   string
	dir    string
	params *chaincfg.Params
	names  map[string]int // job name → line
}

func (p *parser) errf(n *yaml.Node, job, field string, sentinel error, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	msg := fmt.Sprintf(format, args...)
	if msg == "" {
		return &ParseError{File: p.file, Line: line, Job: job, Field: field, Err: sentinel}
	}
	return &ParseError{File: p.file, Line: line, Job: job, Field: field, Err: fmt.Errorf("%w: %s", sentinel, msg)}
}

// mapping returns a mapping node's values by key, rejecting keys not in
// allowed and duplicates.
func (p *parser) mapping(n *yaml.Node, job, field string, allowed map[string]bool) (map[string]*yaml.Node, error) {
	if n.Kind != yaml.MappingNode {
		what := field
		if what == "" {
			what = "the file"
		}
		return nil, p.errf(n, job, field, ErrMalformed, "want a mapping (key: value) for %s", what)
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		path := name
		if field != "" {
			path = field + "." + name
		}
		if !allowed[name] {
			return nil, p.errf(k, job, path, ErrUnknownField, "")
		}
		if _, dup := out[name]; dup {
			return nil, p.errf(k, job, path, ErrMalformed, "given twice")
		}
		out[name] = v
	}
	return out, nil
}

// peek returns the value of key in mapping n, nil if absent.
func peek(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// optionKeys are the trace options a default, a trace or a matrix may set:
// the keys of a trace specification.
var optionKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range spec.KeyNames() {
		m[k] = true
	}
	return m
}()

var seedKeys = map[string]bool{"addresses": true, "file": true, "entity": true, "program": true, "profile": true, "tag_category": true, "tag_pack": true}

func with(m map[string]bool, keys ...string) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	for _, k := range keys {
		out[k] = true
	}
	return out
}

func without(m map[string]bool, keys ...string) map[string]bool {
	out := with(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// options applies the option fields of m to j, in the order of spec.Keys.
func (p *parser) options(j *Job, m map[string]*yaml.Node, job string) error {
	for _, key := range spec.KeyNames() {
		v, ok := m[key]
		if !ok {
			continue
		}
		if err := p.option(j, key, v, job); err != nil {
			return err
		}
	}
	return nil
}

// option decodes one setting with the decoder every front end uses.
func (p *parser) option(j *Job, key string, v *yaml.Node, job string) error {
	var vals []string
	switch v.Kind {
	case yaml.ScalarNode:
		vals = []string{v.Value}
	case yaml.SequenceNode:
		for _, it := range v.Content {
			if it.Kind != yaml.ScalarNode {
				return p.errf(it, job, key, ErrBadValue, "want a value, not a %s", kindName(it))
			}
			vals = append(vals, it.Value)
		}
	default:
		return p.errf(v, job, key, ErrBadValue, "want a value, not a %s", kindName(v))
	}
	if err := j.Set(key, vals...); err != nil {
		var fe *spec.FieldError
		if errors.As(err, &fe) {
			return p.errf(v, job, key, ErrBadValue, "%s", fe.Msg)
		}
		return p.errf(v, job, key, ErrBadValue, "%v", err)
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$`)

func (p *parser) name(n *yaml.Node, job, field string) (string, error) {
	if n.Kind != yaml.ScalarNode || !nameRE.MatchString(n.Value) {
		return "", p.errf(n, job, field, ErrBadValue, "%q: names are letters, digits, '.', '_' and '-' (they name folders)", n.Value)
	}
	return n.Value, nil
}

// reserved are the output folder's own files, which no job folder may shadow.
var reserved = map[string]bool{ManifestFile: true, SummaryCSVFile: true, SummaryJSONFile: true}

func (p *parser) claim(n *yaml.Node, name string) error {
	key := strings.ToLower(name) // folders of names differing in case collide on macOS and Windows
	if reserved[key] {
		return p.errf(n, name, "name", ErrBadValue, "%s is a file of the output folder", name)
	}
	if line, dup := p.names[key]; dup {
		return p.errf(n, name, "name", ErrBadValue, "a second job of this name (the first is at line %d; names are compared ignoring case)", line)
	}
	p.names[key] = n.Line
	return nil
}

func (p *parser) trace(item *yaml.Node, base Job, i int) (Job, error) {
	where := fmt.Sprintf("traces[%d]", i)
	job, prefix := "", where
	if n := peek(item, "name"); n != nil && nameRE.MatchString(n.Value) {
		job, prefix = n.Value, "" // errors name the job rather than its index
	}
	m, err := p.mapping(item, job, prefix, with(optionKeys, "name", "seeds"))
	if err != nil {
		return Job{}, err
	}
	nn, ok := m["name"]
	if !ok {
		return Job{}, p.errf(item, "", where+".name", ErrMissingField, "")
	}
	name, err := p.name(nn, "", where+".name")
	if err != nil {
		return Job{}, err
	}
	if err := p.claim(nn, name); err != nil {
		return Job{}, err
	}
	j := base
	j.Name, j.Line = name, item.Line
	if err := p.options(&j, m, name); err != nil {
		return Job{}, err
	}
	sn, ok := m["seeds"]
	if !ok {
		return Job{}, p.errf(item, name, "seeds", ErrMissingField, "")
	}
	sm, err := p.mapping(sn, name, "seeds", seedKeys)
	if err != nil {
		return Job{}, err
	}
	if j.Seeds, err = p.seeds(sn, sm, name, "seeds"); err != nil {
		return Job{}, err
	}
	return j, nil
}

// seedAddresses reads addresses: one or a list, each checked against the
// network when the parser knows it.
func (p *parser) seedAddresses(v *yaml.Node, job, field string) ([]string, error) {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	var out []string
	for i, a := range items {
		f := fmt.Sprintf("%s.addresses[%d]", field, i)
		if a.Kind != yaml.ScalarNode {
			return nil, p.errf(a, job, f, ErrBadValue, "want an address")
		}
		if p.params != nil {
			if _, err := address.Parse(a.Value, p.params); err != nil {
				return nil, p.errf(a, job, f, ErrBadValue, "%s", address.Problem(err))
			}
		}
		out = append(out, a.Value)
	}
	return out, nil
}

// seeds parses a seed selection.
func (p *parser) seeds(n *yaml.Node, m map[string]*yaml.Node, job, field string) (seedsel.Selection, error) {
	sel := seedsel.Selection{AddressSource: "job file"}
	var err error
	str := func(key string, dst *string) error {
		v, ok := m[key]
		if !ok {
			return nil
		}
		if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) == "" {
			return p.errf(v, job, field+"."+key, ErrBadValue, "want a non-empty string")
		}
		*dst = strings.TrimSpace(v.Value)
		return nil
	}
	for key, dst := range map[string]*string{"entity": &sel.Entity, "program": &sel.Program, "tag_category": &sel.TagCategory, "tag_pack": &sel.TagPack, "file": &sel.File} {
		if err := str(key, dst); err != nil {
			return sel, err
		}
	}
	if v, ok := m["profile"]; ok {
		if v.Kind != yaml.ScalarNode || v.Decode(&sel.Profile) != nil || sel.Profile <= 0 {
			return sel, p.errf(v, job, field+".profile", ErrBadValue, "want an SDN profile id, not %q", v.Value)
		}
	}
	if v, ok := m["addresses"]; ok {
		if sel.Addresses, err = p.seedAddresses(v, job, field); err != nil {
			return sel, err
		}
	}
	if sel.File != "" {
		// The file's hash goes in the job's fingerprint: an edited seed
		// file makes its finished jobs stale.
		path := sel.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(p.dir, path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return sel, p.errf(m["file"], job, field+".file", ErrBadValue, "%v", err)
		}
		sum := sha256.Sum256(data)
		sel.Dir, sel.FileSHA256 = p.dir, hex.EncodeToString(sum[:])
	}
	if sel.Empty() {
		return sel, p.errf(n, job, field, ErrMissingField, "no seeds: give addresses, file, entity, program, profile, tag_category or tag_pack")
	}
	return sel, nil
}

func (p *parser) matrix(item *yaml.Node, base Job, i int) ([]Job, error) {
	where := fmt.Sprintf("matrix[%d]", i)
	if n := peek(item, "name"); n != nil && nameRE.MatchString(n.Value) {
		where = n.Value
	}
	m, err := p.mapping(item, where, "", with(without(optionKeys, "model"), "name", "seeds", "models"))
	if err != nil {
		return nil, err
	}
	prefix := ""
	if nn, ok := m["name"]; ok {
		if prefix, err = p.name(nn, "", where+".name"); err != nil {
			return nil, err
		}
		where = prefix
	}
	mb := base
	mb.Line = item.Line
	hops, hopsAxis, err := p.hopsAxis(m, where)
	if err != nil {
		return nil, err
	}
	if err := p.options(&mb, m, where); err != nil {
		return nil, err
	}
	models, err := p.modelsAxis(m, where, mb.Model)
	if err != nil {
		return nil, err
	}
	sets, err := p.seedSets(item, m, where)
	if err != nil {
		return nil, err
	}
	// One job per seed set, model and hop limit, named after them.
	var out []Job
	for _, s := range sets {
		for _, md := range models {
			for _, h := range hops {
				j := mb
				j.Seeds, j.Model = s.sel, md
				parts := []string{s.name, md}
				if prefix != "" {
					parts = append([]string{prefix}, parts...)
				}
				if hopsAxis {
					j.MaxHops = h
					parts = append(parts, fmt.Sprintf("h%d", h))
				}
				j.Name = strings.Join(parts, "-")
				if err := p.claim(s.node, j.Name); err != nil {
					return nil, err
				}
				out = append(out, j)
			}
		}
	}
	return out, nil
}

// hopsAxis reads a matrix's max_hops when it is a list (an axis of the
// matrix; it is then removed from m) — else hops is [0], the one value
// left to options.
func (p *parser) hopsAxis(m map[string]*yaml.Node, where string) (hops []int, axis bool, err error) {
	hn, ok := m["max_hops"]
	if !ok || hn.Kind != yaml.SequenceNode {
		return []int{0}, false, nil
	}
	delete(m, "max_hops")
	for _, h := range hn.Content {
		var n int
		if h.Kind != yaml.ScalarNode || h.Decode(&n) != nil || n <= 0 {
			return nil, false, p.errf(h, where, "max_hops", ErrBadValue, "want a positive whole number, not %q", h.Value)
		}
		hops = append(hops, n)
	}
	if len(hops) == 0 {
		return nil, false, p.errf(hn, where, "max_hops", ErrMissingField, "empty list")
	}
	return hops, true, nil
}

// modelsAxis reads a matrix's models (one or a list); without them, the
// one model def.
func (p *parser) modelsAxis(m map[string]*yaml.Node, where, def string) ([]string, error) {
	mn, ok := m["models"]
	if !ok {
		return []string{def}, nil
	}
	var models []string
	items := []*yaml.Node{mn}
	if mn.Kind == yaml.SequenceNode {
		items = mn.Content
	}
	for _, v := range items {
		md, err := taint.Parse(v.Value)
		if err != nil || v.Kind != yaml.ScalarNode {
			return nil, p.errf(v, where, "models", ErrBadValue, "unknown model %q (one of poison, haircut, fifo, lifo, tiho)", v.Value)
		}
		models = append(models, md.String())
	}
	if len(models) == 0 {
		return nil, p.errf(mn, where, "models", ErrMissingField, "empty list")
	}
	return models, nil
}

// seedSet is one named seed set of a matrix.
type seedSet struct {
	name string
	node *yaml.Node
	sel  seedsel.Selection
}

// seedSets reads a matrix's seeds: a list of named seed sets.
func (p *parser) seedSets(item *yaml.Node, m map[string]*yaml.Node, where string) ([]seedSet, error) {
	sn, ok := m["seeds"]
	if !ok {
		return nil, p.errf(item, where, "seeds", ErrMissingField, "")
	}
	if sn.Kind != yaml.SequenceNode || len(sn.Content) == 0 {
		return nil, p.errf(sn, where, "seeds", ErrMalformed, "want a list of named seed sets")
	}
	var sets []seedSet
	for k, s := range sn.Content {
		f := fmt.Sprintf("seeds[%d]", k)
		sm, err := p.mapping(s, where, f, with(seedKeys, "name"))
		if err != nil {
			return nil, err
		}
		nn, ok := sm["name"]
		if !ok {
			return nil, p.errf(s, where, f+".name", ErrMissingField, "each seed set of a matrix names its jobs")
		}
		name, err := p.name(nn, where, f+".name")
		if err != nil {
			return nil, err
		}
		delete(sm, "name")
		sel, err := p.seeds(s, sm, where, f)
		if err != nil {
			return nil, err
		}
		sets = append(sets, seedSet{name, nn, sel})
	}
	return sets, nil
}
