package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/btcsuite/btcd/chaincfg"
	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/flow"
	"github.com/tracer-oss/tracer/tracer/cluster"
)

func blockCommand() *cli.Command {
	return &cli.Command{
		Name:      "block",
		Usage:     "show a block by height or hash",
		ArgsUsage: "HEIGHT|HASH",
		Flags: []cli.Flag{jsonFlag,
			&cli.BoolFlag{Name: "txs", Usage: "list the block's transactions"}},
		Action: runBlock,
	}
}

func txCommand() *cli.Command {
	return &cli.Command{
		Name:      "tx",
		Usage:     "show a transaction: inputs with their source, outputs with their spender",
		ArgsUsage: "TXID",
		Flags:     []cli.Flag{jsonFlag},
		Action:    runTx,
	}
}

func addressCommand() *cli.Command {
	return &cli.Command{
		Name:      "address",
		Usage:     "show an address: balance, received, sent, and its outputs in chain order",
		ArgsUsage: "ADDR",
		Flags: []cli.Flag{jsonFlag,
			&cli.IntFlag{Name: "limit", Value: 50, Usage: "outputs per page"},
			&cli.StringFlag{Name: "after", Usage: "page after this `TXID:VOUT` (printed at the end of a page)"}},
		Action: runAddress,
	}
}

func oneArg(c *cli.Context, what string) (string, error) {
	if c.NArg() != 1 {
		return "", usageErrorf("%s takes one %s (got %d arguments)", c.Command.Name, what, c.NArg())
	}
	return strings.TrimSpace(c.Args().First()), nil
}

func parseHash(s, what string) (chainhash.Hash, error) {
	if len(s) != 64 {
		return chainhash.Hash{}, usageErrorf("bad %s %q: want 64 hex digits", what, s)
	}
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		return chainhash.Hash{}, usageErrorf("bad %s %q: %v", what, s, err)
	}
	return *h, nil
}

// notFound turns a store miss into a usage error (exit 2) with one line.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return usageError{err}
	}
	return err
}

type blockView struct {
	Height     int32    `json:"height"`
	Hash       string   `json:"hash"`
	Prev       string   `json:"previous_hash"`
	Time       string   `json:"time"`
	Version    int32    `json:"version"`
	Bits       string   `json:"bits"`
	Nonce      uint32   `json:"nonce"`
	MerkleRoot string   `json:"merkle_root"`
	TxCount    uint32   `json:"tx_count"`
	FirstTx    uint64   `json:"first_tx_number"`
	Size       uint32   `json:"size"`
	Weight     uint32   `json:"weight"`
	Txids      []string `json:"txids,omitempty"`
}

func runBlock(c *cli.Context) (err error) {
	arg, err := oneArg(c, "height or hash")
	if err != nil {
		return err
	}
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	if _, err := storeParams(st); err != nil {
		return err
	}
	var b *store.Block
	if h, perr := strconv.ParseInt(arg, 10, 32); perr == nil {
		b, err = st.BlockByHeight(int32(h))
	} else {
		hash, herr := parseHash(arg, "block hash")
		if herr != nil {
			return usageErrorf("bad block %q: want a height or a 64-hex-digit hash", arg)
		}
		b, err = st.BlockByHash(hash)
	}
	if err != nil {
		return notFound(err)
	}
	v := blockView{Height: b.Height, Hash: b.Hash.String(), Prev: b.Header.PrevBlock.String(),
		Time: b.Time().Format("2006-01-02 15:04:05 UTC"), Version: b.Header.Version, Bits: fmt.Sprintf("%08x", b.Header.Bits),
		Nonce: b.Header.Nonce, MerkleRoot: b.Header.MerkleRoot.String(), TxCount: b.NumTx, FirstTx: uint64(b.FirstTx), Size: b.Size, Weight: b.Weight}
	if c.Bool("txs") || c.Bool("json") {
		for i := uint32(0); i < b.NumTx; i++ {
			tx, err := st.TxByNum(b.FirstTx + store.TxNum(i))
			if err != nil {
				return err
			}
			v.Txids = append(v.Txids, tx.ID.String())
		}
	}
	if c.Bool("json") {
		return printJSON(c, v)
	}
	w := tabwriter.NewWriter(c.App.Writer, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "block\t%d\n", v.Height)
	fmt.Fprintf(w, "hash\t%s\n", v.Hash)
	fmt.Fprintf(w, "previous\t%s\n", v.Prev)
	fmt.Fprintf(w, "time\t%s\n", v.Time)
	fmt.Fprintf(w, "txs\t%d (numbers %d–%d)\n", v.TxCount, v.FirstTx, v.FirstTx+uint64(v.TxCount)-1)
	fmt.Fprintf(w, "size\t%d bytes, weight %d\n", v.Size, v.Weight)
	fmt.Fprintf(w, "merkle root\t%s\n", v.MerkleRoot)
	for _, id := range v.Txids {
		fmt.Fprintf(w, "  tx\t%s\n", id)
	}
	return w.Flush()
}

