package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/tracer-oss/tracer/sanctions"
	"github.com/tracer-oss/tracer/sanctions/tags"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/alert"
	"github.com/tracer-oss/tracer/tracer/lists"
	"github.com/tracer-oss/tracer/tracer/screen/api"
	"github.com/tracer-oss/tracer/tracer/screen/audit"
)

// The admin routes' actions (api.Admin). Parsing runs on the request's
// goroutine; every write runs on the writing loop.

var _ api.Admin = (*Service)(nil)

// SanctionsAnswer answers POST /v1/admin/sanctions.
type SanctionsAnswer struct {
	Version  uint32   `json:"version"`
	Entries  int      `json:"entries"`
	Warnings []string `json:"warnings,omitempty"`
	// Serving is the list version screens answer from until the new
	// version's exposure index is built (GET /v1/status: pending).
	Serving uint32 `json:"serving_list_version"`
	State   string `json:"state"`
}

// LoadSanctions stores the list read from body as a new version and
// switches to it once its exposure index is built; until then screens
// answer from the list in force.
func (s *Service) LoadSanctions(ctx context.Context, name string, force bool, body io.Reader) (any, error) {
	if name == "" {
		name = "upload"
	}
	l, err := lists.ReadSanctions(ctx, lists.SanctionsOptions{}, lists.File{Name: path.Base(name), R: body})
	if errors.Is(err, lists.ErrBadInput) {
		err = fmt.Errorf("%w: %w", api.ErrAdminInput, err)
	}
	if err != nil {
		return nil, err
	}
	var ans SanctionsAnswer
	err = s.do(ctx, func(ctx context.Context) error {
		cur, err := s.st.Lists().List(0)
		if errors.Is(err, store.ErrNotFound) {
			cur, err = nil, nil
		}
		if err != nil {
			return err
		}
		if err := sanctions.CheckReplacement(cur, l, 0); err != nil && !force {
			return fmt.Errorf("%w: %s: %v; nothing stored, the list in force is unchanged (?force=1 stores it anyway)", api.ErrAdminInput, l.Source, err)
		}
		v, err := s.st.Lists().Stage(ctx, l)
		if err != nil {
			return err
		}
		ans = SanctionsAnswer{Version: v, Entries: len(l.Entries), Warnings: l.Warnings, Serving: s.listV,
			State: fmt.Sprintf("stored; screens answer from list version %d until version %d's exposure index is built (GET /v1/status: pending)", s.listV, v)}
		s.startRebuild(ctx, v)
		return nil
	})
	s.record(ctx, fmt.Sprintf("POST /v1/admin/sanctions %s: version %d, %d entries", name, ans.Version, ans.Entries), err)
	return ans, err
}

// queue hands fn to the writing loop without waiting for it.
func (s *Service) queue(ctx context.Context, fn func(context.Context)) {
	select {
	case s.jobs <- fn:
	case <-ctx.Done():
	}
}

// TagsAnswer answers POST /v1/admin/tags.
type TagsAnswer struct {
	Pack     string   `json:"pack"`
	Tags     int      `json:"tags"`
	Replaced int      `json:"replaced"`
	Warnings []string `json:"warnings,omitempty"`
	State    string   `json:"state"`
}

// LoadTags loads a tag pack named pack, as tracer tags load loads a file
// of that name: a TagPack or ActorPack (YAML), or a tag CSV when pack ends
// in .csv. The exposure index is rebuilt for it; screens answer from the
// previous tags until then.
func (s *Service) LoadTags(ctx context.Context, pack string, body io.Reader) (any, error) {
	t, err := lists.ReadTags(ctx, lists.TagOptions{Options: tags.Options{Network: s.params}}, lists.File{Name: pack, R: body})
	if errors.Is(err, lists.ErrBadInput) {
		err = fmt.Errorf("%w: %w", api.ErrAdminInput, err)
	}
	if err != nil {
		return nil, err
	}
	var ans TagsAnswer
	err = s.do(ctx, func(ctx context.Context) error {
		sums, err := lists.StoreTags(ctx, s.st, t)
		if err != nil {
			return err
		}
		for _, p := range sums {
			ans.Pack, ans.Tags, ans.Replaced, ans.Warnings = p.Pack, ans.Tags+p.Tags+p.Actors, ans.Replaced+p.Replaced, append(ans.Warnings, p.Warnings...)
		}
		ans.State = "stored; screens answer from the previous tags until the exposure index is rebuilt (GET /v1/status: pending)"
		s.rebuild, s.why = true, fmt.Sprintf("tag pack %s loaded", ans.Pack)
		if !s.building {
			s.startRebuild(ctx, 0)
		}
		return nil
	})
	s.record(ctx, fmt.Sprintf("POST /v1/admin/tags?name=%s: %d tags", pack, ans.Tags), err)
	return ans, err
}

