package rpcnode

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestDialUnreachable (issue 17 #17): a node address where nothing
// listens fails at once, saying so and naming the address, instead of
// retrying in silence for about 20 seconds.
func TestDialUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	for _, url := range []string{"http://" + addr, addr} {
		start := time.Now()
		_, err := Dial(context.Background(), Config{URL: url, User: "u", Pass: "p", NoTLS: true})
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), url) {
			t.Fatalf("%s: err = %v", url, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("%s: took %s", url, d)
		}
	}
}