type inputView struct {
	Coinbase bool   `json:"coinbase,omitempty"`
	External bool   `json:"external,omitempty"` // spends before the store's range: value unknown
	PrevTxid string `json:"prev_txid,omitempty"`
	PrevVout uint32 `json:"prev_vout"`
	Address  string `json:"address,omitempty"`
	Type     string `json:"type,omitempty"`
	Value    *int64 `json:"value_sat"` // null when unknown
	// What the store knows of the address: sanctions, tags, entity.
	Attribution *cluster.Attribution `json:"attribution,omitempty"`
}

type outputView struct {
	N          int    `json:"n"`
	Value      int64  `json:"value_sat"`
	Type       string `json:"type"`
	Address    string `json:"address,omitempty"`
	Spent      bool   `json:"spent"`
	SpentByTx  string `json:"spent_by_txid,omitempty"`
	SpentByVin uint32 `json:"spent_by_vin,omitempty"`
	// Unspendable: an OP_RETURN data output, never spent.
	Unspendable bool                 `json:"unspendable,omitempty"`
	Attribution *cluster.Attribution `json:"attribution,omitempty"`
}

type txView struct {
	Txid     string       `json:"txid"`
	Number   uint64       `json:"number"`
	Height   int32        `json:"height"`
	Block    string       `json:"block_hash"`
	Time     string       `json:"time"`
	Position uint32       `json:"position"`
	Size     uint32       `json:"size"`
	VSize    uint32       `json:"vsize"`
	Coinbase bool         `json:"coinbase"`
	Fee      *int64       `json:"fee_sat"` // null when an input's value is unknown
	Paid     int64        `json:"outputs_sat"`
	Inputs   []inputView  `json:"inputs"`
	Outputs  []outputView `json:"outputs"`
}

func runTx(c *cli.Context) (err error) {
	arg, err := oneArg(c, "txid")
	if err != nil {
		return err
	}
	txid, err := parseHash(arg, "txid")
	if err != nil {
		return err
	}
	st, params, err := openChain(c)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	tx, err := st.Tx(txid)
	if err != nil {
		return notFound(err)
	}
	v, err := buildTxView(st, params, tx)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, v)
	}
	return printTx(c.App.Writer, v)
}

