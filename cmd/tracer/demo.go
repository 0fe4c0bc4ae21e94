package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/ingest"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "ingest real mainnet blocks 0–14131 (shipped with the btcd module) and show lookups",
		Description: `Runs the main job on an embedded default: the first 14,132 mainnet blocks
that the btcd Go module ships (blockchain/testdata/blk_0_to_14131.dat), found
in the Go module cache (downloaded with "go mod download" if missing). It
ingests them into --out (default ./demo/store), then shows the store's
status, the first bitcoin payment (block 170) and an address lookup.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: filepath.Join("demo", "store"), Usage: "store `DIR` for the demo"},
			&cli.StringFlag{Name: "blocks", Usage: "use this block `FILE` instead of btcd's"},
		},
		Action: runDemo,
	}
}

func runDemo(c *cli.Context) error {
	file := c.String("blocks")
	if file == "" {
		var err error
		if file, err = btcdBlocksFile(); err != nil {
			return err
		}
	}
	w := c.App.Writer
	fmt.Fprintf(w, "== ingesting %s\n", file)
	st, err := store.Open(c.String("out"), store.Options{Logger: logger(c)})
	if err != nil {
		return err
	}
	prog := newProgress(c.App.ErrWriter)
	res, err := ingest.Run(c.Context, st, ingest.Config{Paths: []string{file}, StartHeight: -1, ToHeight: -1, Progress: prog.ingest})
	prog.finish()
	if err != nil {
		st.Close()
		return err
	}
	if res.Blocks > 0 {
		fmt.Fprintf(w, "ingested blocks %d–%d (%d txs) in %s\n", res.FromHeight, res.ToHeight, res.Txs, res.Elapsed.Round(1e6))
	} else {
		fmt.Fprintf(w, "already ingested (tip %d)\n", st.State().Height)
	}
	st.Close()
	db := c.String("out")
	steps := []struct {
		title string
		args  []string
	}{
		{"tracer status", []string{"status"}},
		{"tracer tx f4184fc5… (block 170: Satoshi pays Hal Finney 10 BTC)", []string{"tx", "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"}},
		{"tracer address 12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S --limit 5", []string{"address", "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", "--limit", "5"}},
	}
	for _, s := range steps {
		fmt.Fprintf(w, "\n== %s\n", s.title)
		app := newApp(w, c.App.ErrWriter)
		if err := app.RunContext(c.Context, reorderArgs(app, append([]string{"tracer", "--db", db}, s.args...))); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nThe store is in %s; try: tracer --db %s block 170\n", db, db)
	return nil
}

// btcdBlocksFile finds blk_0_to_14131.dat in the btcd module this binary
// was built with, downloading the module if the cache lacks it.
func btcdBlocksFile() (string, error) {
	version := "v0.24.2"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/btcsuite/btcd" {
				version = d.Version
			}
		}
	}
	mod := "github.com/btcsuite/btcd@" + version
	dir := ""
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		dir = filepath.Join(strings.TrimSpace(string(out)), "github.com", "btcsuite", "btcd@"+version)
	}
	file := filepath.Join(dir, "blockchain", "testdata", "blk_0_to_14131.dat")
	if _, err := os.Stat(file); err == nil && dir != "" {
		return file, nil
	}
	out, err := exec.Command("go", "mod", "download", "-json", mod).Output()
	if err != nil {
		return "", fmt.Errorf("demo: cannot find or download %s (needs the go command): %v; pass --blocks FILE", mod, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.Trim(k, `"`) == "Dir" {
			dir = strings.Trim(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), ",")), `"`)
		}
	}
	file = filepath.Join(dir, "blockchain", "testdata", "blk_0_to_14131.dat")
	if _, err := os.Stat(file); err != nil {
		return "", fmt.Errorf("demo: %s has no block file: %v", mod, err)
	}
	return file, nil
}
