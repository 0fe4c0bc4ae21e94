package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/tracer/export"
	"github.com/urfave/cli/v2"
)

func backupCommand() *cli.Command {
	return &cli.Command{
		Name:  "backup",
		Usage: "write a consistent snapshot of the store to one file, for read replicas",
		Description: `backup opens the --db store read-only and writes everything in it (blocks,
clusters, indexes, lists, tags, cases) as of one moment to FILE: Badger's
backup stream with a checksum. It runs beside readers and serve --read-only;
a store a writer holds (ingest, follow, serve) cannot be opened. It prints the
store's content digest: a replica made by tracer restore has the same one.

  tracer --db store backup --out /backups/store.backup
  scp /backups/store.backup replica:/data/
  replica$ tracer --db /data/store restore --in /data/store.backup
  replica$ tracer --db /data/store serve --read-only --listen :8080`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "backup `FILE` to write (replaced whole when done)"},
			jsonFlag,
		},
		Action: runBackup,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageErrorf("backup: %v", err)
		},
	}
}

func restoreCommand() *cli.Command {
	return &cli.Command{
		Name:  "restore",
		Usage: "make a new store from a backup file (a read replica)",
		Description: `restore checks the backup FILE whole (length and SHA-256), then writes a new
store into the --db directory, which must not exist or be empty; a bad file is refused
before anything is written. Serve the replica with serve --read-only: it
answers as the primary did when the backup was taken. The content digest it
prints equals the one tracer backup printed.

  tracer --db /data/store restore --in /data/store.backup`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "in", Usage: "backup `FILE` written by tracer backup"},
			jsonFlag,
		},
		Action: runRestore,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usageErrorf("restore: %v", err)
		},
	}
}

type backupView struct {
	File    string `json:"file"`
	Store   string `json:"store"`
	Bytes   int64  `json:"bytes"`
	Height  int32  `json:"height"`
	Hash    string `json:"hash,omitempty"`
	Schema  uint32 `json:"schema"`
	Keys    int64  `json:"keys"`
	Digest  string `json:"digest"`
	Restore bool   `json:"-"`
}

func runBackup(c *cli.Context) (err error) {
	if c.NArg() > 0 {
		return usageErrorf("backup: unexpected argument %q", c.Args().First())
	}
	out := c.String("out")
	if out == "" {
		return usageErrorf("backup: --out FILE is required")
	}
	st, err := openStore(c, true)
	if err != nil {
		return err
	}
	defer closing(st, &err)
	var bs store.BackupStats
	if err := export.WriteFile(out, func(w io.Writer) error {
		var err error
		bs, err = st.Backup(c.Context, w)
		return err
	}); err != nil {
		return err
	}
	d, n, err := st.Digest(c.Context)
	if err != nil {
		return err
	}
	return printBackup(c, backupView{File: out, Store: st.Dir(), Bytes: bs.Bytes, Height: bs.Height, Hash: bs.Hash,
		Schema: bs.Schema, Keys: n, Digest: hex.EncodeToString(d[:])})
}

func runRestore(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("restore: unexpected argument %q", c.Args().First())
	}
	in, db := c.String("in"), c.String("db")
	if in == "" || db == "" {
		return usageErrorf("restore: --in FILE and --db DIR are required")
	}
	bs, err := store.Restore(c.Context, in, db, store.Options{Logger: logger(c)})
	if err != nil {
		return badInputIf(err, store.ErrBadBackup, store.ErrExists)
	}
	st, err := store.Open(db, store.Options{ReadOnly: true, Logger: logger(c)})
	if err != nil {
		return err
	}
	d, n, err := st.Digest(c.Context)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return printBackup(c, backupView{File: in, Store: db, Bytes: bs.Bytes, Height: bs.Height, Hash: bs.Hash,
		Schema: bs.Schema, Keys: n, Digest: hex.EncodeToString(d[:]), Restore: true})
}

func printBackup(c *cli.Context, v backupView) error {
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	verb := "backed up %s into %s"
	if v.Restore {
		verb = "restored %[2]s into %[1]s"
	}
	fmt.Fprintf(c.App.Writer, verb+": %d bytes, tip %d %s, schema %d\n", v.Store, v.File, v.Bytes, v.Height, v.Hash, v.Schema)
	_, err := fmt.Fprintf(c.App.Writer, "content digest %s (%d keys)\n", v.Digest, v.Keys)
	return err
}