// printTx renders a transaction for people.
func printTx(out io.Writer, v *txView) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "tx\t%s\n", v.Txid)
	fmt.Fprintf(w, "block\t%d %s (%s), position %d\n", v.Height, v.Block, v.Time, v.Position)
	fmt.Fprintf(w, "size\t%d bytes, %d vbytes\n", v.Size, v.VSize)
	switch {
	case v.Coinbase && v.Fee != nil:
		fmt.Fprintf(w, "coinbase\tnew coins: pays %s BTC, the subsidy and %s BTC of fees\n", btc(v.Paid), btc(*v.Fee))
	case v.Coinbase:
		fmt.Fprintf(w, "coinbase\tnew coins: pays %s BTC, the subsidy and the block's fees (the fees are not known: a transaction of the block spends from before the store's range)\n", btc(v.Paid))
	default:
		fmt.Fprintf(w, "fee\t%s\n", feeText(v.Fee))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\ninputs (%d)\n", len(v.Inputs))
	w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for i, in := range v.Inputs {
		switch {
		case in.Coinbase:
			fmt.Fprintf(w, "  %d\tcoinbase\t\t\n", i)
		case in.External:
			fmt.Fprintf(w, "  %d\t%s:%d\tbefore the store's range\tvalue unknown\n", i, in.PrevTxid, in.PrevVout)
		default:
			fmt.Fprintf(w, "  %d\t%s\t%s:%d\t%s BTC\t%s\n", i, orDash(in.Address), in.PrevTxid, in.PrevVout, btc(*in.Value), in.Attribution.String())
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\noutputs (%d)\n", len(v.Outputs))
	w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, o := range v.Outputs {
		spent := "unspent"
		switch {
		case o.Spent:
			spent = fmt.Sprintf("spent by %s:%d", o.SpentByTx, o.SpentByVin)
		case o.Unspendable:
			spent = "data, unspendable"
		}
		fmt.Fprintf(w, "  %d\t%s\t%s BTC\t%s\t%s\t%s\n", o.N, orDash(o.Address), btc(o.Value), o.Type, spent, o.Attribution.String())
	}
	return w.Flush()
}

func feeText(fee *int64) string {
	if fee == nil {
		return "unknown (an input spends from before the store's range)"
	}
	return btc(*fee) + " BTC"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func buildTxView(st *store.Store, params *chaincfg.Params, tx *store.Tx) (*txView, error) {
	b, err := st.BlockByHeight(tx.Height)
	if err != nil {
		return nil, err
	}
	attr, err := cluster.NewAttributor(st, params)
	if err != nil {
		return nil, err
	}
	v := &txView{Txid: tx.ID.String(), Number: uint64(tx.Num), Height: tx.Height, Block: b.Hash.String(),
		Time: b.Time().Format("2006-01-02 15:04:05 UTC"), Position: tx.Pos, Size: tx.Size, VSize: tx.VSize, Coinbase: tx.Coinbase}
	if tx.FeeKnown {
		fee := tx.Fee
		v.Fee = &fee
	}
	for _, in := range tx.Inputs {
		var iv inputView
		switch in.Kind {
		case store.InputCoinbase:
			iv.Coinbase = true
		case store.InputExternal:
			iv.External = true
			iv.PrevTxid = in.Ext.Hash.String()
			iv.PrevVout = in.Ext.Index
		default:
			fund, out, err := st.PrevOutput(in)
			if err != nil {
				return nil, fmt.Errorf("tx %s input %d: %w", tx.ID, len(v.Inputs), err)
			}
			val := out.Value
			iv.PrevTxid, iv.PrevVout, iv.Value = fund.ID.String(), in.Prev.Vout, &val
			iv.Address, iv.Type = out.Addr.String(params), out.Addr.Kind.String()
			if iv.Attribution, err = attr.Of(out.Addr); err != nil {
				return nil, err
			}
		}
		v.Inputs = append(v.Inputs, iv)
	}
	spenders, err := st.Spenders(tx.Num)
	if err != nil {
		return nil, err
	}
	for i, o := range tx.Outputs {
		v.Paid += o.Value
		ov := outputView{N: i, Value: o.Value, Type: o.Addr.Kind.String(), Address: o.Addr.String(params), Unspendable: o.Addr.Kind == address.OpReturn}
		if ov.Attribution, err = attr.Of(o.Addr); err != nil {
			return nil, err
		}
		if sp, ok := spenders[uint32(i)]; ok {
			spender, err := st.TxByNum(sp.Tx)
			if err != nil {
				return nil, err
			}
			ov.Spent, ov.SpentByTx, ov.SpentByVin = true, spender.ID.String(), sp.Vin
		}
		v.Outputs = append(v.Outputs, ov)
	}
	return v, nil
}

type addrOutputView struct {
	Txid      string `json:"txid"`
	Vout      uint32 `json:"vout"`
	Height    int32  `json:"height"`
	Value     int64  `json:"value_sat"`
	Type      string `json:"type"`
	Spent     bool   `json:"spent"`
	SpentByTx string `json:"spent_by_txid,omitempty"`
	SpentVin  uint32 `json:"spent_by_vin,omitempty"`
}

type addressView struct {
	Address   string           `json:"address"`
	Type      string           `json:"type"`
	Balance   int64            `json:"balance_sat"`
	Received  int64            `json:"received_sat"`
	Sent      int64            `json:"sent_sat"`
	TxCount   int              `json:"tx_count"`
	Outputs   int              `json:"output_count"`
	FirstSeen int32            `json:"first_seen_height"`
	LastSeen  int32            `json:"last_seen_height"`
	Page      []addrOutputView `json:"outputs"`
	Next      string           `json:"next_after,omitempty"`
	// What the store knows of the address: sanctions, tags, entity.
	Attribution *cluster.Attribution `json:"attribution,omitempty"`
}

func runAddress(c *cli.Context) (err error) {
	arg, err := oneArg(c, "address")
	if err != nil {
		return err
	}
	st, params, err := openChain(c)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	addr, err := address.Parse(arg, params)
	if err != nil {
		return badInput(err)
	}
	limit := c.Int("limit")
	if limit <= 0 {
		return usageErrorf("--limit must be positive")
	}
	after, err := afterOutPoint(st, c.String("after"))
	if err != nil {
		return err
	}
	sum, err := st.AddressSummary(c.Context, addr, after, limit)
	if err != nil {
		return err
	}
	v := newAddressView(addr, params, sum)
	attr, err := cluster.NewAttributor(st, params)
	if err != nil {
		return err
	}
	if v.Attribution, err = attr.Of(addr); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c, v)
	}
	return printAddress(c.App.Writer, st.State(), &v)
}

// afterOutPoint parses address --after TXID:VOUT (none when s is empty).
func afterOutPoint(st *store.Store, s string) (*store.OutPoint, error) {
	if s == "" {
		return nil, nil
	}
	id, vout, ok := strings.Cut(s, ":")
	h, err := parseHash(id, "--after txid")
	n, nerr := strconv.ParseUint(vout, 10, 32)
	if !ok || err != nil || nerr != nil {
		return nil, usageErrorf("bad --after %q: want TXID:VOUT", s)
	}
	tx, err := st.Tx(h)
	if err != nil {
		return nil, notFound(err)
	}
	return &store.OutPoint{Tx: tx.Num, Vout: uint32(n)}, nil
}

// newAddressView is the address command's view of a summary.
func newAddressView(addr address.Addr, params *chaincfg.Params, sum *store.AddressSummary) addressView {
	v := addressView{Address: addr.String(params), Type: addr.Kind.String(), Balance: sum.Balance, Received: sum.Received,
		Sent: sum.Sent, TxCount: sum.Txs, Outputs: int(sum.Outputs), FirstSeen: sum.FirstSeen, LastSeen: sum.LastSeen}
	for _, o := range sum.Page {
		ov := addrOutputView{Txid: o.TxID.String(), Vout: o.Vout, Height: o.Height, Value: o.Value, Type: o.Addr.Kind.String(), Spent: o.Spent, SpentVin: o.SpentBy.Vin}
		if o.Spent {
			ov.SpentByTx = o.SpentByTxID.String()
		}
		v.Page = append(v.Page, ov)
	}
	if sum.More {
		last := v.Page[len(v.Page)-1]
		v.Next = fmt.Sprintf("%s:%d", last.Txid, last.Vout)
	}
	return v
}

// printAddress renders an address summary for people.
func printAddress(out io.Writer, state store.State, v *addressView) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "address\t%s (%s)\n", v.Address, v.Type)
	if a := v.Attribution; a != nil {
		for _, d := range a.Sanctioned {
			fmt.Fprintf(w, "SANCTIONED\t%s\n", d)
		}
		for _, t := range a.Tags {
			fmt.Fprintf(w, "tag\t%s\n", t)
		}
		if a.Entity != "" {
			link := ""
			if a.LinkTxid != "" {
				link = ", linked by " + a.LinkTxid
			}
			fmt.Fprintf(w, "entity\t%s (via %s%s)\n", a.Entity, a.Via, link)
		}
		if a.Cluster != 0 {
			fmt.Fprintf(w, "cluster\t%d (tracer entity %d)\n", a.Cluster, a.Cluster)
		}
	} else {
		fmt.Fprintf(w, "known as\tnot listed, no tags, no entity\n")
	}
	if v.Outputs == 0 {
		fmt.Fprintf(w, "never paid in blocks %d–%d\n", state.StartHeight, state.Height)
		return w.Flush()
	}
	fmt.Fprintf(w, "balance\t%s BTC\n", btc(v.Balance))
	fmt.Fprintf(w, "received\t%s BTC in %d outputs\n", btc(v.Received), v.Outputs)
	fmt.Fprintf(w, "sent\t%s BTC\n", btc(v.Sent))
	fmt.Fprintf(w, "txs\t%d, first seen at height %d, last at %d\n", v.TxCount, v.FirstSeen, v.LastSeen)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "\noutputs (height, txid:vout, value, spender)\n")
	w = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	for _, o := range v.Page {
		spent := "unspent"
		if o.Spent {
			spent = fmt.Sprintf("spent by %s:%d", o.SpentByTx, o.SpentVin)
		}
		fmt.Fprintf(w, "  %d\t%s:%d\t%s BTC\t%s\n", o.Height, o.Txid, o.Vout, btc(o.Value), spent)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if v.Next != "" {
		fmt.Fprintf(out, "\nmore: tracer address %s --after %s\n", v.Address, v.Next)
	}
	return nil
}

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "check the store's files and invariants, and the trace index, and report any damage",
		Description: `First checks every file of the store against its checksums without opening
it — the MANIFEST, every table (.sst: each block and its index), every value
log (.vlog: each entry) — and the trace index (DB/flow: every 1 MiB of each
file, and flow.json), naming each damaged file and offset.

Then recomputes the store's invariants: every spent output has exactly one
spender and every spent-by entry points back at its input, fees are inputs
minus outputs and the coinbase claims no more than subsidy plus fees, blocks
chain by hash and their transaction ranges tile the transaction numbers,
counts match. When the trace index is current, it is compared with the store
record by record too.

Exits 1 when anything is wrong. Every other command refuses a damaged store
("is damaged ... run tracer verify") and never writes to it, so nothing
more is lost while you decide.

--repair rebuilds a damaged trace index (it is derived from the store). A
damaged store is not changed: verify reads back every height's records and
lists those that do not read back; restore the store from a copy, or
re-ingest the block files into a new --db directory (ingest is
deterministic: the same files give the same store) and load the sanctions
lists and tag packs into it again.`,
		Flags: []cli.Flag{jsonFlag,
			&cli.BoolFlag{Name: "repair", Usage: "rebuild a damaged trace index; for a damaged store, list the heights to re-ingest"},
		},
		Action: runVerify,
	}
}

