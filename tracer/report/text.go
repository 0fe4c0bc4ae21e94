package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tracer-oss/tracer/tracer"
)

// holdingsShown is how many holdings the text summary lists.
const holdingsShown = 10

// Text writes a terminal summary of r: parameters and data versions,
// totals, a table of hits and the largest holdings. Every string from the
// result is cleaned of control characters first.
func (rd Renderer) Text(w io.Writer, r *tracer.Result) error {
	if r == nil {
		return ErrNilResult
	}
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	line := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }
	banner := func() {
		if r.Partial {
			line("")
			line("*** %s ***", partialNote(r))
			line("")
		}
	}

	line("TRACER REPORT (schema %d)", r.SchemaVersion)
	banner()
	for _, section := range []func(liner, *tracer.Result){textParams, textData, textSeeds, textTotals, textHits, textHoldings} {
		section(line, r)
	}
	banner()

	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: text: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: text: %w", err)
	}
	return nil
}

// liner writes one line of the text report (tab-separated columns).
type liner func(format string, a ...any)

func textParams(line liner, r *tracer.Result) {
	p := r.Params
	line("Parameters")
	line("  direction\t%s", orDash(p.Direction))
	line("  model\t%s", orDash(p.Model))
	line("  fees tainted\t%s", yesNo(p.FeesTainted))
	line("  max hops\t%d", p.MaxHops)
	line("  min value (dust)\t%s BTC", BTC(p.MinValue))
	line("  heights\t%s", heightRange(p))
	line("  max txs\t%d", p.MaxTxs)
	line("  wide outputs\t%d", p.WideOutputs)
	line("  stop categories\t%s", orDash(clean(strings.Join(p.StopCategories, ", "))))
	if !p.Started.IsZero() {
		line("  started\t%s", p.Started.UTC().Format(timeLayout))
	}
	line("  elapsed\t%s s, %d txs visited, %s store reads/tx",
		strconv.FormatFloat(p.ElapsedSeconds, 'f', 1, 64), p.TxsVisited,
		strconv.FormatFloat(p.StoreReadsPerTx, 'f', 2, 64))
	line("")
}

func textData(line liner, r *tracer.Result) {
	d := r.Data
	line("Data")
	line("  network\t%s", orDash(d.Network))
	line("  tip\t%d %s", d.TipHeight, orDash(d.TipHash))
	line("  sanctions list\t%s", orDash(d.SanctionsList))
	line("  tag packs\t%s", orDash(clean(strings.Join(d.TagPacks, ", "))))
	line("")
}

func textSeeds(line liner, r *tracer.Result) {
	line("Seeds (%d)", len(r.Seeds))
	if len(r.Seeds) > 0 {
		line("  ADDRESS\tLABEL\tSOURCE\tOUTPUTS\tRECEIVED BTC")
		for _, s := range r.Seeds {
			line("  %s\t%s\t%s\t%d\t%s", orDash(s.Address), orDash(s.Label), orDash(s.Source), s.Outputs, BTC(s.Received))
		}
	}
	line("")
}

func textTotals(line liner, r *tracer.Result) {
	t := r.Totals
	line("Totals")
	line("  traced\t%s BTC", BTC(t.Traced))
	line("  to entities\t%s BTC", BTC(t.ToEntities))
	for _, e := range entityRows(r) {
		line("    %s\t%s BTC\t(%d hits)", orDash(e.Entity), BTC(e.Tainted), e.Hits)
	}
	line("  unspent\t%s BTC", BTC(t.Unspent))
	line("  fees\t%s BTC", BTC(t.Fees))
	line("  dust\t%s BTC", BTC(t.Dust))
	line("  cut by limits\t%s BTC", BTC(t.Cut))
	if t.BeforeRange > 0 {
		line("  before the store's range\t%s BTC\t(source before the store's range: value unknown)", BTC(t.BeforeRange))
	}
	line("  hits\t%d", t.Hits)
	if b := balance(t); b != t.Traced && !strings.EqualFold(r.Params.Model, "poison") {
		line("  WARNING\ttotals do not add up: entities+unspent+fees+dust+cut+before range = %s BTC", BTC(b))
	}
	line("")
}

func textHits(line liner, r *tracer.Result) {
	line("Hits (%d)", len(r.Hits))
	if len(r.Hits) > 0 {
		// Full txids: a reader copies them into an explorer or a request.
		line("  ENTITY\tVIA\tADDRESS\tTXID:VOUT\tHEIGHT\tTIME UTC\tHOPS\tTAINTED BTC\tSHARE %%")
		for _, h := range r.Hits {
			line("  %s\t%s\t%s\t%s:%d\t%d\t%s\t%d\t%s\t%s",
				orDash(clean(h.Entity)), orDash(clean(h.Via)), orDash(h.Address), orDash(h.Txid), h.Vout, h.Height, orDash(h.Time), h.Hops, BTC(h.Tainted), percent(h.Share))
		}
		for _, h := range r.Hits {
			if h.Via == "cluster" && h.LinkTxid != "" {
				line("  %s: %s is in its cluster, linked by tx %s", orDash(clean(h.Entity)), orDash(h.Address), clean(h.LinkTxid))
			}
		}
	}
	line("")
}

func textHoldings(line liner, r *tracer.Result) {
	top := topHoldings(r, holdingsShown)
	line("Holdings (%d unspent outputs, %s BTC tainted)", len(r.Holdings), BTC(sumHoldings(r)))
	if len(top) > 0 {
		line("  ADDRESS\tOUTPUT\tHEIGHT\tHOPS\tTAINTED BTC")
		for _, h := range top {
			line("  %s\t%s:%d\t%d\t%d\t%s", orDash(h.Address), orDash(h.Txid), h.Vout, h.Height, h.Hops, BTC(h.Tainted))
		}
		if n := len(r.Holdings) - len(top); n > 0 {
			line("  ... %d more", n)
		}
	}
}

// timeLayout is the UTC time format of every report.
const timeLayout = "2006-01-02 15:04:05 UTC"
