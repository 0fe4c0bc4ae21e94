package flow

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/btcsuite/btcd/chaincfg/chainhash"

	"github.com/tracer-oss/tracer/store"
)

// Files in the index directory (every integer little-endian):
//
//	file       per          fields (size in bytes)
//	flow.json  index        format version, network, tip height and hash covered, start height,
//	                        counts of transactions, outputs and inputs, dirty flag (set while updating)
//	blk.dat    block        first TxNum (8), block hash (32), from the store's start height
//	tx.dat     transaction  index of its first output in out.dat (5), of its first input in in.dat (5),
//	                        fee in satoshi (4, two's complement; −2³¹ when unknown, an input being from
//	                        before the store's range, or beyond ±(2³¹−1), about 21 BTC: Fee then adds
//	                        up the values in the index)
//	txid.dat   transaction  txid (32)
//	out.dat    output       two 64-bit words: the first holds the spender, TxNum+1 (bits 0–40; 0 when
//	                        unspent), its input index (bits 41–44; 15 when 15 or more: the spender's
//	                        inputs are searched for this output) and the value's low 19 bits (45–63);
//	                        the second the value's high 32 bits (0–31) and the address key (32–63,
//	                        KeyOf(address.Addr.Key))
//	in.dat     input        index in out.dat of the output it spends (5); coinbase 2⁴⁰−1, a spend
//	                        from before the store's range 2⁴⁰−2
//
// Counts of outputs and inputs are below 2⁴⁰−2 (a thousand times today's
// chain), values below 2⁵¹ (the store refuses larger ones). Measured on the
// generated 1,000,000-transaction chain (2.54 outputs and 2.44 inputs per
// transaction) the index takes 99 bytes per transaction: txid 32, tx 14,
// outputs 40.6, inputs 12.2 (format 5, with the spender as TxNum and a 3-byte
// input index, inputs as TxNum and vout in 8 bytes and 7-byte fees, took 117).
// An input names its output by index, so a walk reads an input's value with
// one lookup; the transaction of that output (In) is a binary search of
// tx.dat, which a forward walk does not need: it reaches a transaction from
// the output it spends.
//
// An update appends the new transactions and patches the spender bits of
// older outputs they spend. After a reorg (the covered tip no longer on the
// store's chain) it first cuts the index back to the fork, clearing the
// spender bits the cut transactions had set. Either sets the dirty flag
// first and clears it last (after syncing every file), so an update killed
// half-way makes the next Open rebuild the index.
const (
	formatVersion = 6

	// maxCut is the deepest reorg an index is cut back over; deeper ones
	// rebuild it.
	maxCut = 1000

	blkSize  = 40
	txSize   = 14
	txidSize = 32
	outSize  = 16
	inSize   = 5

	// Offsets in a tx.dat record.
	txFirstIn = 5
	txFee     = 10

	// maxCount bounds the outputs and inputs (5-byte indexes, the two
	// largest kept for inCoinbase and inExternal).
	maxCount = 1<<40 - 2

	feeUnknown = math.MinInt32
	maxFee     = math.MaxInt32

	inCoinbase = 1<<40 - 1
	inExternal = 1<<40 - 2

	// The first word of an out.dat record.
	spBits    = 41 // spender TxNum+1
	vinShift  = spBits
	vinEscape = 15 // 4 bits of input index; 15: search the spender's inputs
	valShift  = spBits + 4
	valLow    = 64 - valShift // value bits in the first word (19)
	spMask    = 1<<valShift - 1
	maxValue  = 1 << 51
	maxSpTx   = 1<<spBits - 2 // the largest TxNum a spender field holds
)

// KeyOf is the key the index holds for an address: a 32-bit hash of its
// address.Addr.Key. Different addresses may share one, so a key that
// matches is a candidate to check against the full address, never an
// answer.
func KeyOf(addrKey uint64) uint64 { return (addrKey * 0x9e3779b97f4a7c15) >> 32 }

// le40 reads a 5-byte little-endian integer.
func le40(b []byte) uint64 {
	_ = b[4]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 | uint64(b[4])<<32
}

