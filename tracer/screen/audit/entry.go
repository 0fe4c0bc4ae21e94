package audit

import (
	"github.com/tracer-oss/tracer/tracer/screen"
)

// FromResult is the entry of one screen: r is nil when the input was not
// screened (err says why); st is the screener's status (list version, tip).
func FromResult(source, key, input string, r *screen.Result, err error, st screen.Status) Entry {
	e := Entry{Source: source, Key: key, Input: input, ListVersion: st.ListVersion, TipHeight: st.TipHeight, TipHash: st.TipHash}
	if r != nil {
		e.Address, e.Risk, e.Level, e.Rule, e.Policy, e.Method = r.Address, r.Risk, r.Level, r.Rule, r.Policy, r.Method
	}
	if err != nil {
		e.Error = err.Error()
	}
	return e
}
