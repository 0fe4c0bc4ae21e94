package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracer-oss/tracer/store/storetest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tracer test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestServeTLS: serve --tls-cert/--tls-key answers over HTTPS only, and
// the flags are checked.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	file := storetest.BtcdTestdata(t, "blk_0_to_14131.dat")
	db := filepath.Join(dir, "db")
	if code, _, errs := runCLI(t, "--db", db, "ingest", "--blocks", file, "--to-height", "200"); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errs)
	}
	certFile, keyFile, pool := selfSigned(t, dir)
	for _, args := range [][]string{{"--tls-cert", certFile}, {"--tls-key", keyFile}, {"--tls-cert", keyFile, "--tls-key", certFile}} {
		if code, _, errs := runCLI(t, append([]string{"--db", db, "serve", "--listen", "127.0.0.1:0"}, args...)...); code != 2 || !strings.Contains(errs, "tls") {
			t.Errorf("serve %v: exit %d: %s", args, code, errs)
		}
	}
	listen := "127.0.0.1:" + storetest.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"tracer", "--db", db, "serve", "--listen", listen, "--tls-cert", certFile, "--tls-key", keyFile}, &out, &errb)
	}()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve: exit %d: %s", code, errb.String())
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	var resp *http.Response
	var err error
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(100 * time.Millisecond) {
		if resp, err = client.Get("https://" + listen + "/healthz"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("https: %v (%s)", err, errb.String())
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("https /healthz: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	if !strings.Contains(errb.String(), "https://") {
		t.Errorf("serve does not say https: %s", errb.String())
	}
	// Plain HTTP to the TLS port gets no answer in clear.
	if r, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + listen + "/healthz"); err == nil {
		r.Body.Close()
		if r.StatusCode == 200 {
			t.Errorf("plain HTTP answered 200")
		}
	}
}