// appendLE appends the n low bytes of v, little-endian.
func appendLE(b []byte, v uint64, n int) []byte {
	for i := 0; i < n; i++ {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// feeField is a fee as tx.dat holds it (32 bits); fee32 reads it back.
func feeField(fee int64, known bool) uint64 {
	if !known || fee > maxFee || fee < -maxFee {
		fee = feeUnknown
	}
	return uint64(fee) & (1<<32 - 1)
}

func fee32(b []byte) int64 { return int64(int32(binary.LittleEndian.Uint32(b))) }

// spField is the spender part of an out.dat record's first word: in's
// TxNum+1 and its input index (vinEscape when that is vinEscape or more).
func spField(in store.InPoint) uint64 {
	return uint64(in.Tx+1) | uint64(min(in.Vin, vinEscape))<<vinShift
}

// outRecord is an unspent output's out.dat record.
func outRecord(b []byte, value int64, key uint64) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(value)<<valShift)
	return binary.LittleEndian.AppendUint64(b, uint64(value)>>valLow|key<<32)
}

// Dir is where the index of a store directory lives.
func Dir(storeDir string) string { return filepath.Join(storeDir, "flow") }

type header struct {
	Version     int            `json:"version"`
	Network     string         `json:"network"`
	Height      int32          `json:"height"` // tip covered; meaningless while Txs is 0
	Hash        chainhash.Hash `json:"hash"`
	StartHeight int32          `json:"start_height"`
	Txs         uint64         `json:"txs"`
	Outs        uint64         `json:"outs"`
	Ins         uint64         `json:"ins"`
	Blocks      uint64         `json:"blocks"`
	Dirty       bool           `json:"dirty"`
	Sum         uint32         `json:"sum"` // CRC-32C of the fields above (headerSum)
}

// Options tune Open.
type Options struct {
	// Progress, if set, is called now and then while the index is built
	// or extended, with the transactions done and to do.
	Progress func(done, total uint64)
	// ChunkTxs bounds the transactions an update holds in memory before it
	// writes them out; 0: 1,000,000.
	ChunkTxs int
	// NoUpdate opens the index only if it is current, and never writes:
	// ErrStale otherwise.
	NoUpdate bool
}

// Stats describe an index.
type Stats struct {
	Txs, Outs, Ins, Blocks uint64
	Height                 int32
	Bytes                  int64
	// Built is the number of transactions this Open added (0: the index
	// was current); Rebuilt says the old index was discarded first, Cut
	// how many transactions a reorg took off it.
	Built   uint64
	Rebuilt bool
	Cut     uint64
	// Damage, when Rebuilt, is what was found damaged in the old index.
	Damage string
}

// Index is an open flow index, mapped read-only. It is safe for
// concurrent readers. It covers the store's transactions as of Open.
type Index struct {
	dir                    string
	hdr                    header
	blk, tx, txid, out, in []byte
	built, cut             uint64
	rebuilt                bool
	damage                 error // what made Open rebuild a damaged index
}

var names = [...]string{"blk.dat", "tx.dat", "txid.dat", "out.dat", "in.dat"}

// Open opens the flow index of st, building it or extending it to st's tip
// first. Only one process updates an index at a time (a lock file); the
// store may be open read-only.
func Open(ctx context.Context, st *store.Store, opt Options) (x *Index, err error) {
	state := st.State()
	if state.Empty() {
		return nil, ErrEmpty
	}
	dir := Dir(st.Dir())
	lock, err := lockIndex(dir, opt.NoUpdate)
	if err != nil {
		return nil, err
	}
	// An index built under the lock is only handed out once the lock is
	// released cleanly.
	defer func() {
		if uerr := errors.Join(unlockFile(lock), lock.Close()); uerr != nil && err == nil {
			err = errors.Join(fmt.Errorf("flow: unlock %s: %w", dir, uerr), x.Close())
			x = nil
		}
	}()

	x = &Index{dir: dir}
	hdr, prev, err := x.resume(st, opt.NoUpdate)
	if err != nil {
		return nil, err
	}
	if opt.NoUpdate && (x.rebuilt || hdr.Txs != uint64(state.NextTx)) {
		return nil, fmt.Errorf("%w: it covers %d of the store's %d transactions", ErrStale, hdr.Txs, state.NextTx)
	}
	if hdr.Txs < uint64(state.NextTx) {
		before := hdr.Txs
		if err := update(ctx, st, dir, &hdr, opt, prev); err != nil {
			return nil, err
		}
		x.built = hdr.Txs - before
	}
	x.hdr = hdr
	if err := x.mapAll(); err != nil {
		return nil, errors.Join(err, x.Close())
	}
	return x, nil
}

