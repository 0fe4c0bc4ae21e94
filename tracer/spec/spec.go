package spec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/seedsel"
	"github.com/tracer-oss/tracer/tracer/taint"
)

// The defaults, stated once: every front end starts from Default().
const (
	DefaultDirection = "forward"
	DefaultModel     = "haircut"
	DefaultMaxHops   = tracer.DefaultMaxHops // 50
	DefaultMinValue  = 546                   // satoshi: Bitcoin Core's dust limit for P2PKH
	DefaultMaxTxs    = 1_000_000
	DefaultWide      = 1000
	DefaultStop      = "exchange"
)

// Cluster settings.
const (
	ClustersAuto = ""    // on when the store has clusters
	ClustersOn   = "on"  // required: refused on a store without clusters
	ClustersOff  = "off" // direct tags only
)

// CategorySanctioned is the category of sanctioned addresses: backward
// traces and screening stop at them.
const CategorySanctioned = "sanctioned"

// Spec is one trace. Its JSON form is recorded with every job (job.json)
// and fingerprints it, so fields only ever get added, with omitempty.
type Spec struct {
	Seeds       seedsel.Selection `json:"seeds"`
	Direction   string            `json:"direction"` // forward | backward
	Model       string            `json:"model"`
	FeesTainted bool              `json:"fees_tainted"`
	MaxHops     int               `json:"max_hops"`
	MinValue    int64             `json:"min_value_sat"`
	SinceHeight int32             `json:"since_height"` // 0: no bound
	UntilHeight int32             `json:"until_height"` // 0: no bound
	MaxTxs      int               `json:"max_txs"`
	WideOutputs int               `json:"wide_outputs"`
	Stop        []string          `json:"stop_categories"`
	// SinceDate and UntilDate (YYYY-MM-DD, UTC) are bounds given as dates,
	// resolved to the first block at or after them when the trace runs.
	SinceDate    string `json:"since_date,omitempty"`
	UntilDate    string `json:"until_date,omitempty"`
	Clusters     string `json:"clusters,omitempty"` // ClustersAuto, ClustersOn or ClustersOff
	LabelAllTags bool   `json:"label_all_tags,omitempty"`
}

// Default returns a Spec with every default and no seeds.
func Default() Spec {
	return Spec{Direction: DefaultDirection, Model: DefaultModel, MaxHops: DefaultMaxHops, MinValue: DefaultMinValue,
		MaxTxs: DefaultMaxTxs, WideOutputs: DefaultWide, Stop: []string{DefaultStop}}
}

// Key describes one setting.
type Key struct {
	Name    string // job file and query parameter name; CLI flags use '-' for '_'
	Help    string
	Default string // as shown in help
	Multi   bool   // may be given several times (or as a list)
	Bool    bool
}

// Flag is the CLI flag name of a key.
func (k Key) Flag() string { return strings.ReplaceAll(k.Name, "_", "-") }

// Keys are the settings Set accepts, in the order help lists them.
var Keys = []Key{
	{Name: "direction", Help: "`DIRECTION`: forward (where did it go) or backward (where did it come from)", Default: DefaultDirection},
	{Name: "model", Help: "taint `MODEL`: poison, haircut, fifo, lifo, tiho", Default: DefaultModel},
	{Name: "fees_tainted", Help: "pay fees from tainted value first", Default: "false", Bool: true},
	{Name: "max_hops", Help: "follow at most `N` transactions from a seed (a direct payment is 1 hop)", Default: strconv.Itoa(DefaultMaxHops)},
	{Name: "min_value", Help: "dust: do not follow tainted amounts below this many `SAT`", Default: strconv.Itoa(DefaultMinValue)},
	{Name: "since", Help: "only seed outputs received at or after this `HEIGHT or YYYY-MM-DD`", Default: "none"},
	{Name: "until", Help: "do not follow transactions after this `HEIGHT or YYYY-MM-DD`", Default: "none"},
	{Name: "max_txs", Help: "stop after visiting `N` transactions (the result is marked partial)", Default: strconv.Itoa(DefaultMaxTxs)},
	{Name: "wide", Help: "do not follow through transactions with more than `N` outputs (batch payouts)", Default: strconv.Itoa(DefaultWide)},
	{Name: "stop", Help: "tag `CATEGORY` that ends a branch as a hit (repeatable; none: no stop)", Default: DefaultStop, Multi: true},
	{Name: "cluster", Help: "use cluster labels (false: direct tags only)", Default: "on when tracer cluster has run", Bool: true},
	{Name: "label_all_tags", Help: "with clusters, let every exchange tag label its cluster, not only cluster definers", Default: "false", Bool: true},
}

// SeedKeys are the seed settings SetSeed accepts.
var SeedKeys = []string{"addresses", "file", "entity", "program", "profile", "tag_category", "tag_pack"}

// KeyNames lists the names of Keys.
func KeyNames() []string {
	out := make([]string, len(Keys))
	for i, k := range Keys {
		out[i] = k.Name
	}
	return out
}

