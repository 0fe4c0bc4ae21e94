package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tracer-oss/tracer/tracer/screen/audit"
)

var auditLogFlag = &cli.StringFlag{Name: "audit-log", Usage: "the screening audit log `FILE` (default: audit.log in the --db directory)"}

// auditLog is the log every screen is appended to.
func auditLog(c *cli.Context) *audit.Log {
	path := c.String("audit-log")
	if path == "" {
		path = filepath.Join(c.String("db"), "audit.log")
	}
	return audit.Open(path)
}

// cliUser names who screened from the command line.
func cliUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "user:" + u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return "user:" + u
	}
	return "user:" + strconv.Itoa(os.Getuid())
}

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "show, verify and export the audit trail of screening",
		Description: `Every screen — tracer screen (one line per address, batch included) and
every API screen of tracer serve — is appended to the audit log: time, who
(API key name, client IP without keys, or the CLI user), input, address,
risk, policy level and rule, method, sanctions list version and chain tip.
The log is audit.log in the --db directory unless --audit-log says otherwise.

Lines are hash-chained: each carries the SHA-256 of the line before and of
itself, so verify detects an edited, removed, inserted or reordered line
and names the first bad one (exit 1). Lines cut off the end leave no trace
in the chain: keep the head hash verify prints somewhere else and pass it
back with --head to check that the log still holds it.

Examples:
   tracer audit show --limit 20
   tracer audit show --key key:alice --level severe,high --json
   tracer audit verify
   tracer audit verify --head 3f2a...
   tracer audit export --format csv --out audit-2026.csv`,
		Flags: []cli.Flag{auditLogFlag},
		Subcommands: []*cli.Command{
			{
				Name:  "show",
				Usage: "list entries (newest last)",
				Flags: []cli.Flag{jsonFlag, auditLogFlag,
					&cli.IntFlag{Name: "limit", Value: 50, Usage: "show the last `N` matching entries (0: all)"},
					&cli.StringFlag{Name: "key", Usage: "only entries of this API key or user (e.g. key:alice, user:bob)"},
					&cli.StringFlag{Name: "address", Usage: "only entries for this input or address"},
					&cli.StringFlag{Name: "level", Usage: "only these levels (comma-separated)"},
					&cli.StringFlag{Name: "since", Usage: "only entries at or after `DATE` (2006-01-02 or RFC 3339)"}},
				Action: runAuditShow,
			},
			{
				Name:   "verify",
				Usage:  "check the hash chain; exit 1 naming the first bad line",
				Flags:  []cli.Flag{jsonFlag, auditLogFlag, &cli.StringFlag{Name: "head", Usage: "also check that the log holds the entry with hash `HASH` (a head recorded earlier)"}},
				Action: runAuditVerify,
			},
			{
				Name:  "export",
				Usage: "write every entry as JSON lines or CSV (verifies the chain first)",
				Flags: []cli.Flag{auditLogFlag,
					&cli.StringFlag{Name: "format", Value: "jsonl", Usage: "jsonl or csv"},
					&cli.StringFlag{Name: "out", Usage: "write to `FILE` (default: stdout)"}},
				Action: runAuditExport,
			},
		},
	}
}

func openAuditFile(c *cli.Context) (*os.File, error) {
	l := auditLog(c)
	f, err := os.Open(l.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, badInput(fmt.Errorf("audit: no audit log at %s (nothing screened yet?)", l.Path()))
	}
	return f, err
}

func runAuditShow(c *cli.Context) error {
	if c.NArg() > 0 {
		return usageErrorf("audit show takes no arguments (use --address)")
	}
	var since time.Time
	if s := c.String("since"); s != "" {
		var err error
		if since, err = time.Parse("2006-01-02", s); err != nil {
			if since, err = time.Parse(time.RFC3339, s); err != nil {
				return usageErrorf("--since %q: want 2006-01-02 or RFC 3339", s)
			}
		}
	}
	levels := map[string]bool{}
	for _, l := range strings.Split(c.String("level"), ",") {
		if l = strings.TrimSpace(strings.ToLower(l)); l != "" {
			levels[l] = true
		}
	}
	f, err := openAuditFile(c)
	if err != nil {
		return err
	}
	defer f.Close() //nolint:errcheck // the audit log, opened read-only
	out, err := audit.Last(f, audit.Filter{Key: c.String("key"), Address: c.String("address"), Levels: levels, Since: since}, c.Int("limit"))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		if out == nil {
			out = []audit.Entry{}
		}
		return printJSON(c, out)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tKEY\tINPUT\tRISK\tLEVEL\tRULE\tLIST\tTIP")
	for _, e := range out {
		risk := e.Risk
		if e.Error != "" {
			risk = "error"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", e.Seq, e.Time.Format(time.RFC3339), e.Key, e.Input, orDash(risk),
			orDash(e.Level), orDash(e.Rule), e.ListVersion, e.TipHeight)
	}
	return tw.Flush()
}

