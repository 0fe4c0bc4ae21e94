package rpcnode

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/btcsuite/btcd/chaincfg/chainhash"
	"github.com/btcsuite/btcd/rpcclient"

	"github.com/tracer-oss/tracer/store/network"
)

var (
	// ErrConfig is an unusable connection setting.
	ErrConfig = errors.New("rpcnode: bad configuration")
	// ErrUnreachable is a node nothing answers for at its address.
	ErrUnreachable = errors.New("rpcnode: cannot reach the node")
)

// dialTimeout bounds the first connection: btcd's client would otherwise
// retry a refused connection for about 20 seconds before saying anything.
const dialTimeout = 5 * time.Second

// Config says how to reach the node.
type Config struct {
	// URL is http://host:port (https:// for btcd's TLS) or host:port.
	URL string
	// User and Pass, or Cookie: the path of the node's .cookie file
	// (re-read when it changes, as Core rewrites it at each start).
	User, Pass string
	Cookie     string
	// NoTLS talks plain HTTP to host:port (btcd needs --notls then);
	// an http:// URL implies it.
	NoTLS bool
	// CertFile is the node's TLS certificate (btcd's rpc.cert) for https.
	CertFile string
	// Conns is the number of connections, one request each at a time; 0: 4.
	Conns int
}

// Client is a connection pool to one node. It implements ingest.Node.
type Client struct {
	pool    chan *rpcclient.Client
	all     []*rpcclient.Client
	network string
}

// Dial connects and asks the node which network it serves.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	host, tls, err := parseURL(cfg.URL, cfg.NoTLS)
	if err != nil {
		return nil, err
	}
	cc := &rpcclient.ConnConfig{Host: host, User: cfg.User, Pass: cfg.Pass, CookiePath: cfg.Cookie,
		HTTPPostMode: true, DisableTLS: !tls}
	if cfg.Cookie != "" && (cfg.User != "" || cfg.Pass != "") {
		return nil, fmt.Errorf("%w: give a cookie file or a user and password, not both", ErrConfig)
	}
	if cfg.Cookie != "" {
		if _, err := os.Stat(cfg.Cookie); err != nil {
			return nil, fmt.Errorf("%w: cookie file: %v", ErrConfig, err)
		}
	}
	if tls && cfg.CertFile != "" {
		if cc.Certificates, err = os.ReadFile(cfg.CertFile); err != nil {
			return nil, fmt.Errorf("%w: certificate: %v", ErrConfig, err)
		}
	}
	// Fail fast, with the address, when nothing listens there.
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v", ErrUnreachable, cfg.URL, err)
	}
	conn.Close() //nolint:errcheck // a probe connection that sent nothing
	n := cfg.Conns
	if n <= 0 {
		n = 4
	}
	c := &Client{pool: make(chan *rpcclient.Client, n)}
	for range n {
		rc, err := rpcclient.New(cc, nil)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("rpcnode: %w", err)
		}
		c.all = append(c.all, rc)
		c.pool <- rc
	}
	info, err := c.chainInfo(ctx)
	if err != nil {
		c.Close()
		return nil, err
	}
	nw, err := network.ByName(strings.TrimSuffix(info.Chain, "net")) // btcd says "mainnet", Core "main"
	if err != nil {
		if nw, err = network.ByName(info.Chain); err != nil {
			c.Close()
			return nil, fmt.Errorf("rpcnode: the node serves %q: %w", info.Chain, err)
		}
	}
	// The genesis hash must agree (testnet4 shares testnet3's parameters here).
	if nw.Name != "testnet4" {
		g, err := c.BlockHash(ctx, 0)
		if err != nil {
			c.Close()
			return nil, err
		}
		if g != *nw.Params.GenesisHash {
			c.Close()
			return nil, fmt.Errorf("rpcnode: the node says %s but its genesis block is %s", nw.Name, g)
		}
	}
	c.network = nw.Name
	return c, nil
}

func parseURL(s string, noTLS bool) (host string, tls bool, err error) {
	if s == "" {
		return "", false, fmt.Errorf("%w: no node URL", ErrConfig)
	}
	if !strings.Contains(s, "://") {
		return s, !noTLS, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", false, fmt.Errorf("%w: node URL %q", ErrConfig, s)
	}
	switch u.Scheme {
	case "http":
		return u.Host, false, nil
	case "https":
		if noTLS {
			return "", false, fmt.Errorf("%w: https URL with --rpc-notls", ErrConfig)
		}
		return u.Host, true, nil
	}
	return "", false, fmt.Errorf("%w: node URL scheme %q (http or https)", ErrConfig, u.Scheme)
}

// Network is the network the node serves ("mainnet", "regtest", …).
func (c *Client) Network() string { return c.network }

// Close ends every connection.
func (c *Client) Close() {
	for _, rc := range c.all {
		rc.Shutdown()
	}
}

// call runs one request on a pooled connection; ctx abandons the wait.
func (c *Client) call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	raw := make([]json.RawMessage, len(params))
	for i, p := range params {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		raw[i] = b
	}
	var rc *rpcclient.Client
	select {
	case rc = <-c.pool:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	type reply struct {
		v   json.RawMessage
		err error
	}
	done := make(chan reply, 1)
	go func() {
		v, err := rc.RawRequest(method, raw)
		c.pool <- rc
		done <- reply{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("rpcnode: %s: %w", method, r.err)
		}
		return r.v, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type chainInfo struct {
	Chain         string `json:"chain"`
	Blocks        int32  `json:"blocks"`
	BestBlockHash string `json:"bestblockhash"`
}

func (c *Client) chainInfo(ctx context.Context) (chainInfo, error) {
	var info chainInfo
	v, err := c.call(ctx, "getblockchaininfo")
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(v, &info); err != nil {
		return info, fmt.Errorf("rpcnode: getblockchaininfo: %w", err)
	}
	return info, nil
}

// Tip returns the best chain's height and tip hash, from one
// getblockchaininfo so that they agree.
func (c *Client) Tip(ctx context.Context) (int32, chainhash.Hash, error) {
	info, err := c.chainInfo(ctx)
	if err != nil {
		return 0, chainhash.Hash{}, err
	}
	h, err := chainhash.NewHashFromStr(info.BestBlockHash)
	if err != nil {
		return 0, chainhash.Hash{}, fmt.Errorf("rpcnode: getblockchaininfo: best block %q: %w", info.BestBlockHash, err)
	}
	return info.Blocks, *h, nil
}

// BlockHash returns the hash of the best chain's block at height.
func (c *Client) BlockHash(ctx context.Context, height int32) (chainhash.Hash, error) {
	v, err := c.call(ctx, "getblockhash", height)
	if err != nil {
		return chainhash.Hash{}, err
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return chainhash.Hash{}, fmt.Errorf("rpcnode: getblockhash %d: %w", height, err)
	}
	h, err := chainhash.NewHashFromStr(s)
	if err != nil {
		return chainhash.Hash{}, fmt.Errorf("rpcnode: getblockhash %d: %w", height, err)
	}
	return *h, nil
}

// Block returns the raw block (getblock with verbosity 0).
func (c *Client) Block(ctx context.Context, hash chainhash.Hash) ([]byte, error) {
	v, err := c.call(ctx, "getblock", hash.String(), 0)
	if err != nil {
		return nil, err
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("rpcnode: getblock %s: %w", hash, err)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("rpcnode: getblock %s: %w", hash, err)
	}
	return b, nil
}
