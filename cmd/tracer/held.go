package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
)

// heldHint is what a command says to do instead when a running tracer serve
// holds its store: an admin route for a change serve can make itself, its
// API for a question it answers, or else to stop it first.
type heldHint struct {
	admin   bool   // instead names an admin route (it needs serve --rpc --admin-keys)
	instead string // "" when neither the API nor an admin route does the command's work
	why     string // the command's work, for "stop it to ..."
}

// heldHints covers every command that opens a store (heldHints_test.go
// checks it against the command tree).
var heldHints = map[string]heldHint{
	"sanctions load":   {admin: true, instead: "post the list to /v1/admin/sanctions instead"},
	"sanctions update": {admin: true, instead: "download the list and post it to /v1/admin/sanctions instead"},
	"tags load":        {admin: true, instead: "post each pack to /v1/admin/tags?name=PACK instead"},
	"watch add":        {admin: true, instead: `post {"address": ADDR} to /v1/admin/watches instead`},
	"watch rm":         {admin: true, instead: "send DELETE /v1/admin/watches/ADDR instead"},
	"backup":           {admin: true, instead: "fetch GET /v1/admin/backup instead"},

	"sanctions use": {why: "make another list version current"},
	"tags remove":   {why: "remove a tag pack"},
	"ingest":        {why: "ingest (serve --rpc follows a node itself)"},
	"follow":        {why: "follow a node here, or run tracer serve --rpc, which follows it and serves the API"},
	"cluster":       {why: "cluster"},
	"serve":         {why: "serve the store again"},
	"verify":        {why: "verify the store"},
	"case verify":   {why: "run a bundle's trace again on the store"},

	"screen":             {instead: "ask its API instead: GET /v1/address/ADDR, or POST /v1/screen for a batch"},
	"sanctions check":    {instead: "ask its API instead: GET /v1/address/ADDR says whether an address is listed"},
	"trace":              {instead: "ask its API instead: GET /v1/trace?seed=ADDR (the same trace specification)"},
	"status":             {instead: "ask its API instead: GET /v1/status"},
	"address":            {instead: "ask its API instead: GET /v1/address/ADDR screens an address"},
	"case new":           {instead: "create the case through its API instead: POST /v1/cases"},
	"case list":          {instead: "ask its API instead: GET /v1/cases"},
	"case show":          {instead: "ask its API instead: GET /v1/cases/ID"},
	"case export":        {instead: "ask its API instead: GET /v1/cases/ID/bundle"},
	"jobs run":           {why: "run a batch of traces (its API runs one at a time: GET /v1/trace)"},
	"block":              {why: "look up blocks"},
	"tx":                 {why: "look up transactions"},
	"entity":             {why: "look up entities"},
	"sanctions list":     {why: "list the entries (GET /v1/status names the list in force)"},
	"sanctions diff":     {why: "diff list versions"},
	"sanctions versions": {why: "list the versions (GET /v1/status names the one in force)"},
	"tags show":          {why: "show tags"},
	"tags list":          {why: "list tags"},
	"watch list":         {why: "list the watches"},
	"export graph":       {why: "export the graph"},
	"export clusters":    {why: "export the clusters"},
}

// heldError is a store held by a running tracer serve, said in one line
// that names it and what to do instead.
type heldError struct {
	held *store.HeldError
	hint heldHint
}

func (e heldError) Error() string {
	h := e.held.Holder
	msg := fmt.Sprintf("store %s is held by %s", e.held.Dir, h)
	switch {
	case e.hint.instead != "" && e.hint.admin && !h.Admin:
		return msg + ": " + e.hint.instead + " (it serves admin routes only with --rpc and --admin-keys), or stop it first"
	case e.hint.instead != "":
		return msg + ": " + e.hint.instead
	case e.hint.why != "":
		return msg + ": stop it to " + e.hint.why
	}
	return msg + ": stop it first"
}

func (e heldError) Unwrap() error { return e.held }

// heldBy makes err, when it is a store held by a process that said who it
// is, the one line saying so for command c; other errors pass unchanged.
func heldBy(c *cli.Context, err error) error {
	var he *store.HeldError
	if !errors.As(err, &he) {
		return err
	}
	return heldError{held: he, hint: heldHints[commandName(c)]}
}

// commandName is c's command with its parents, "sanctions load" (the
// application's name left out).
func commandName(c *cli.Context) string {
	var names []string
	for _, l := range c.Lineage() {
		if l.Command != nil && l.Command.Name != "" && l.Command.Name != c.App.Name {
			names = append([]string{l.Command.Name}, names...)
		}
	}
	return strings.Join(names, " ")
}

// checkHeld refuses early, before a long parse, a change to a store a
// running tracer serve holds.
func checkHeld(c *cli.Context) error {
	if he := store.Held(c.String("db")); he != nil {
		return heldBy(c, he)
	}
	return nil
}
