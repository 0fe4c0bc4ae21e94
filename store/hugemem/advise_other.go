//go:build !linux

package hugemem

import "unsafe"

// advise does nothing here (see the Linux version).
func advise(p unsafe.Pointer, size uintptr) {}
