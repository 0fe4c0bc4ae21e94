package main

import (
	"errors"
	"fmt"
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
var usageSentinels []error

func isUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	for _, s := range usageSentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