// WatchAnswer answers the watch routes.
type WatchAnswer struct {
	Watch     store.Watch `json:"watch"`
	Changed   bool        `json:"changed"` // false: it was already so
	Addresses int         `json:"addresses,omitempty"`
}

// AddWatch adds a watch, effective from the next block.
func (s *Service) AddWatch(ctx context.Context, req api.WatchRequest) (any, error) {
	w := store.Watch{Kind: store.WatchAddress, Value: strings.TrimSpace(req.Address)}
	switch {
	case req.Address != "" && req.Entity != "":
		return nil, fmt.Errorf("%w: give address or entity, not both", api.ErrAdminInput)
	case req.Entity != "":
		w = store.Watch{Kind: store.WatchEntity, Value: strings.TrimSpace(req.Entity)}
	case req.Address == "":
		return nil, fmt.Errorf("%w: give {\"address\": ...} or {\"entity\": ...}", api.ErrAdminInput)
	}
	var ans WatchAnswer
	err := s.do(ctx, func(context.Context) error {
		if w.Kind == store.WatchAddress {
			a, _, err := s.st.ParseAddress(w.Value)
			if err != nil {
				return fmt.Errorf("%w: %v", api.ErrAdminInput, err)
			}
			w.Value = a.String(s.params)
		}
		addrs, err := alert.Resolve(s.st, s.params, w)
		if err != nil {
			return fmt.Errorf("%w: %v", api.ErrAdminInput, err)
		}
		w.Added, w.FromHeight = time.Now().UTC(), s.st.State().Height
		ans.Changed, err = s.st.WatchList().Add(w)
		ans.Watch, ans.Addresses = w, len(addrs)
		return err
	})
	s.record(ctx, fmt.Sprintf("POST /v1/admin/watches %s %s", w.Kind, w.Value), err)
	return ans, err
}

// RemoveWatch removes the watch of an address, effective from the next block.
func (s *Service) RemoveWatch(ctx context.Context, addr string) (any, error) {
	w := store.Watch{Kind: store.WatchAddress, Value: strings.TrimSpace(addr)}
	var ans WatchAnswer
	err := s.do(ctx, func(context.Context) error {
		a, _, err := s.st.ParseAddress(w.Value)
		if err != nil {
			return fmt.Errorf("%w: %v", api.ErrAdminInput, err)
		}
		w.Value = a.String(s.params)
		ans.Watch = w
		ans.Changed, err = s.st.WatchList().Remove(w.Kind, w.Value)
		return err
	})
	s.record(ctx, fmt.Sprintf("DELETE /v1/admin/watches/%s", w.Value), err)
	return ans, err
}

// Backup writes a backup of the store to w on the writing loop, so the
// cluster files and Badger agree and no block is half in it; blocks wait
// meanwhile. The request's context stops it (the client went away).
func (s *Service) Backup(ctx context.Context, w io.Writer) error {
	var (
		stats store.BackupStats
		err   error
	)
	done := make(chan struct{})
	select {
	case s.jobs <- func(context.Context) {
		defer close(done)
		stats, err = s.st.Backup(ctx, w)
	}:
	case <-ctx.Done():
		return ctx.Err()
	}
	<-done // the job writes to w: never return before it ends
	s.record(ctx, fmt.Sprintf("GET /v1/admin/backup: %d bytes, tip %d %s", stats.Bytes, stats.Height, stats.Hash), err)
	return err
}

// record appends an admin action to the audit log, if there is one.
func (s *Service) record(ctx context.Context, what string, err error) {
	if s.cfg.Audit == nil {
		return
	}
	tip := s.Tip()
	e := audit.Entry{Source: audit.SourceAdmin, Key: "admin:" + api.AdminName(ctx), Input: what, Method: "admin",
		ListVersion: s.base.Status().ListVersion, TipHeight: tip.Height, TipHash: tip.Hash.String()}
	if err != nil {
		e.Error = err.Error()
	}
	if aerr := s.cfg.Audit.Append(e); aerr != nil {
		s.log.Error("live: cannot record an admin action in the audit log", "action", what, "err", aerr)
	}
}