func keyOf(name string) (Key, bool) {
	for _, k := range Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// Normalize maps a key as given (a CLI flag, max-hops) to its name (max_hops).
func Normalize(key string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(key)), "-", "_")
}

// Set decodes one setting. Keys with Multi take every value (each may also
// be a comma-separated list); the others exactly one. It is the one decoder
// behind CLI flags, job files and query parameters.
func (s *Spec) Set(key string, values ...string) error {
	key = Normalize(key)
	k, ok := keyOf(key)
	if !ok {
		return &FieldError{Key: key, Msg: "unknown setting (known: " + strings.Join(append(KeyNames(), SeedKeys...), ", ") + ")"}
	}
	if !k.Multi && len(values) != 1 {
		return &FieldError{Key: key, Msg: "give one value, not " + strconv.Itoa(len(values))}
	}
	v := ""
	if len(values) > 0 {
		v = strings.TrimSpace(values[0])
	}
	switch key {
	case "direction":
		if v != "forward" && v != "backward" {
			return badValue(key, v, "want forward or backward")
		}
		s.Direction = v
	case "model":
		return s.setModel(key, v)
	case "fees_tainted", "label_all_tags", "cluster":
		return s.setSwitch(key, v)
	case "max_hops", "max_txs", "wide":
		return s.setLimit(key, v)
	case "min_value":
		return s.setMinValue(key, v)
	case "since", "until":
		return s.setBound(key, v)
	case "stop":
		cats, err := parseStops(key, values)
		if err != nil {
			return err
		}
		s.Stop = cats
	}
	return nil
}

// badValue is the error for value v of key, saying what was wanted.
func badValue(key, v, msg string) error {
	return &FieldError{Key: key, Value: v, Msg: fmt.Sprintf("%s, not %q", msg, v)}
}

// setModel sets the taint model, by any name taint.Parse knows.
func (s *Spec) setModel(key, v string) error {
	m, err := taint.Parse(v)
	if err != nil {
		return &FieldError{Key: key, Value: v, Msg: fmt.Sprintf("unknown model %q (one of poison, haircut, fifo, lifo, tiho)", v)}
	}
	s.Model = m.String()
	return nil
}

// setSwitch sets a true/false key; cluster also takes auto.
func (s *Spec) setSwitch(key, v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		if key == "cluster" && v == "auto" {
			s.Clusters = ClustersAuto
			return nil
		}
		return badValue(key, v, "want true or false")
	}
	switch key {
	case "fees_tainted":
		s.FeesTainted = b
	case "label_all_tags":
		s.LabelAllTags = b
	default:
		s.Clusters = map[bool]string{true: ClustersOn, false: ClustersOff}[b]
	}
	return nil
}

// setMinValue sets the smallest amount followed, in satoshi.
func (s *Spec) setMinValue(key, v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return badValue(key, v, "want satoshi (a whole number, 0 or more)")
	}
	s.MinValue = max(n, 1) // 0 means "follow everything": one satoshi
	return nil
}

// setBound sets since or until: a block height or a date.
func (s *Spec) setBound(key, v string) error {
	h, date, err := parseBound(v)
	if err != nil {
		return badValue(key, v, "want a block height or a date YYYY-MM-DD")
	}
	if key == "since" {
		s.SinceHeight, s.SinceDate = h, date
	} else {
		s.UntilHeight, s.UntilDate = h, date
	}
	return nil
}

// setLimit sets a key that takes a positive count.
func (s *Spec) setLimit(key, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return badValue(key, v, "want a positive whole number")
	}
	switch key {
	case "max_hops":
		s.MaxHops = n
	case "max_txs":
		s.MaxTxs = n
	default:
		s.WideOutputs = n
	}
	return nil
}

// parseStops reads stop categories, each value a comma-separated list, into
// a list without repeats; "none" adds nothing (so none alone stops nowhere:
// an empty, not a nil, list).
func parseStops(key string, values []string) ([]string, error) {
	cats := []string{}
	for _, val := range values {
		for _, c := range strings.Split(val, ",") {
			c = tags.NormalizeCategory(c)
			if c == "" {
				return nil, &FieldError{Key: key, Value: val, Msg: "empty category"}
			}
			if c == "none" {
				continue
			}
			if !KnownStop(c) {
				return nil, &FieldError{Key: key, Value: c, Msg: fmt.Sprintf("unknown category %q (known: %s)", c, strings.Join(StopCategories(), ", "))}
			}
			if !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
		}
	}
	return cats, nil
}

// parseBound parses a height or a UTC date.
func parseBound(v string) (int32, string, error) {
	if h, err := strconv.ParseInt(v, 10, 32); err == nil && h >= 0 {
		return int32(h), "", nil
	}
	if _, err := time.Parse("2006-01-02", v); err != nil {
		return 0, "", err
	}
	return 0, v, nil
}

// splitList is the non-empty items of values, each a comma-separated list.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
		}
	}
	return out
}

