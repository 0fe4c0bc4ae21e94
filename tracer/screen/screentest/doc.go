// Package screentest builds screened stores for tests and benchmarks: a
// generated chain ingested, its sanctions list and tag pack loaded through
// the real loaders, and the exposure index built.
package screentest
