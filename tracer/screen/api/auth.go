package api

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Key is an API key and the name it is known by in logs and limits.
type Key struct {
	Name   string
	Secret string
}

// LoadKeys reads a keys file: one key a line, "KEY" or "NAME KEY"; blank
// lines and lines starting with # are skipped. Keys shorter than 16
// characters are refused.
func LoadKeys(path string) ([]Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKeys, err)
	}
	defer f.Close() //nolint:errcheck // opened read-only: Close cannot lose data
	var keys []Key
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		k := Key{Name: fmt.Sprintf("key%d", len(keys)+1), Secret: fields[0]}
		if len(fields) == 2 {
			k = Key{Name: fields[0], Secret: fields[1]}
		} else if len(fields) > 2 {
			return nil, fmt.Errorf("%w: %s line %d: want KEY or NAME KEY", ErrBadKeys, path, n)
		}
		if len(k.Secret) < 16 {
			return nil, fmt.Errorf("%w: %s line %d: key shorter than 16 characters", ErrBadKeys, path, n)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadKeys, path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: %s holds no key", ErrBadKeys, path)
	}
	return keys, nil
}

// CheckBind refuses an address beyond loopback when no key is configured.
func CheckBind(addr string, keys int) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("api: bad listen address %q: %w", addr, err)
	}
	if keys > 0 {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return ErrNoKeys
}

// keyring compares keys by their SHA-256 in constant time, visiting every
// key whatever matches, so neither timing nor length tells a key apart.
type keyring struct {
	names  []string
	hashes [][32]byte
}

func newKeyring(keys []Key) *keyring {
	k := &keyring{}
	for _, key := range keys {
		k.names = append(k.names, key.Name)
		k.hashes = append(k.hashes, sha256.Sum256([]byte(key.Secret)))
	}
	return k
}

// match returns the name of the key given, or "".
func (k *keyring) match(given string) string {
	h := sha256.Sum256([]byte(given))
	found := -1
	for i := range k.hashes {
		if subtle.ConstantTimeCompare(h[:], k.hashes[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return ""
	}
	return k.names[found]
}

// limiter is a token bucket per client (key name or IP).
type limiter struct {
	rate  float64 // tokens a second; 0: no limit
	burst float64
	now   func() time.Time
	mu    sync.Mutex
	b     map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// peek reports whether client has a token, without taking it.
func (l *limiter) peek(client string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b[client]
	if b == nil {
		return true, 0
	}
	tokens := min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	if tokens < 1 {
		return false, time.Duration((1 - tokens) / l.rate * float64(time.Second))
	}
	return true, 0
}

func (l *limiter) allow(client string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.b) > 100_000 {
		clear(l.b) // bounded memory under many client IPs; buckets start full again
	}
	b := l.b[client]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.b[client] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens--
	return true, 0
}