// SetSeed decodes one seed setting (see SeedKeys; "seed" is taken for
// "addresses", "seeds" for "file").
func (s *Spec) SetSeed(key string, values ...string) error {
	key = Normalize(key)
	switch key {
	case "seed":
		key = "addresses"
	case "seeds":
		key = "file"
	}
	if !slices.Contains(SeedKeys, key) {
		return &FieldError{Key: key, Msg: "unknown seed setting (known: " + strings.Join(SeedKeys, ", ") + ")"}
	}
	if key == "addresses" {
		s.Seeds.Addresses = append(s.Seeds.Addresses, splitList(values)...)
		return nil
	}
	if len(values) != 1 {
		return &FieldError{Key: key, Msg: "give one value, not " + strconv.Itoa(len(values))}
	}
	v := strings.TrimSpace(values[0])
	if v == "" {
		return &FieldError{Key: key, Msg: "want a non-empty value"}
	}
	switch key {
	case "file":
		s.Seeds.File = v
	case "entity":
		s.Seeds.Entity = v
	case "program":
		s.Seeds.Program = v
	case "profile":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return &FieldError{Key: key, Value: v, Msg: fmt.Sprintf("want an SDN profile id, not %q", v)}
		}
		s.Seeds.Profile = n
	case "tag_category":
		s.Seeds.TagCategory = v
	case "tag_pack":
		s.Seeds.TagPack = v
	}
	return nil
}

// Validate checks what no single setting can: the window's order, the
// cluster options together, and the limits of a Spec built in code.
func (s *Spec) Validate() error {
	for _, check := range []func() error{s.validateModel, s.validateLimits, s.validateClusters, s.validateWindow} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateModel checks the direction and that the model runs that way.
func (s *Spec) validateModel() error {
	if s.Direction != "forward" && s.Direction != "backward" {
		return &FieldError{Key: "direction", Value: s.Direction, Msg: fmt.Sprintf("want forward or backward, not %q", s.Direction)}
	}
	if _, err := taint.Parse(s.Model); err != nil {
		return &FieldError{Key: "model", Value: s.Model, Msg: fmt.Sprintf("unknown model %q (one of poison, haircut, fifo, lifo, tiho)", s.Model)}
	}
	if s.Direction == "backward" && s.Model != "haircut" && s.Model != "poison" {
		return &FieldError{Key: "model", Value: s.Model, Msg: fmt.Sprintf("a backward trace supports haircut and poison, not %s", s.Model)}
	}
	return nil
}

// validateLimits checks the limits and stop categories of a Spec built in
// code (Set checks them one by one).
func (s *Spec) validateLimits() error {
	if s.MaxHops <= 0 || s.MaxTxs <= 0 || s.WideOutputs <= 0 || s.MinValue < 0 {
		return &FieldError{Key: "limits", Msg: "max_hops, max_txs and wide must be positive, min_value not negative"}
	}
	for _, c := range s.Stop {
		if !KnownStop(c) {
			return &FieldError{Key: "stop", Value: c, Msg: fmt.Sprintf("unknown category %q (known: %s)", c, strings.Join(StopCategories(), ", "))}
		}
	}
	return nil
}

// validateClusters checks the cluster options together.
func (s *Spec) validateClusters() error {
	if s.Clusters != ClustersAuto && s.Clusters != ClustersOn && s.Clusters != ClustersOff {
		return &FieldError{Key: "cluster", Value: s.Clusters, Msg: fmt.Sprintf("want on, off or auto, not %q", s.Clusters)}
	}
	if s.LabelAllTags && s.Clusters == ClustersOff {
		return &FieldError{Key: "label_all_tags", Msg: "needs cluster labels, which cluster=false turns off"}
	}
	return nil
}

// validateWindow checks that since is not after until, in heights or dates.
func (s *Spec) validateWindow() error {
	if s.SinceHeight > 0 && s.UntilHeight > 0 && s.SinceHeight > s.UntilHeight {
		return &FieldError{Key: "since", Value: strconv.Itoa(int(s.SinceHeight)),
			Msg: fmt.Sprintf("%d is after until %d: nothing can be traced in that window", s.SinceHeight, s.UntilHeight)}
	}
	if s.SinceDate != "" && s.UntilDate != "" && s.SinceDate > s.UntilDate {
		return &FieldError{Key: "since", Value: s.SinceDate, Msg: fmt.Sprintf("%s is after until %s: nothing can be traced in that window", s.SinceDate, s.UntilDate)}
	}
	return nil
}

// KnownStop reports whether c may be a stop category: a GraphSense
// category or abuse kind, or sanctioned.
func KnownStop(c string) bool {
	return c == CategorySanctioned || tags.KnownCategory(c) || tags.KnownAbuse(c)
}

// StopCategories lists the known stop categories, sorted.
func StopCategories() []string {
	out := append(tags.Categories(), tags.Abuses()...)
	out = append(out, CategorySanctioned)
	slices.Sort(out)
	return slices.Compact(out)
}
