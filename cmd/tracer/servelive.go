package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store/network"
	"github.com/tracer-oss/tracer/tracer/live"
	"github.com/tracer-oss/tracer/tracer/screen/api"
)

// serveLive is serve --rpc: one process that owns the store, follows the
// node and serves from a snapshot per block (package live).
func serveLive(c *cli.Context, keys, admins []api.Key, tlsCert *tls.Certificate) (err error) {
	pol, err := loadPolicy(c)
	if err != nil {
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
	n, err := network.ByName(node.Network())
	if err != nil {
		return err
	}
	opt, err := screenOptions(c, n.Params)
	if err != nil {
		return err
	}
	if state := st.State(); !state.Empty() {
		if err := withClusters(c, st, n.Params, &opt); err != nil {
			return err
		}
	}
	sinks, closeSinks, err := alertSinks(c, c.App.Writer)
	if err != nil {
		return err
	}
	defer closing(closerFunc(closeSinks), &err)
	audit := auditLog(c)
	svc, err := live.New(c.Context, st, live.Config{Follow: followConfig(c, node, sinks), Screen: opt, Policy: pol, Audit: audit, Logger: logger(c)})
	if err != nil {
		return err
	}
	defer svc.Close()
	// Each view serves the case workspace too: traces and chain reads on
	// its snapshot, case writes on the writing loop (live.Service).
	cfg := apiConfig(c, keys)
	cfg.Views, cfg.Admin, cfg.AdminKeys, cfg.Audit = svc.View, svc, admins, audit
	poll := c.Duration("poll")
	cfg.Metrics = svc.Status().WriteMetrics
	cfg.Health = func() error {
		if ok, last := svc.Status().Healthy(poll); !ok {
			return fmt.Errorf("not synced with the node (last good poll %s)", last.Format(time.RFC3339))
		}
		return nil
	}
	srv, err := api.New(cfg)
	if err != nil {
		return err
	}
	hs, ln, scheme, err := listenHTTP(c, srv, tlsCert, len(keys) > 0)
	if err != nil {
		return err
	}
	announceHolder(c, st, scheme, ln, len(admins) > 0)
	tip := svc.Tip()
	fmt.Fprintf(c.App.ErrWriter, "serve: %s://%s/ following %s node at %s from height %d (%d keys, %d admin keys)\n", scheme, ln.Addr(),
		node.Network(), c.String("rpc"), tip.Height, len(keys), len(admins))
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	work, done := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(done)
		work <- svc.Run(ctx, node)
	}()
	err = serveUntil(c, hs, ln, work)
	cancel()
	<-done // the store closes after its writer stopped
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.ErrWriter, "serve: stopped at height %d; run the same command to continue\n", st.State().Height)
	return nil
}
