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
	// ErrClusterDirty is a cluster forest that no longer matches the chain:
	// a reorganisation undid transactions it was built from (or an older
	// version of tracer was killed while writing it).
	ErrClusterDirty = errors.New("store: clusters no longer match the chain (a reorganisation undid clustered transactions): rebuild the clusters")
	// ErrTooLarge is a structure past the size this version can hold.
	ErrTooLarge = errors.New("store: too large")
	// ErrRollback is an undo the store cannot do (below its first block).
	ErrRollback = errors.New("store: cannot roll back")
	// ErrBadBackup is a backup file that is not one, or is truncated or
	// damaged (its trailer's length or checksum does not match).
	ErrBadBackup = errors.New("store: bad backup file")
	// ErrExists is a restore into a directory that already holds files.
	ErrExists = errors.New("store: directory not empty")
	// ErrDamaged is a store whose files fail their checksums (DamageError
	// says where).
	ErrDamaged = errors.New("store: damaged")
)
