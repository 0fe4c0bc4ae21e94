// Package network names the Bitcoin networks tracer reads: their block-file
// magic and chain parameters (address encodings, subsidy schedule).
package network

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/wire"
)

// ErrUnknown is a network name tracer does not know.
var ErrUnknown = errors.New("network: unknown")

// Network is a Bitcoin network tracer reads.
type Network struct {
	Name   string
	Magic  wire.BitcoinNet
	Params *chaincfg.Params
}

var testnet4Params = func() chaincfg.Params {
	p := chaincfg.TestNet3Params
	p.Name = "testnet4"
	p.Net = wire.BitcoinNet(0x283f161c)
	return p
}()

var all = []Network{
	{"mainnet", wire.MainNet, &chaincfg.MainNetParams},
	{"testnet3", wire.TestNet3, &chaincfg.TestNet3Params},
	{"testnet4", wire.BitcoinNet(0x283f161c), &testnet4Params},
	{"signet", wire.BitcoinNet(0x40cf030a), &chaincfg.SigNetParams},
	{"regtest", wire.TestNet, &chaincfg.RegressionNetParams},
}

// ByName returns a network by its name ("mainnet", "testnet3",
// "testnet4", "signet", "regtest"; "main", "testnet" and "test" are accepted).
func ByName(name string) (Network, error) {
	switch strings.ToLower(name) {
	case "main", "bitcoin":
		name = "mainnet"
	case "testnet", "test":
		name = "testnet3"
	}
	for _, n := range all {
		if n.Name == strings.ToLower(name) {
			return n, nil
		}
	}
	var names []string
	for _, n := range all {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	return Network{}, fmt.Errorf("%w network %q (one of %s)", ErrUnknown, name, strings.Join(names, ", "))
}

// ByMagic returns the network whose block files start with magic m.
func ByMagic(m wire.BitcoinNet) (Network, bool) {
	for _, n := range all {
		if n.Magic == m {
			return n, true
		}
	}
	return Network{}, false
}