// verifyFiles is what verify found damaged, file by file.
type verifyFiles struct {
	Damage      []store.Damage `json:"damage,omitempty"`
	TraceIndex  string         `json:"trace_index_damage,omitempty"`
	Salvage     *store.Salvage `json:"salvage,omitempty"`
	IndexFixed  bool           `json:"trace_index_rebuilt,omitempty"`
	SalvageNote string         `json:"salvage_error,omitempty"`
}

// runVerify checks the files, then (when they are sound) the trace index's
// files, then the store's records and the trace index against them.
func runVerify(c *cli.Context) (err error) {
	dir := c.String("db")
	dmg, err := store.CheckFiles(c.Context, dir)
	if err != nil {
		return badInputIf(err, store.ErrNotFound)
	}
	vf := verifyFiles{Damage: dmg}
	if _, err := flow.CheckFiles(dir); errors.Is(err, flow.ErrCorrupt) {
		vf.TraceIndex = err.Error()
	} else if err != nil {
		return err
	}
	if len(dmg) > 0 {
		if c.Bool("repair") {
			if sv, err := store.SalvageStore(c.Context, dir); err != nil {
				vf.SalvageNote = err.Error()
			} else {
				vf.Salvage = &sv
			}
		}
		if err := printDamage(c, dir, &vf); err != nil {
			return err
		}
		return fmt.Errorf("verify: %d damaged files in %s", len(dmg), dir)
	}
	if vf.TraceIndex != "" && c.Bool("repair") {
		if err := rebuildTraceIndex(c, &vf); err != nil {
			return err
		}
	}
	if vf.TraceIndex != "" {
		if c.Bool("json") {
			if err := printJSON(c, vf); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(c.App.Writer, "trace index: %s\n", vf.TraceIndex)
		}
		return fmt.Errorf("verify: the trace index is damaged (tracer verify --repair, or the next forward trace, rebuilds it)")
	}
	return verifyRecords(c)
}

