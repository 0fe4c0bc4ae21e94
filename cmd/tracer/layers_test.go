package main

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The module's imports run one way, from the top layer to the bottom:
//
//	cmd/  →  tracer/  →  store/  →  sanctions/
//
// A package may import its own layer and the layers below it, never one above:
// sanctions imports none of the others, store none of tracer or cmd, tracer
// not cmd. Test files and files behind build tags (integration) count too,
// because `go test ./store/...` builds whatever a store test imports.
var layerRank = map[string]int{"sanctions": 0, "store": 1, "tracer": 2, "cmd": 3}

// knownUpward are upward imports known and not yet removed, each with why.
// The list may only shrink: a new upward import fails the test.
var knownUpward = map[string]string{
	// Issue 17 (one wording for another network's address in every file
	// format) made the seed and tag parsers call address.Parse/Problem.
	// The fix is to move store/address, a domain type that imports nothing
	// of the module, down to the sanctions layer; 64 files import it, so
	// that move waits until the branches in flight have merged.
	"sanctions/seeds -> store/address": "issue 17: address.Parse in seed lists",
	"sanctions/tags -> store/address":  "issue 17: address.Parse in tag packs",
}

// layerViolations returns one line per import that runs upward, sorted;
// imports maps a package path relative to the module root (store/storetest)
// to the module packages its files import, and where (file names).
func layerViolations(imports map[string]map[string][]string) []string {
	var out []string
	for from, deps := range imports {
		fr, ok := layerRank[strings.Split(from, "/")[0]]
		if !ok {
			out = append(out, fmt.Sprintf("%s: package outside the layers cmd, tracer, store, sanctions", from))
			continue
		}
		for to, files := range deps {
			if _, known := knownUpward[from+" -> "+to]; known {
				continue
			}
			tr, ok := layerRank[strings.Split(to, "/")[0]]
			if !ok || tr > fr {
				out = append(out, fmt.Sprintf("%s imports %s (in %s): imports run cmd → tracer → store → sanctions",
					from, to, strings.Join(files, ", ")))
			}
		}
	}
	sort.Strings(out)
	return out
}

// moduleImports reads the import lines of every .go file under root (test
// files and all build tags included; testdata and dot-directories skipped)
// and returns the module-internal imports per package, relative to root.
func moduleImports(root, module string) (map[string]map[string][]string, error) {
	fset := token.NewFileSet()
	imports := map[string]map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		for _, spec := range f.Imports {
			path, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			dep, ok := strings.CutPrefix(path, module+"/")
			if !ok || dep == pkg {
				continue
			}
			if imports[pkg] == nil {
				imports[pkg] = map[string][]string{}
			}
			imports[pkg][dep] = append(imports[pkg][dep], filepath.Base(p))
		}
		return nil
	})
	return imports, err
}

// TestImportDirection fails on any import that runs upward (but the
// knownUpward ones). Before store/chaingen moved out of tracer/, it failed
// with:
//
//	layers_test.go:131: store/flow imports tracer/chaingen (in flow_test.go): imports run cmd → tracer → store → sanctions
//	layers_test.go:131: store/ingest imports tracer/chaingen (in scan_test.go, undo_test.go): imports run cmd → tracer → store → sanctions
//	layers_test.go:131: store/storetest imports tracer/chaingen (in bench.go, storetest.go): imports run cmd → tracer → store → sanctions
func TestImportDirection(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatalf("module root: %v", err)
	}
	module := ""
	for _, line := range strings.Split(string(mod), "\n") {
		if m, ok := strings.CutPrefix(line, "module "); ok {
			module = strings.TrimSpace(m)
		}
	}
	if module == "" {
		t.Fatal("go.mod: no module line")
	}
	imports, err := moduleImports(root, module)
	if err != nil {
		t.Fatal(err)
	}
	// The walk must see the layers, or an empty map would pass.
	for _, pkg := range []string{"cmd/tracer", "tracer/screen", "store/storetest", "store/ingest"} {
		if len(imports[pkg]) == 0 {
			t.Fatalf("no module imports read for %s: the walk of %s is broken", pkg, root)
		}
	}
	for _, v := range layerViolations(imports) {
		t.Error(v)
	}
	for k := range knownUpward {
		from, to, _ := strings.Cut(k, " -> ")
		if imports[from][to] == nil {
			t.Errorf("knownUpward %q no longer happens: remove it", k)
		}
	}
}

func TestLayerViolations(t *testing.T) {
	tests := []struct {
		name    string
		imports map[string]map[string][]string
		want    []string
	}{
		{"downward and sideways", map[string]map[string][]string{
			"cmd/tracer":      {"tracer/screen": {"screen.go"}, "store": {"lookup.go"}, "sanctions/ofac": {"sanctions.go"}},
			"tracer/screen":   {"tracer/taint": {"screen.go"}, "store/flow": {"screen.go"}},
			"store/storetest": {"store/chaingen": {"bench.go"}, "store/ingest": {"storetest.go"}},
			"sanctions/ofac":  {"sanctions": {"ofac.go"}},
		}, nil},
		{"store test reaches up into tracer", map[string]map[string][]string{
			"store/storetest": {"tracer/chaingen": {"bench.go", "storetest.go"}},
		}, []string{"store/storetest imports tracer/chaingen (in bench.go, storetest.go): imports run cmd → tracer → store → sanctions"}},
		{"sanctions imports store", map[string]map[string][]string{
			"sanctions/tags": {"store": {"tags.go"}},
		}, []string{"sanctions/tags imports store (in tags.go): imports run cmd → tracer → store → sanctions"}},
		{"tracer imports cmd", map[string]map[string][]string{
			"tracer/jobs": {"cmd/tracer": {"run.go"}},
		}, []string{"tracer/jobs imports cmd/tracer (in run.go): imports run cmd → tracer → store → sanctions"}},
		{"a known upward import passes, a new one from the same package fails", map[string]map[string][]string{
			"sanctions/tags": {"store/address": {"tags.go"}, "store": {"tags.go"}},
		}, []string{"sanctions/tags imports store (in tags.go): imports run cmd → tracer → store → sanctions"}},
		{"package outside the layers", map[string]map[string][]string{
			"util": {"store": {"util.go"}},
		}, []string{"util: package outside the layers cmd, tracer, store, sanctions"}},
		{"import of a package outside the layers", map[string]map[string][]string{
			"store": {"internal/x": {"store.go"}},
		}, []string{"store imports internal/x (in store.go): imports run cmd → tracer → store → sanctions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := layerViolations(tt.imports)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
