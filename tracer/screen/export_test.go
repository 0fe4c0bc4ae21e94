package screen

// WithAccSink returns opt with the build's merged accumulators sent to
// sink instead of the index (BenchmarkBuildIndex's TRACER_BENCH_ACC_SINK:
// what writing them to Badger costs).
func WithAccSink(opt Options, sink func(key string, v []byte) error) Options {
	opt.accSink = sink
	return opt
}