// printDamage reports damaged files of the store, and what --repair's
// salvage found.
func printDamage(c *cli.Context, dir string, vf *verifyFiles) error {
	if c.Bool("json") {
		return printJSON(c, vf)
	}
	w := c.App.Writer
	fmt.Fprintf(w, "the store in %s is damaged:\n", dir)
	for _, d := range vf.Damage {
		fmt.Fprintf(w, "  %s\n", d)
	}
	if vf.TraceIndex != "" {
		fmt.Fprintf(w, "trace index: %s\n", vf.TraceIndex)
	}
	switch {
	case vf.Salvage != nil && vf.Salvage.BadCount == 0:
		fmt.Fprintf(w, "every block and transaction record of heights %d–%d still reads back; the damage is in data no lookup reads (index or stale entries)\n", vf.Salvage.StartHeight, vf.Salvage.Height)
	case vf.Salvage != nil:
		fmt.Fprintf(w, "%d of heights %d–%d do not read back: %v\n", vf.Salvage.BadCount, vf.Salvage.StartHeight, vf.Salvage.Height, vf.Salvage.Bad)
	case vf.SalvageNote != "":
		fmt.Fprintf(w, "no record reads back: %s\n", vf.SalvageNote)
	}
	fmt.Fprintf(w, "the store was not changed. Restore it from a copy, or re-ingest the block files into a new directory (tracer --db NEW ingest --blocks ...) and load the sanctions lists and tag packs again.\n")
	return nil
}

