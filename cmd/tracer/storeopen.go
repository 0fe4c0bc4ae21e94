package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/network"
)

var jsonFlag = &cli.BoolFlag{Name: "json", Usage: "print JSON for machines"}

// openStore opens the --db store. Lookups open it read-only.
func openStore(c *cli.Context, readOnly bool) (*store.Store, error) {
	st, err := store.Open(c.String("db"), store.Options{ReadOnly: readOnly, Logger: logger(c)})
	if errors.Is(err, store.ErrNotFound) {
		return nil, usageError{err}
	}
	return st, err
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
		st.Close()
		return nil, nil, err
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
