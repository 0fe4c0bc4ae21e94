// Package directio writes and reads large files from start to end past
// the page cache where the system allows it (O_DIRECT on Linux), with the
// device's work on another goroutine so the caller prepares the next
// buffer meanwhile.
//
// It exists for the exposure build, which writes and reads back gigabytes
// of temporary runs and index files once each. On the machine its figures
// come from, moving a gigabyte through the page cache cost about two
// seconds of kernel CPU in either direction (a tenth of that with
// O_DIRECT), a fifth of the whole build's CPU at ten million
// transactions. Where O_DIRECT is refused (tmpfs, other systems) the same
// code uses ordinary reads and writes.
package directio