// rebuildTraceIndex rebuilds a damaged trace index (verify --repair); on
// success it clears vf.TraceIndex.
func rebuildTraceIndex(c *cli.Context, vf *verifyFiles) error {
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	x, err := flow.Open(c.Context, st, flow.Options{})
	if err == nil {
		if err = x.Close(); err == nil {
			fmt.Fprintf(c.App.ErrWriter, "trace index was damaged (%s): rebuilt\n", vf.TraceIndex)
			vf.TraceIndex, vf.IndexFixed = "", true
		}
	}
	return errors.Join(err, st.Close())
}

// verifyRecords recomputes the store's invariants and compares a current
// trace index with the store, record by record.
func verifyRecords(c *cli.Context) (err error) {
	st, params, err := openChain(c)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	r, err := st.Verify(c.Context, params)
	if err != nil {
		return err
	}
	ix, note, err := flow.VerifyIfCurrent(c.Context, st)
	if err != nil {
		return err
	}
	if err := printVerify(c, r, ix, note); err != nil {
		return err
	}
	if len(r.Problems) > 0 {
		return fmt.Errorf("verify: %d problems found", len(r.Problems))
	}
	if ix != nil && ix.Mismatches > 0 {
		return fmt.Errorf("verify: the trace index differs from the store in %d places (delete %s; the next forward trace rebuilds it)", ix.Mismatches, flow.Dir(st.Dir()))
	}
	if !c.Bool("json") {
		fmt.Fprintln(c.App.Writer, "ok")
	}
	return nil
}

// printVerify renders the store's check and the trace index's comparison
// (or the note saying why it was not compared).
func printVerify(c *cli.Context, r store.VerifyResult, ix *flow.VerifyResult, note string) error {
	if c.Bool("json") {
		return printJSON(c, struct {
			store.VerifyResult
			TraceIndex *flow.VerifyResult `json:"trace_index,omitempty"`
		}{r, ix})
	}
	w := c.App.Writer
	fmt.Fprintf(w, "checked %d blocks, %d txs, %d inputs, %d outputs, %d spent-by entries\n", r.Blocks, r.Txs, r.Inputs, r.Outputs, r.Spends)
	if r.ExposureFiles > 0 {
		fmt.Fprintf(w, "exposure index: read %d files whole, %d records\n", r.ExposureFiles, r.ExposureRecords)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  height %d: %s\n", p.Height, p.What)
	}
	if ix == nil {
		fmt.Fprintln(w, note)
		return nil
	}
	fmt.Fprintf(w, "trace index: compared %d txs, %d inputs, %d outputs, %d spenders with the store: %d mismatches\n", ix.Txs, ix.Inputs, ix.Outputs, ix.Spends, ix.Mismatches)
	for _, p := range ix.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	return nil
}
