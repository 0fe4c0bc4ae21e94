package main

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store/ingest"
	"github.com/tracer-oss/tracer/store/ingest/rpcnode"
	"github.com/tracer-oss/tracer/tracer/alert"
	"github.com/tracer-oss/tracer/tracer/follow"
)

// rpcFlags reach a node's JSON-RPC; ingest and follow share them.
func rpcFlags(required bool) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "rpc", Usage: "node JSON-RPC `URL` (http://127.0.0.1:8332, https://… for btcd TLS, or host:port)", Required: required},
		&cli.StringFlag{Name: "rpc-cookie", Usage: "the node's .cookie `FILE` (Bitcoin Core)"},
		&cli.StringFlag{Name: "rpc-user", Usage: "RPC user", EnvVars: []string{"TRACER_RPC_USER"}},
		&cli.StringFlag{Name: "rpc-pass", Usage: "RPC password", EnvVars: []string{"TRACER_RPC_PASS"}},
		&cli.BoolFlag{Name: "rpc-notls", Usage: "plain HTTP to a host:port (btcd --notls)"},
		&cli.StringFlag{Name: "rpc-cert", Usage: "btcd's rpc.cert `FILE` for https"},
		&cli.IntFlag{Name: "rpc-conns", Value: 4, Usage: "parallel RPC connections for the initial sync"},
		&cli.IntFlag{Name: "max-reorg", Value: 100, Usage: "deepest best-chain switch to undo; deeper stops with an error"},
	}
}

func dialNode(c *cli.Context) (*rpcnode.Client, error) {
	n, err := rpcnode.Dial(c.Context, rpcnode.Config{
		URL: c.String("rpc"), User: c.String("rpc-user"), Pass: c.String("rpc-pass"), Cookie: c.String("rpc-cookie"),
		NoTLS: c.Bool("rpc-notls"), CertFile: c.String("rpc-cert"), Conns: c.Int("rpc-conns"),
	})
	if err != nil {
		return nil, badInputIf(err, rpcnode.ErrConfig)
	}
	return n, nil
}

func followCommand() *cli.Command {
	return &cli.Command{
		Name:      "follow",
		Usage:     "keep the store on a live node's best chain and alert on watched addresses",
		ArgsUsage: " ",
		Description: `Syncs the store from a Bitcoin Core or btcd node over JSON-RPC, then polls it.
When the node's best chain switches, the store's abandoned blocks are undone
exactly and the new ones applied; a switch deeper than --max-reorg stops with
an error and leaves the store as it was. Transactions that pay into or spend
from a watched address (tracer watch add) raise alerts, stored in the same
commit as their block and delivered as JSON lines (--alerts FILE, or stdout)
and to a webhook (--webhook URL, signed with HMAC-SHA256 in X-Tracer-Signature
when --webhook-secret is set). Alerts of undone blocks are retracted. SIGINT
or SIGTERM stops it cleanly; run it again to continue.

Examples:
  tracer follow --rpc http://127.0.0.1:8332 --rpc-cookie ~/.bitcoin/.cookie --alerts alerts.jsonl
  tracer follow --rpc 127.0.0.1:18334 --rpc-notls --rpc-user u --rpc-pass p --webhook https://hooks.example/x --webhook-secret s3cret`,
		Flags: append(followFlags(true),
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:9101", Usage: "serve /healthz and /metrics here (\"\" for none)"},
		),
		Action: runFollow,
	}
}

// followFlags are the flags of following a node: follow's and serve
// --rpc's.
func followFlags(required bool) []cli.Flag {
	return append(rpcFlags(required),
		&cli.DurationFlag{Name: "poll", Value: 2 * time.Second, Usage: "how often to ask the node for new blocks"},
		&cli.StringFlag{Name: "alerts", Usage: "append alerts as JSON lines to `FILE` (default: stdout)"},
		&cli.StringFlag{Name: "webhook", Usage: "POST each alert to `URL`"},
		&cli.StringFlag{Name: "webhook-secret", Usage: "HMAC-SHA256 key for X-Tracer-Signature", EnvVars: []string{"TRACER_WEBHOOK_SECRET"}},
		&cli.IntFlag{Name: "workers", Usage: "block decoders (default: one per core)"},
	)
}

// alertSinks are where a follower's alerts go (--alerts FILE, else out;
// --webhook); close closes the file.
func alertSinks(c *cli.Context, out io.Writer) (sinks []alert.Sink, close func() error, err error) {
	close = func() error { return nil }
	if p := c.String("alerts"); p != "" {
		f, err := alert.OpenFile(p)
		if err != nil {
			return nil, nil, err
		}
		sinks, close = append(sinks, f), f.Close
	} else {
		sinks = append(sinks, &alert.WriterSink{W: out})
	}
	if u := c.String("webhook"); u != "" {
		sinks = append(sinks, &alert.WebhookSink{URL: u, Secret: []byte(c.String("webhook-secret"))})
	}
	return sinks, close, nil
}

// followConfig is the follower of the flags.
func followConfig(c *cli.Context, node *rpcnode.Client, sinks []alert.Sink) follow.Config {
	log := logger(c)
	return follow.Config{
		Sync: ingest.Config{Network: node.Network(), Workers: c.Int("workers"), MaxReorg: c.Int("max-reorg"),
			StartHeight: -1, ToHeight: -1, Logger: log},
		Poll:   c.Duration("poll"),
		Alerts: true,
		Sinks:  sinks,
		Logger: log,
	}
}

func runFollow(c *cli.Context) (err error) {
	if c.NArg() > 0 {
		return usageErrorf("follow takes no arguments (got %q)", c.Args().First())
	}
	if err := checkHeld(c); err != nil {
		return err
	}
	node, err := dialNode(c)
	if err != nil {
		return err
	}
	defer node.Close()
	st, err := createStore(c)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	sinks, closeSinks, err := alertSinks(c, c.App.Writer)
	if err != nil {
		return err
	}
	defer closing(closerFunc(closeSinks), &err)
	fmt.Fprintf(c.App.ErrWriter, "following %s node at %s from height %d\n", node.Network(), c.String("rpc"), st.State().Height)
	fc := followConfig(c, node, sinks)
	fc.Listen = c.String("listen")
	err = follow.Run(c.Context, st, node, fc)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "stopped at height %d; run the same command to continue\n", st.State().Height)
	return nil
}

// closerFunc is a func as an io.Closer.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }
