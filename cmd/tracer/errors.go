package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tracer-oss/tracer/sanctions/address"
	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/ingest/rpcnode"
	"github.com/tracer-oss/tracer/store/network"
	"github.com/tracer-oss/tracer/tracer/alert"
	"github.com/tracer-oss/tracer/tracer/export"
)

// usageError marks an error caused by the user's input (bad flag, bad txid,
// bad address, malformed file): it exits with code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// badInput wraps err as a usage error, keeping it for errors.Is.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// usageSentinels are library errors that mean the input, not the program, was wrong.
var usageSentinels = []error{address.ErrInvalid, store.ErrNotFound, network.ErrUnknown, ingest.ErrNoHeight, ingest.ErrNetwork, rpcnode.ErrConfig, alert.ErrUnknownEntity, alert.ErrNoList, export.ErrOutput}

func isUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	// urfave/cli reports these without a type of their own.
	msg := err.Error()
	for _, m := range []string{"Required flag", "No help topic", "flag provided but not defined", "invalid value", "invalid boolean value"} {
		if strings.Contains(msg, m) {
			return true
		}
	}
	for _, s := range usageSentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// badInputIf makes err a usage error (exit 2) when it is one of sentinels.
func badInputIf(err error, sentinels ...error) error {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return badInput(err)
		}
	}
	return err
}