// lockIndex takes the index's lock file: shared, without waiting, for a
// reader (noUpdate: the index must exist); exclusive for an updater,
// creating the directory.
func lockIndex(dir string, noUpdate bool) (*os.File, error) {
	if noUpdate {
		lock, err := os.Open(filepath.Join(dir, "lock"))
		if err != nil {
			return nil, fmt.Errorf("%w: no index in %s", ErrStale, dir)
		}
		// Readers do not wait for an update under way.
		if err := lockShared(lock); err != nil {
			return nil, errors.Join(fmt.Errorf("%w: %s is being updated", ErrStale, dir), lock.Close())
		}
		return lock, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("flow: %w", err)
	}
	if err := lockFile(lock); err != nil {
		return nil, errors.Join(fmt.Errorf("flow: lock %s: %w", dir, err), lock.Close())
	}
	return lock, nil
}

// resume reads the index on disk and decides how much of it to keep: all
// (sound and on st's chain), the part below a fork (cut), or nothing (a
// fresh header: none there, another version or network, damaged, or off
// the chain deeper than maxCut; x.rebuilt says an old one was discarded).
// It returns the header to extend and the sums of the files kept.
func (x *Index) resume(st *store.Store, noUpdate bool) (header, sums, error) {
	state := st.State()
	fresh := header{Version: formatVersion, Network: state.Network, StartHeight: state.StartHeight}
	hdr, err := readHeader(x.dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fresh, sums{}, nil
	case errors.Is(err, ErrCorrupt) && !noUpdate:
		x.rebuilt, x.damage = true, err // the index is derived: rebuild it
		return fresh, sums{}, nil
	case err != nil:
		return header{}, sums{}, err
	}
	ok, fork, err := check(st, &hdr)
	if err != nil {
		return header{}, sums{}, err
	}
	var prev sums
	if ok || fork >= hdr.StartHeight {
		// Any damaged byte is found here, before an answer or an
		// update uses it.
		if prev, err = readSums(x.dir); err == nil {
			err = verifyFiles(x.dir, &hdr, prev)
		}
		if err != nil {
			if noUpdate {
				return header{}, sums{}, fmt.Errorf("%w (the next forward trace, or tracer verify --repair, rebuilds it)", err)
			}
			x.rebuilt, x.damage = true, err
			return fresh, sums{}, nil
		}
	}
	switch {
	case ok:
		return hdr, prev, nil
	case fork >= hdr.StartHeight && !noUpdate:
		return x.cutToFork(hdr, fork, prev, fresh)
	default:
		x.rebuilt = true
		return fresh, sums{}, nil
	}
}

// cutToFork cuts the index back to fork, the last height it shares with
// the store, so only the blocks above it are built again; damaged files
// found on the way mean starting over from fresh.
func (x *Index) cutToFork(hdr header, fork int32, prev sums, fresh header) (header, sums, error) {
	before := hdr.Txs
	err := cut(x.dir, &hdr, fork, prev)
	switch {
	case errors.Is(err, ErrCorrupt):
		x.rebuilt = true
		return fresh, sums{}, nil
	case err != nil:
		return header{}, sums{}, err
	}
	x.cut = before - hdr.Txs
	if prev, err = readSums(x.dir); err != nil {
		return header{}, sums{}, err
	}
	return hdr, prev, nil
}

// Describe reports, without writing, the index of st as it is on disk and
// whether it is current (covers st's tip); a zero Stats when there is none.
func Describe(st *store.Store) (Stats, bool, error) {
	hdr, err := readHeader(Dir(st.Dir()))
	if errors.Is(err, os.ErrNotExist) {
		return Stats{}, false, nil
	}
	if err != nil {
		return Stats{}, false, err
	}
	ok, _, err := check(st, &hdr)
	if err != nil {
		return Stats{}, false, err
	}
	x := Index{hdr: hdr}
	return x.Stats(), ok && hdr.Txs == uint64(st.State().NextTx), nil
}

// check tells whether hdr describes a sound index of st's chain, up to
// st's tip or below it (ok); if it is sound but its tip left the chain,
// fork is the last height it shares with st (below hdr.StartHeight when it
// shares none within maxCut blocks, or is not sound: rebuild).
func check(st *store.Store, hdr *header) (ok bool, fork int32, err error) {
	state := st.State() // once: a writer may move it meanwhile
	if !fits(st.Dir(), state, hdr) {
		return false, -1, nil
	}
	if hdr.Txs == 0 {
		return true, 0, nil
	}
	if hdr.Height <= state.Height {
		b, err := st.BlockByHeight(hdr.Height)
		if err != nil {
			return false, -1, err
		}
		if b.Hash == hdr.Hash && uint64(b.FirstTx)+uint64(b.NumTx) == hdr.Txs {
			return true, 0, nil
		}
	}
	fork, err = forkHeight(st, state.Height, hdr)
	return false, fork, err
}

