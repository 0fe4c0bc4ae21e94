//go:build !linux

package store

import "unsafe"

// adviseHuge does nothing here (see the Linux version).
func adviseHuge(p unsafe.Pointer, size uintptr) {}
