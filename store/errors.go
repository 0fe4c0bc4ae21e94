package store

import "errors"

var (
	// ErrNotFound is a block, transaction or output the store does not hold.
	ErrNotFound = errors.New("store: not found")
	// ErrSchema is a store written by another schema version.
	ErrSchema = errors.New("store: unsupported schema version")
	// ErrNetwork is a write or query for another network than the store's.
	ErrNetwork = errors.New("store: wrong network")
	// ErrLocked is a store another process has open.
	ErrLocked = errors.New("store: in use")
	// ErrReadOnly is a write to a store opened read-only.
	ErrReadOnly = errors.New("store: opened read-only")
	// ErrClusterDirty is a cluster forest whose last commit was interrupted.
	ErrClusterDirty = errors.New("store: cluster state interrupted mid-write (rebuild the clusters)")
	// ErrRollback is an undo the store cannot do (below its first block).
	ErrRollback = errors.New("store: cannot roll back")
	// ErrDamaged is a store whose files fail their checksums (DamageError
	// says where).
	ErrDamaged = errors.New("store: damaged")
)
