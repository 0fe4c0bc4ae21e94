package lists

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/network"
)

// TagOptions adjust a tag load.
type TagOptions struct {
	// Options are the parser's: SkipInvalid, the CSV column Map, and the
	// Network addresses must belong to (nil: mainnet for ReadTags, the
	// store's network for LoadTags).
	tags.Options
	// MinConfidence drops the tags whose confidence level (0-100, see
	// sanctions.ParseConfidence) is below it; 0 keeps every tag.
	MinConfidence int
}

// PackSummary says what was read, and once stored, replaced, for one file.
type PackSummary struct {
	Pack           string         `json:"pack"` // the name the pack is stored under
	Kind           string         `json:"kind"` // tags or actors
	Source         string         `json:"source"`
	Tags           int            `json:"tags"`
	Actors         int            `json:"actors,omitempty"`
	Replaced       int            `json:"replaced"` // tags or actors of the pack of the same name, replaced
	Skipped        map[string]int `json:"skipped_currencies,omitempty"`
	Invalid        int            `json:"invalid_skipped"`
	RejectedByKind map[string]int `json:"rejected_by_reason,omitempty"`
	Rejected       []tags.Invalid `json:"rejected,omitempty"`
	NoAddress      int            `json:"tx_tags_skipped"`
	NoConfidence   int            `json:"no_confidence"`
	BelowMin       int            `json:"below_min_confidence,omitempty"`
	Warnings       []string       `json:"-"` // the parser's, one per skipped tag and oddity
}

// Tags are parsed tag files, ready to store.
type Tags struct {
	Packs  []PackSummary // one per file, in order
	tags   []*tags.Pack
	actors []*tags.ActorPack
}

// ReadTags parses tag files: TagPacks and ActorPacks (YAML) and tag CSVs
// (by a .csv name). Every file is parsed before any is stored; an error of
// the files (a malformed one, a tag failing validation without
// SkipInvalid, a missing file) matches ErrBadInput and is also a
// *tags.ParseError when a file's content is at fault.
func ReadTags(ctx context.Context, opt TagOptions, files ...File) (*Tags, error) {
	out := &Tags{}
	for _, f := range files {
		p, ap, err := tags.ParseAny(ctx, f.R, f.Name, opt.Options)
		if err != nil {
			var pe *tags.ParseError
			if ctx.Err() == nil && (errors.As(err, &pe) || errors.Is(err, fs.ErrNotExist)) {
				err = inputError{err}
			}
			return nil, err
		}
		if ap != nil {
			out.actors = append(out.actors, ap)
			out.Packs = append(out.Packs, PackSummary{Pack: packName(ap.Source), Kind: "actors", Source: ap.Source, Actors: len(ap.Actors)})
			continue
		}
		s := PackSummary{Pack: packName(p.Source), Kind: "tags", Source: p.Source, Skipped: p.Skipped, Invalid: len(p.Invalid),
			Rejected: p.Invalid, NoAddress: p.NoAddress, NoConfidence: p.NoConfidence, Warnings: p.Warnings}
		if opt.MinConfidence > 0 {
			kept := p.Tags[:0]
			for _, t := range p.Tags {
				if t.ConfidenceLevel() >= opt.MinConfidence {
					kept = append(kept, t)
				} else {
					s.BelowMin++
				}
			}
			p.Tags = kept
		}
		for _, r := range p.Invalid {
			if s.RejectedByKind == nil {
				s.RejectedByKind = map[string]int{}
			}
			s.RejectedByKind[r.Kind]++
		}
		s.Tags = len(p.Tags)
		out.tags = append(out.tags, p)
		out.Packs = append(out.Packs, s)
	}
	return out, nil
}

// StoreTags stores parsed tag files in st, each replacing the pack of the
// same name, and returns the summaries with Replaced filled in.
func StoreTags(ctx context.Context, st *store.Store, t *Tags) ([]PackSummary, error) {
	ti, ai := 0, 0
	for i := range t.Packs {
		var err error
		if t.Packs[i].Kind == "actors" {
			t.Packs[i].Replaced, err = st.Tags().SaveActorPack(ctx, t.actors[ai])
			ai++
		} else {
			t.Packs[i].Replaced, err = st.Tags().SavePack(ctx, t.tags[ti])
			ti++
		}
		if err != nil {
			return t.Packs[:i], err
		}
	}
	return t.Packs, nil
}

// LoadTags reads tag files and stores them in st: ReadTags, with the
// store's network when opt names none, then StoreTags.
func LoadTags(ctx context.Context, st *store.Store, opt TagOptions, files ...File) ([]PackSummary, error) {
	if opt.Network == nil {
		if n, err := network.ByName(st.State().Network); err == nil {
			opt.Network = n.Params
		}
	}
	t, err := ReadTags(ctx, opt, files...)
	if err != nil {
		return nil, err
	}
	return StoreTags(ctx, st, t)
}

// packName is the name the store keeps a pack under (store.Tags.SavePack).
func packName(source string) string { return filepath.Base(source) }
