package ofac

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Download fetches the list at URL u (http or https, else ErrURL) into a
// new file in dir, keeping the URL's file name so the parser can tell a .bz2
// or .zip apart, and refuses more than limit bytes. It returns the file's
// path; the caller removes dir.
func Download(ctx context.Context, u, dir string, limit int64, timeout time.Duration) (string, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
		return "", fmt.Errorf("%w %q: want http or https", ErrURL, u)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", u, err)
	}
	req.Header.Set("User-Agent", "tracer (sanctions update)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", u, err)
	}
	defer resp.Body.Close() //nolint:errcheck // a response body, only read
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("download %s: %s", u, resp.Status)
	}
	if resp.ContentLength > limit {
		return "", fmt.Errorf("download %s: %d bytes is over the %d MB limit", u, resp.ContentLength, limit>>20)
	}
	f, err := os.CreateTemp(dir, "*-"+downloadName(pu))
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, io.LimitReader(resp.Body, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("download %s: %w", u, err)
	}
	if n > limit {
		return "", fmt.Errorf("download %s: over the %d MB limit", u, limit>>20)
	}
	return f.Name(), nil
}

// downloadName is the local name of a download from pu: the URL's file
// name (sdn_advanced.xml when it has none usable), in lower case when it
// is XML or has no extension, so detection by name still works.
func downloadName(pu *url.URL) string {
	name := path.Base(pu.Path)
	if name == "." || name == "/" || name == "" || strings.ContainsAny(name, `\:`) {
		name = "sdn_advanced.xml"
	}
	if strings.EqualFold(filepath.Ext(name), ".xml") || !strings.Contains(name, ".") {
		name = strings.ToLower(name)
	}
	return name
}
