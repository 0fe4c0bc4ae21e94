//go:build !unix

package audit

import "os"

// lockFile: without flock, appends are serialized within one process only.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
