package screen

// WithAccSink returns opt with the build's merged accumulators sent to
// sink instead of the index (BenchmarkBuildIndex's TRACER_BENCH_ACC_SINK:
// what writing them to Badger costs).
func WithAccSink(opt Options, sink func(key string, v []byte) error) Options {
	opt.accSink = sink
	return opt
}

// WithAccBudget returns opt with the build holding n accumulator entries
// in memory before it spills (BenchmarkBuildIndex's TRACER_BENCH_ACC_BUDGET).
func WithAccBudget(opt Options, n int) Options {
	opt.accBudget = n
	return opt
}
