package spec_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tracer-oss/tracer/tracer/spec"
)

func TestDefault(t *testing.T) {
	s := spec.Default()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.Direction != "forward" || s.Model != "haircut" || s.MaxHops != 50 || s.MinValue != 546 || s.MaxTxs != 1_000_000 ||
		s.WideOutputs != 1000 || len(s.Stop) != 1 || s.Stop[0] != "exchange" || s.Clusters != spec.ClustersAuto {
		t.Fatalf("defaults: %+v", s)
	}
	// The help table states the same defaults.
	for _, k := range spec.Keys {
		if k.Name == "max_hops" && k.Default != "50" || k.Name == "stop" && k.Default != "exchange" {
			t.Errorf("key %s shows default %q", k.Name, k.Default)
		}
	}
}

// TestSet decodes every key, as a flag name or a key, good and bad.
func TestSet(t *testing.T) {
	for _, tc := range []struct {
		key    string
		values []string
		check  func(s spec.Spec) bool
		errHas string // "" : must succeed
	}{
		{"direction", []string{"backward"}, func(s spec.Spec) bool { return s.Direction == "backward" }, ""},
		{"direction", []string{"sideways"}, nil, `not "sideways"`},
		{"model", []string{"proportional"}, func(s spec.Spec) bool { return s.Model == "haircut" }, ""},
		{"model", []string{"FIFO"}, func(s spec.Spec) bool { return s.Model == "fifo" }, ""},
		{"model", []string{"heuristic"}, nil, `unknown model "heuristic"`},
		{"fees-tainted", []string{"true"}, func(s spec.Spec) bool { return s.FeesTainted }, ""},
		{"fees_tainted", []string{"yes"}, nil, "true or false"},
		{"max-hops", []string{"7"}, func(s spec.Spec) bool { return s.MaxHops == 7 }, ""},
		{"max_hops", []string{"0"}, nil, "positive"},
		{"max_hops", []string{"-3"}, nil, "positive"},
		{"max_hops", []string{"1e3"}, nil, "positive"},
		{"max_hops", []string{"1", "2"}, nil, "one value"},
		{"max_txs", []string{"99"}, func(s spec.Spec) bool { return s.MaxTxs == 99 }, ""},
		{"wide", []string{"5"}, func(s spec.Spec) bool { return s.WideOutputs == 5 }, ""},
		{"min_value", []string{"0"}, func(s spec.Spec) bool { return s.MinValue == 1 }, ""},
		{"min_value", []string{"-1"}, nil, "satoshi"},
		{"since", []string{"440"}, func(s spec.Spec) bool { return s.SinceHeight == 440 && s.SinceDate == "" }, ""},
		{"until", []string{"2024-02-29"}, func(s spec.Spec) bool { return s.UntilDate == "2024-02-29" && s.UntilHeight == 0 }, ""},
		{"until", []string{"2023-02-29"}, nil, "height or a date"},
		{"since", []string{"-5"}, nil, "height or a date"},
		{"stop", []string{"exchange", "Mixing_Service"}, func(s spec.Spec) bool {
			return strings.Join(s.Stop, ",") == "exchange,mixing_service"
		}, ""},
		{"stop", []string{"exchange,scam,exchange"}, func(s spec.Spec) bool { return strings.Join(s.Stop, ",") == "exchange,scam" }, ""},
		{"stop", []string{"none"}, func(s spec.Spec) bool { return s.Stop != nil && len(s.Stop) == 0 }, ""},
		{"stop", []string{"sanctioned"}, func(s spec.Spec) bool { return s.Stop[0] == "sanctioned" }, ""},
		{"stop", []string{"mixer"}, nil, "mixing_service"},
		{"stop", []string{"nonsense"}, nil, `unknown category "nonsense"`},
		{"stop", []string{"exchange,"}, nil, "empty category"},
		{"cluster", []string{"false"}, func(s spec.Spec) bool { return s.Clusters == spec.ClustersOff }, ""},
		{"cluster", []string{"true"}, func(s spec.Spec) bool { return s.Clusters == spec.ClustersOn }, ""},
		{"cluster", []string{"auto"}, func(s spec.Spec) bool { return s.Clusters == spec.ClustersAuto }, ""},
		{"cluster", []string{"maybe"}, nil, "true or false"},
		{"label-all-tags", []string{"1"}, func(s spec.Spec) bool { return s.LabelAllTags }, ""},
		{"max_hop", []string{"3"}, nil, "unknown setting"},
	} {
		t.Run(tc.key+"="+strings.Join(tc.values, ","), func(t *testing.T) {
			s := spec.Default()
			err := s.Set(tc.key, tc.values...)
			if tc.errHas != "" {
				var fe *spec.FieldError
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || !errors.Is(err, spec.ErrBadSpec) || !errors.As(err, &fe) || fe.Key == "" {
					t.Fatalf("err %v; want a FieldError containing %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(s) {
				t.Fatalf("decoded %+v", s)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(s *spec.Spec)
		errHas string
	}{
		{"since after until", func(s *spec.Spec) { s.SinceHeight, s.UntilHeight = 450, 440 }, "450 is after until 440"},
		{"since equals until", func(s *spec.Spec) { s.SinceHeight, s.UntilHeight = 450, 450 }, ""},
		{"dates reversed", func(s *spec.Spec) { s.SinceDate, s.UntilDate = "2025-02-01", "2025-01-31" }, "2025-02-01 is after until 2025-01-31"},
		{"backward fifo", func(s *spec.Spec) { s.Direction, s.Model = "backward", "fifo" }, "haircut and poison"},
		{"label all tags without clusters", func(s *spec.Spec) { s.LabelAllTags, s.Clusters = true, spec.ClustersOff }, "cluster"},
		{"unknown stop set in code", func(s *spec.Spec) { s.Stop = []string{"mixer"} }, "mixing_service"},
		{"zero hops set in code", func(s *spec.Spec) { s.MaxHops = 0 }, "positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := spec.Default()
			tc.mod(&s)
			err := s.Validate()
			if tc.errHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || !errors.Is(err, spec.ErrBadSpec) {
				t.Fatalf("err %v; want %q", err, tc.errHas)
			}
		})
	}
}

func TestSetSeed(t *testing.T) {
	s := spec.Default()
	for _, kv := range [][2]string{{"seed", "a1, a2"}, {"addresses", "a3"}, {"seeds", "w.csv"}, {"entity", " Lotus "}, {"program", "TCO"},
		{"profile", "42"}, {"tag_category", "scam"}, {"tag_pack", "p.yaml"}} {
		if err := s.SetSeed(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	sel := s.Seeds
	if strings.Join(sel.Addresses, " ") != "a1 a2 a3" || sel.File != "w.csv" || sel.Entity != "Lotus" || sel.Program != "TCO" ||
		sel.Profile != 42 || sel.TagCategory != "scam" || sel.TagPack != "p.yaml" {
		t.Fatalf("%+v", sel)
	}
	for _, kv := range [][2]string{{"profile", "x"}, {"profile", "-1"}, {"entity", " "}, {"owner", "x"}} {
		if err := s.SetSeed(kv[0], kv[1]); !errors.Is(err, spec.ErrBadSpec) {
			t.Errorf("%s=%q: %v", kv[0], kv[1], err)
		}
	}
}

// FuzzSet: no key and value makes the decoder panic; every error is a
// FieldError, and whatever it accepts validates unless the window is
// reversed.
func FuzzSet(f *testing.F) {
	for _, k := range spec.Keys {
		f.Add(k.Name, k.Default)
	}
	f.Add("stop", "exchange,mixer")
	f.Add("since", "2024-13-01")
	f.Add("max-hops", "99999999999999999999")
	f.Fuzz(func(t *testing.T, key, value string) {
		s := spec.Default()
		err := s.Set(key, value)
		var fe *spec.FieldError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("%s=%q: %v is not a FieldError", key, value, err)
		}
		if err == nil {
			if verr := s.Validate(); verr != nil {
				t.Fatalf("%s=%q accepted, then invalid: %v", key, value, verr)
			}
		}
		if err := s.SetSeed(key, value); err != nil && !errors.As(err, &fe) {
			t.Fatalf("seed %s=%q: %v", key, value, err)
		}
	})
}