type auditVerifyView struct {
	Log     string `json:"log"`
	OK      bool   `json:"ok"`
	Entries int    `json:"entries"`
	Head    string `json:"head,omitempty"`
	HeadSeq uint64 `json:"head_seq,omitempty"`
	Torn    int    `json:"torn_tail_bytes,omitempty"`
	BadLine int    `json:"bad_line,omitempty"`
	Error   string `json:"error,omitempty"`
}

func runAuditVerify(c *cli.Context) error {
	f, err := openAuditFile(c)
	if err != nil {
		return err
	}
	defer f.Close() //nolint:errcheck // the audit log, opened read-only
	v := auditVerifyView{Log: f.Name()}
	rep, err := audit.Verify(f)
	var be *audit.BrokenError
	switch {
	case errors.As(err, &be):
		v.BadLine, v.Error = be.Line, err.Error()
	case err != nil:
		return err
	default:
		v.OK, v.Entries, v.Head, v.HeadSeq, v.Torn = true, rep.Entries, rep.Head, rep.HeadSeq, rep.Torn
		if h := c.String("head"); h != "" && !rep.Contains(h) {
			v.OK, v.Error = false, fmt.Sprintf("audit: the log holds no entry with hash %s (entries cut off the end, or another log)", h)
		}
	}
	if c.Bool("json") {
		if err := printJSON(c, v); err != nil {
			return err
		}
	} else if v.OK {
		fmt.Fprintf(c.App.Writer, "%s: OK, %d entries, head %s (seq %d)\n", v.Log, v.Entries, v.Head, v.HeadSeq)
		if v.Torn > 0 {
			fmt.Fprintf(c.App.Writer, "%s: %d bytes of an interrupted append after the last line (the next screen cuts them off and notes it)\n", v.Log, v.Torn)
		}
	}
	if !v.OK {
		return errors.New(v.Error)
	}
	return nil
}

var auditCSVHeader = []string{"seq", "time", "source", "key", "input", "address", "risk", "level", "rule", "policy", "method",
	"list_version", "tip_height", "tip_hash", "error", "prev", "hash"}

func runAuditExport(c *cli.Context) error {
	format := c.String("format")
	if format != "jsonl" && format != "csv" {
		return usageErrorf("--format %q: want jsonl or csv", format)
	}
	f, err := openAuditFile(c)
	if err != nil {
		return err
	}
	defer f.Close() //nolint:errcheck // the audit log, opened read-only
	if _, err := audit.Verify(f); err != nil {
		return fmt.Errorf("%w; nothing exported (tracer audit verify shows the line)", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	w := c.App.Writer
	var outFile *os.File
	if out := c.String("out"); out != "" {
		if outFile, err = os.Create(out); err != nil {
			return err
		}
		defer outFile.Close() //nolint:errcheck // matters on failure only: success returns its Close below
		w = outFile
	}
	cw := csv.NewWriter(w)
	enc := json.NewEncoder(w)
	if format == "csv" {
		if err := cw.Write(auditCSVHeader); err != nil {
			return err
		}
	}
	err = audit.Read(f, func(e audit.Entry) error {
		if format == "jsonl" {
			return enc.Encode(e)
		}
		return cw.Write([]string{strconv.FormatUint(e.Seq, 10), e.Time.Format(time.RFC3339Nano), e.Source, e.Key, e.Input, e.Address,
			e.Risk, e.Level, e.Rule, e.Policy, e.Method, strconv.FormatUint(uint64(e.ListVersion), 10),
			strconv.FormatInt(int64(e.TipHeight), 10), e.TipHash, e.Error, e.Prev, e.Hash})
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	if outFile != nil {
		return outFile.Close()
	}
	return nil
}