// fits tells whether hdr is of this format, clean, of the store's network
// and start height, sane, and its files are all there at their sizes.
func fits(storeDir string, state store.State, hdr *header) bool {
	if hdr.Version != formatVersion || hdr.Dirty || hdr.Network != state.Network || hdr.StartHeight != state.StartHeight || !hdr.sane() {
		return false
	}
	dir := Dir(storeDir)
	for i, size := range hdr.sizes() {
		fi, err := os.Stat(filepath.Join(dir, names[i]))
		if err != nil || fi.Size() < size {
			return false // a file lost or cut short: rebuild
		}
	}
	return true
}

// forkHeight is the highest height, at most tip and within maxCut blocks
// of the index's tip, whose block the index and st share; or -1 (rebuild).
func forkHeight(st *store.Store, tip int32, hdr *header) (int32, error) {
	f, err := os.Open(filepath.Join(Dir(st.Dir()), names[fBlk]))
	if err != nil {
		return -1, nil
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	var e [blkSize]byte
	for h := min(hdr.Height, tip); h >= hdr.StartHeight && h > hdr.Height-maxCut; h-- {
		b, err := st.BlockByHeight(h)
		if err != nil {
			return -1, err
		}
		if _, err := f.ReadAt(e[:], int64(h-hdr.StartHeight)*blkSize); err != nil {
			return -1, nil
		}
		if [32]byte(e[8:]) == b.Hash && binary.LittleEndian.Uint64(e[:]) == uint64(b.FirstTx) {
			return h, nil
		}
	}
	return -1, nil
}

func readHeader(dir string) (header, error) {
	var h header
	b, err := os.ReadFile(filepath.Join(dir, "flow.json"))
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(b, &h); err != nil || h.Sum != headerSum(h) {
		return header{}, fmt.Errorf("%w: flow.json fails its checksum", ErrCorrupt)
	}
	return h, nil
}

// writeHeader replaces flow.json atomically and durably.
func writeHeader(dir string, h *header) error {
	h.Sum = headerSum(*h)
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "flow.json.tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("flow: %w", err)
	}
	if _, err = f.Write(append(b, '\n')); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, "flow.json"))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("flow: write header: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close() //nolint:errcheck // opened read-only; the Sync is what is checked
	return d.Sync()
}

// sane reports whether the header's counts fit together and its file sizes
// fit an int64.
func (h *header) sane() bool {
	const maxRec = math.MaxInt64 / txidSize // the largest record
	if h.Txs > maxRec || h.Outs >= maxCount || h.Ins >= maxCount || h.Blocks > h.Txs {
		return false
	}
	return h.Txs == 0 && h.Blocks == 0 || h.Blocks > 0 && h.Height == h.StartHeight+int32(h.Blocks)-1
}

// Size is how many bytes the index of a store in state s takes.
func Size(s store.State) int64 {
	h := header{Txs: uint64(s.NextTx), Outs: uint64(s.Outputs), Ins: uint64(s.Inputs), Blocks: uint64(s.Blocks)}
	return h.bytes()
}

func (h *header) bytes() int64 {
	var n int64
	for _, size := range h.sizes() {
		n += size
	}
	return n
}

// sizes are the file lengths a header implies, in the order of names.
func (h *header) sizes() [5]int64 {
	return [5]int64{int64(h.Blocks) * blkSize, int64(h.Txs) * txSize, int64(h.Txs) * txidSize, int64(h.Outs) * outSize, int64(h.Ins) * inSize}
}

func (x *Index) mapAll() error {
	sizes := x.hdr.sizes()
	dst := [5]*[]byte{&x.blk, &x.tx, &x.txid, &x.out, &x.in}
	for i, name := range names {
		f, err := os.Open(filepath.Join(x.dir, name))
		if err != nil {
			return fmt.Errorf("flow: %w", err)
		}
		fi, err := f.Stat()
		if err == nil && fi.Size() < sizes[i] {
			err = fmt.Errorf("%w: %s is %d bytes, the header needs %d", ErrCorrupt, name, fi.Size(), sizes[i])
		}
		if err == nil {
			*dst[i], err = mapFile(f, sizes[i], false)
		}
		f.Close() //nolint:errcheck // opened read-only; the mapping outlives the descriptor
		if err != nil {
			return err
		}
	}
	return nil
}

