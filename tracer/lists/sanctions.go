package lists

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/sanctions/ofac"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/network"
)

// SanctionsOptions adjust a sanctions list load.
type SanctionsOptions struct {
	// Force stores a list that the guard refuses: one with no entries or
	// with more than 20% fewer distinct addresses than the list in force.
	Force bool
	// Progress, if not nil, is called as the files are read with the
	// bytes read so far and the sum of the files' sizes.
	Progress func(read, total int64)
	// Storing, if not nil, is called once the list passed the guard, just
	// before it is written (the real list takes a few seconds).
	Storing func(entries int)
}

// SanctionsSummary says what a load stored.
type SanctionsSummary struct {
	Version store.ListVersion `json:"version"` // the version stored, now current
	// Warnings are the parser's (an address that is not valid for its
	// asset, a file that looks truncated), less those about addresses of
	// the store's own test network.
	Warnings []string `json:"warnings,omitempty"`
	// Forced is the guard's refusal that Force overrode; "" when none.
	Forced string `json:"forced,omitempty"`
}

// ReadSanctions parses one sanctions list from files: exactly one SDN file
// (sdn_advanced.xml, SDN.XML or sdn.csv; plain, .zip, .gz or .bz2) and, for
// sdn.csv, optionally its sdn_comments.csv and alt.csv. An error of the
// files matches ErrBadInput; a cancelled ctx returns ctx's error.
func ReadSanctions(ctx context.Context, opt SanctionsOptions, files ...File) (*sanctions.List, error) {
	ins := make([]ofac.Input, len(files))
	for i, f := range files {
		ins[i] = ofac.Input{Name: f.Name, R: f.R, Size: f.Size}
	}
	l, err := ofac.ParseInputs(ctx, opt.Progress, ins...)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var pe *ofac.ParseError
		if errors.As(err, &pe) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, ofac.ErrUnknownFormat) ||
			errors.Is(err, ofac.ErrNoSDNFile) || errors.Is(err, ofac.ErrTooManySDNFiles) {
			err = inputError{fmt.Errorf("%w (the current list is unchanged)", err)}
		}
		return nil, err
	}
	return l, nil
}

// StoreSanctions stores l in st as a new version, which becomes current.
// The guard refuses, unless opt.Force, a list with no entries or one much
// shorter than the list in force: the error matches ErrBadInput and
// sanctions.ErrEmptyList or sanctions.ErrShrunk, and nothing is stored.
// The summary is returned with the error too, for its warnings.
func StoreSanctions(ctx context.Context, st *store.Store, l *sanctions.List, opt SanctionsOptions) (*SanctionsSummary, error) {
	sum := &SanctionsSummary{Warnings: listWarnings(l.Warnings, st.State().Network)}
	cur, err := st.Lists().List(0)
	if errors.Is(err, store.ErrNotFound) {
		cur, err = nil, nil
	}
	if err != nil {
		return sum, err
	}
	if err := sanctions.CheckReplacement(cur, l, 0); err != nil {
		if !opt.Force {
			return sum, inputError{fmt.Errorf("%s: %w; nothing stored, the current list is unchanged", l.Source, err)}
		}
		sum.Forced = err.Error()
	}
	if opt.Storing != nil {
		opt.Storing(len(l.Entries))
	}
	v, err := st.Lists().Save(ctx, l)
	if err != nil {
		return sum, err
	}
	sum.Version, err = st.Lists().Version(v)
	return sum, err
}

// LoadSanctions reads a list from files and stores it in st: ReadSanctions
// then StoreSanctions.
func LoadSanctions(ctx context.Context, st *store.Store, opt SanctionsOptions, files ...File) (*SanctionsSummary, error) {
	l, err := ReadSanctions(ctx, opt, files...)
	if err != nil {
		return nil, err
	}
	return StoreSanctions(ctx, st, l, opt)
}

// invalidXBT matches the parser's warning about an XBT address that is not
// a mainnet address.
var invalidXBT = regexp.MustCompile(`invalid XBT address "([^"]+)"`)

// listWarnings drops from a list's warnings those about addresses valid on
// the store's network when that is a test network. OFAC's lists are mainnet
// lists, and the parser flags anything else; a list written for a test
// network's store (tracer gen writes one) holds that network's addresses,
// not worth a warning there.
func listWarnings(ws []string, netName string) []string {
	n, err := network.ByName(netName)
	if err != nil || netName == "mainnet" {
		return ws
	}
	var kept []string
	for _, w := range ws {
		if m := invalidXBT.FindStringSubmatch(w); m != nil {
			if _, err := address.Parse(m[1], n.Params); err == nil {
				continue
			}
		}
		kept = append(kept, w)
	}
	return kept
}
