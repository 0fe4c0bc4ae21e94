// Package blockfile reads blocks in Bitcoin Core's on-disk framing: a 4-byte
// network magic, a little-endian uint32 length and a serialized block, over
// and over. It reads a Core blocks/ directory (blk00000.dat, blk00001.dat, …,
// de-obfuscated with blocks/xor.dat when present, as Core 28+ writes by
// default) or any single file in the same framing (bootstrap.dat, btcd's
// blk_0_to_14131.dat), optionally bzip2- or gzip-compressed.
//
// Core preallocates block files, so a file may end in zero padding: a zero
// magic ends the file cleanly. Anything else that is not a known network's
// magic, or a length running past the end of the file, is an *Error naming
// the file and byte offset.
package blockfile
