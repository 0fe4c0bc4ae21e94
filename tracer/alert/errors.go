package alert

import "errors"

var (
	// ErrUnknownEntity is an entity watch that names no sanctioned profile.
	ErrUnknownEntity = errors.New("alert: no sanctioned entity of that name in the list in force")
	// ErrNoList is a sanctions watch on a store without a sanctions list.
	ErrNoList = errors.New("alert: no sanctions list loaded (run tracer sanctions load)")
)