// Close unmaps the index.
func (x *Index) Close() error {
	var first error
	for _, b := range []*[]byte{&x.blk, &x.tx, &x.txid, &x.out, &x.in} {
		if err := unmap(*b); err != nil && first == nil {
			first = err
		}
		*b = nil
	}
	return first
}

// Stats describes the index.
func (x *Index) Stats() Stats {
	s := Stats{Txs: x.hdr.Txs, Outs: x.hdr.Outs, Ins: x.hdr.Ins, Blocks: x.hdr.Blocks, Height: x.hdr.Height, Built: x.built, Rebuilt: x.rebuilt, Cut: x.cut}
	if x.damage != nil {
		s.Damage = x.damage.Error()
	}
	s.Bytes = x.hdr.bytes()
	return s
}

// Txs is the number of transactions covered.
func (x *Index) Txs() store.TxNum { return store.TxNum(x.hdr.Txs) }

// Outs is the number of outputs covered.
func (x *Index) Outs() uint64 { return x.hdr.Outs }

// TxID is the txid of tx n (n < Txs).
func (x *Index) TxID(n store.TxNum) (h chainhash.Hash) {
	copy(h[:], x.txid[uint64(n)*txidSize:])
	return h
}

// Height is the height of the block holding tx n (n < Txs).
func (x *Index) Height(n store.TxNum) int32 {
	h, _, _ := x.Block(n)
	return h
}

// Block returns the height of the block holding tx n (n < Txs) and the
// range of its transactions.
func (x *Index) Block(n store.TxNum) (height int32, first, end store.TxNum) {
	blocks := int(x.hdr.Blocks)
	if blocks == 0 {
		return x.hdr.StartHeight, 0, store.TxNum(x.hdr.Txs)
	}
	at := func(i int) store.TxNum {
		if i >= blocks {
			return store.TxNum(x.hdr.Txs)
		}
		return store.TxNum(binary.LittleEndian.Uint64(x.blk[i*blkSize:]))
	}
	// The last block whose first tx is at or before n.
	lo, hi := 0, blocks // invariant: first(lo) <= n < first(hi)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if at(mid) <= n {
			lo = mid
		} else {
			hi = mid
		}
	}
	return x.hdr.StartHeight + int32(lo), at(lo), at(lo + 1)
}

// Fee returns tx n's fee (n < Txs), unless an input spends from before the
// store's range (a caller then adds up the known inputs' values). A
// coinbase's fee is its outputs less the subsidy, unknown here when beyond
// ±(2³¹−1) satoshi (about 21 BTC); another transaction's fee beyond that
// is added up from its inputs' and outputs' values in the index.
func (x *Index) Fee(n store.TxNum) (int64, bool) {
	f := fee32(x.tx[uint64(n)*txSize+txFee:])
	if f == feeUnknown {
		return x.sumFee(n)
	}
	return f, true
}

// sumFee is tx n's inputs' values less its outputs', when every input
// spends an output the index holds.
func (x *Index) sumFee(n store.TxNum) (int64, bool) {
	first, end, err := x.Inputs(n)
	if err != nil || first == end {
		return 0, false
	}
	var fee int64
	for i := first; i < end; i++ {
		kind, o := x.InOut(i)
		if kind != store.InputKnown || o >= x.hdr.Outs {
			return 0, false
		}
		fee += x.value(o)
	}
	if first, end, err = x.Outputs(n); err != nil {
		return 0, false
	}
	for i := first; i < end; i++ {
		fee -= x.value(i)
	}
	return fee, true
}

// value is output i's value.
func (x *Index) value(i uint64) int64 {
	b := x.out[i*outSize : i*outSize+outSize]
	return int64(binary.LittleEndian.Uint64(b)>>valShift | binary.LittleEndian.Uint64(b[8:])&(1<<32-1)<<valLow)
}

// Out is an output as the index holds it.
type Out struct {
	Value int64
	Key   uint64 // KeyOf(address.Addr.Key) of its address
	Spent bool
	// By is the spending input, when Spent. Its Vin is ^0 when the
	// spender's inputs do not name this output (a damaged index).
	By store.InPoint
}

