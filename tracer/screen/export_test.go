package screen

import "encoding/binary"

// WithAccSink returns opt with the build's merged accumulators sent to
// sink instead of the index (BenchmarkBuildIndex's TRACER_BENCH_ACC_SINK:
// what writing them to Badger costs).
func WithAccSink(opt Options, sink func(key string, v []byte) error) Options {
	opt.accSink = sink
	return opt
}

// WithAccFanIn returns opt with the build merging its sorted runs n at a
// time before the last merge (BenchmarkBuildIndex's TRACER_BENCH_ACC_FANIN).
func WithAccFanIn(opt Options, n int) Options {
	opt.accFanIn = n
	return opt
}

// WithAccBudget returns opt with the build holding n accumulator entries
// in memory before it spills (BenchmarkBuildIndex's TRACER_BENCH_ACC_BUDGET).
func WithAccBudget(opt Options, n int) Options {
	opt.accBudget = n
	return opt
}

// CanonicalAcc returns an accumulator record's entries at fixed width
// (slot, hops, amount, largest contribution, its tx and vout, 8 bytes
// each), whatever the index format wrote: the semantic digest of
// BenchmarkBuildIndex compares indexes of two formats.
func CanonicalAcc(v []byte, slots int) ([]byte, error) {
	acc, err := decodeAcc(v, slots)
	if err != nil {
		return nil, err
	}
	var b []byte
	for _, e := range acc {
		for _, x := range []uint64{uint64(e.slot), uint64(e.hops), uint64(e.amount), uint64(e.best), uint64(e.bestOut.Tx), uint64(e.bestOut.Vout)} {
			b = binary.BigEndian.AppendUint64(b, x)
		}
	}
	return b, nil
}

// CanonicalUndo returns an undo record with its accumulators as
// CanonicalAcc writes them.
func CanonicalUndo(v []byte, slots int) ([]byte, error) {
	u, err := decodeUndo(v)
	if err != nil {
		return nil, err
	}
	for i, old := range u.old {
		if old != nil {
			if u.old[i], err = CanonicalAcc(old, slots); err != nil {
				return nil, err
			}
		}
	}
	return u.encode(), nil
}
