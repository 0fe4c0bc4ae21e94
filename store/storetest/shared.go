package storetest

import (
	"testing"

	"github.com/tracer-oss/tracer/sanctions/testfiles"
)

// FindShared is testfiles.FindShared.
//
// Deprecated: call testfiles.FindShared; this forwarder remains only until
// the branches that were written against it have merged.
func FindShared(rel string) (string, string) { return testfiles.FindShared(rel) }

// SharedFile is testfiles.Shared.
//
// Deprecated: call testfiles.Shared; this forwarder remains only until the
// branches that were written against it have merged.
func SharedFile(t testing.TB, rel string) string {
	t.Helper()
	return testfiles.Shared(t, rel)
}