// In is an input as the index holds it.
type In struct {
	Kind store.InputKind
	Prev store.OutPoint // when Kind is store.InputKnown
}

// Outputs returns the range of tx n's outputs, as indexes for Out.
func (x *Index) Outputs(n store.TxNum) (first, end uint64, err error) {
	return x.span(n, 0, x.hdr.Outs)
}

// Inputs returns the range of tx n's inputs, as indexes for In.
func (x *Index) Inputs(n store.TxNum) (first, end uint64, err error) {
	return x.span(n, txFirstIn, x.hdr.Ins)
}

func (x *Index) span(n store.TxNum, field int, total uint64) (first, end uint64, err error) {
	if uint64(n) >= x.hdr.Txs {
		return 0, 0, fmt.Errorf("%w: transaction %d (the index covers %d)", ErrNotCovered, n, x.hdr.Txs)
	}
	o := uint64(n)*txSize + uint64(field)
	first, end = le40(x.tx[o:]), total
	if uint64(n)+1 < x.hdr.Txs {
		end = le40(x.tx[o+txSize:])
	}
	if first > end || end > total {
		return 0, 0, fmt.Errorf("%w: transaction %d spans %d..%d of %d", ErrCorrupt, n, first, end, total)
	}
	return first, end, nil
}

// Out returns output i (from Outputs).
func (x *Index) Out(i uint64) Out {
	b := x.out[i*outSize : i*outSize+outSize]
	lo, hi := binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
	o := Out{Value: x.value(i), Key: hi >> 32}
	if sp := lo & (1<<spBits - 1); sp != 0 && sp-1 < x.hdr.Txs {
		o.Spent, o.By = true, store.InPoint{Tx: store.TxNum(sp - 1), Vin: uint32(lo >> vinShift & vinEscape)}
		if o.By.Vin == vinEscape {
			o.By.Vin = x.spendingInput(o.By.Tx, i)
		}
	}
	return o
}

// spendingInput is the index of tx n's input that spends output i, from
// vinEscape on; ^0 when none does.
func (x *Index) spendingInput(n store.TxNum, i uint64) uint32 {
	first, end, err := x.Inputs(n)
	if err != nil {
		return ^uint32(0)
	}
	for j := first + vinEscape; j < end; j++ {
		if le40(x.in[j*inSize:]) == i {
			return uint32(j - first)
		}
	}
	return ^uint32(0)
}

// InOut returns input i (from Inputs) as its kind and, when it is
// store.InputKnown, the index (for Out) of the output it spends. It costs
// one lookup; In costs a binary search more.
func (x *Index) InOut(i uint64) (store.InputKind, uint64) {
	switch v := le40(x.in[i*inSize:]); v {
	case inCoinbase:
		return store.InputCoinbase, 0
	case inExternal:
		return store.InputExternal, 0
	default:
		return store.InputKnown, v
	}
}

// In returns input i (from Inputs). An output index the index does not
// hold reads as output ^0 of the last transaction.
func (x *Index) In(i uint64) In {
	kind, o := x.InOut(i)
	if kind != store.InputKnown {
		return In{Kind: kind}
	}
	return In{Kind: kind, Prev: x.OutPoint(o)}
}

// OutPoint is the output at index i (for Out): the last transaction whose
// outputs start at or before i, found by binary search.
func (x *Index) OutPoint(i uint64) store.OutPoint {
	txs := x.hdr.Txs
	if txs == 0 || i >= x.hdr.Outs {
		return store.OutPoint{Tx: store.TxNum(max(txs, 1) - 1), Vout: ^uint32(0)}
	}
	lo, hi := uint64(0), txs // invariant: first(lo) <= i < first(hi)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if le40(x.tx[mid*txSize:]) <= i {
			lo = mid
		} else {
			hi = mid
		}
	}
	v := i - le40(x.tx[lo*txSize:])
	if v > 1<<32-1 {
		v = 1<<32 - 1
	}
	return store.OutPoint{Tx: store.TxNum(lo), Vout: uint32(v)}
}

// OutIndex returns the index (for Out) of an output.
func (x *Index) OutIndex(op store.OutPoint) (uint64, error) {
	first, end, err := x.Outputs(op.Tx)
	if err != nil {
		return 0, err
	}
	if uint64(op.Vout) >= end-first {
		return 0, fmt.Errorf("%w: output %d:%d", ErrCorrupt, op.Tx, op.Vout)
	}
	return first + uint64(op.Vout), nil
}
