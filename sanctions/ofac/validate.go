package ofac

import (
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/tracer-oss/tracer/sanctions"
)

// validator checks XBT addresses and records warnings for bad ones.
type validator struct{ list *sanctions.List }

func newValidator(l *sanctions.List) validator { return validator{list: l} }

// check trims addr and, for XBT, decodes it as a mainnet address. An invalid
// address is kept (OFAC's publication is authoritative even with typos) and
// a warning naming where is added to the list.
func (v validator) check(asset, addr, where string) string {
	addr = strings.TrimSpace(addr)
	if asset != sanctions.AssetXBT {
		return addr
	}
	if err := ValidateXBT(addr); err != nil {
		v.list.Warnings = append(v.list.Warnings, fmt.Sprintf("%s: invalid XBT address %s kept: %v", where, sanctions.Clip(addr), err))
	}
	return addr
}

// ValidateXBT reports whether addr is a valid Bitcoin mainnet address.
func ValidateXBT(addr string) error {
	a, err := sanctions.DecodeAddress(addr, &chaincfg.MainNetParams)
	if err != nil {
		return err
	}
	if !a.IsForNet(&chaincfg.MainNetParams) {
		return fmt.Errorf("not a mainnet address")
	}
	return nil
}
