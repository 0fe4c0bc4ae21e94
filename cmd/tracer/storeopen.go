package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/network"
)

var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print JSON for machines"}

// openStore opens the existing --db store; lookups open it read-only. A
// missing store is a usage error, never created: a mistyped --db must not
// leave an empty store behind. Only the commands that load data create one
// (createStore).
func openStore(c *cli.Context, readOnly bool) (*store.Store, error) {
	return openStoreWith(c, store.Options{ReadOnly: readOnly, MustExist: true})
}

// createStore opens the --db store for writing, creating it when missing:
// for ingest, follow, sanctions load/update and tags load.
func createStore(c *cli.Context) (*store.Store, error) {
	return openStoreWith(c, store.Options{})
}

func openStoreWith(c *cli.Context, opt store.Options) (*store.Store, error) {
	opt.Logger = logger(c)
	st, err := store.Open(c.String("db"), opt)
	if errors.Is(err, store.ErrNotFound) {
		return nil, usageError{err}
	}
	return st, heldBy(c, err)
}

// openChain opens the --db store read-only for a lookup and returns it with
// its network's parameters; an empty store is a usage error.
func openChain(c *cli.Context) (*store.Store, *chaincfg.Params, error) {
	return openChainFor(c, true)
}

// openChainFor is openChain, writable unless readOnly.
func openChainFor(c *cli.Context, readOnly bool) (*store.Store, *chaincfg.Params, error) {
	st, err := openStore(c, readOnly)
	if err != nil {
		return nil, nil, err
	}
	params, err := storeParams(st)
	if err != nil {
		return nil, nil, errors.Join(err, st.Close())
	}
	return st, params, nil
}

// storeParams returns the chain parameters of the store's network.
func storeParams(st *store.Store) (*chaincfg.Params, error) {
	state := st.State()
	if state.Empty() {
		return nil, usageErrorf("the store in %s is empty: run tracer ingest first", st.Dir())
	}
	n, err := network.ByName(state.Network)
	if err != nil {
		return nil, err
	}
	return n.Params, nil
}

func printJSON(c *cli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// btc formats satoshi as BTC with 8 decimals.
func btc(sat int64) string {
	sign := ""
	if sat < 0 {
		sign, sat = "-", -sat
	}
	return fmt.Sprintf("%s%d.%08d", sign, sat/1e8, sat%1e8)
}

// closeFunc is a close function as an io.Closer, for closing.
type closeFunc func() error

func (f closeFunc) Close() error { return f() }

// closing closes c (a store, a flow index) when a command ends: a failed
// Close, for a store its last writes not reaching the disk, fails the
// command unless it failed already. Use it as `defer closing(st, &err)`.
func closing(c io.Closer, err *error) {
	if cerr := c.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}
