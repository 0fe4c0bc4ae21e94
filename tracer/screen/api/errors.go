package api

import "errors"

var (
	// ErrNoKeys is a non-loopback bind address without API keys.
	ErrNoKeys = errors.New("api: refusing to listen beyond loopback without API keys (give --keys FILE)")
	// ErrBadKeys is an unreadable or empty keys file.
	ErrBadKeys = errors.New("api: bad keys file")
)
