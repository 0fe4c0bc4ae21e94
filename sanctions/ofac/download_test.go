package ofac

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDownload(t *testing.T) {
	body := strings.Repeat("x", 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			http.NotFound(w, r)
		case "/stream.XML":
			w.(http.Flusher).Flush() // no Content-Length: the limit is found while copying
			w.Write([]byte(body))
		default:
			w.Write([]byte(body))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	tests := []struct {
		name, url string
		limit     int64
		file      string // the downloaded file's name ends so
		err       string
		is        error
	}{
		{"name kept", srv.URL + "/lists/sdn_advanced.xml.bz2", 1 << 20, "-sdn_advanced.xml.bz2", "", nil},
		{"xml lower-cased", srv.URL + "/stream.XML", 1 << 20, "-stream.xml", "", nil},
		{"no name", srv.URL + "/", 1 << 20, "-sdn_advanced.xml", "", nil},
		{"not found", srv.URL + "/gone", 1 << 20, "", "404", nil},
		{"over the limit, announced", srv.URL + "/big.xml", 50, "", "over the 0 MB limit", nil},
		{"over the limit, streamed", srv.URL + "/stream.XML", 50, "", "over the 0 MB limit", nil},
		{"ftp", "ftp://example.org/sdn.xml", 1 << 20, "", "want http or https", ErrURL},
		{"not a URL", "::", 1 << 20, "", "want http or https", ErrURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			got, err := Download(ctx, tt.url, dir, tt.limit, 10*time.Second)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || (tt.is != nil && !errors.Is(err, tt.is)) {
					t.Fatalf("Download = %q, %v; want an error with %q", got, err, tt.err)
				}
				return
			}
			if err != nil || filepath.Dir(got) != dir || !strings.HasSuffix(got, tt.file) {
				t.Fatalf("Download = %q, %v; want a file in %s ending %s", got, err, dir, tt.file)
			}
			if b, err := os.ReadFile(got); err != nil || string(b) != body {
				t.Errorf("downloaded %d bytes, %v; want the %d served", len(b), err, len(body))
			}
		})
	}
}
