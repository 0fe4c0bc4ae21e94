package ingest_test

import (
	"bytes"
	"os"

	"github.com/btcsuite/btcd/chaincfg"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

func nil2params() *chaincfg.Params { return &chaincfg.MainNetParams }

func tempDir() (string, error) { return os.MkdirTemp("", "tracer-ingest-test") }

func nil2regtest() *chaincfg.Params { return &chaincfg.RegressionNetParams }
