package tracer_test

import "os"

// tempDir makes a directory that outlives one test (the chain is shared by
// the package's tests); it lives in the OS temp dir.
func tempDir() (string, error) { return os.MkdirTemp("", "tracer-scam-chain-") }
