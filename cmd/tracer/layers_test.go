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

// moduleViolations reads the module rooted at root and returns its upward
// imports (layerViolations). It fails if the walk sees none of the layers
// that must import something: an empty map would pass.
func moduleViolations(root string, mustImport ...string) ([]string, error) {
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("module root: %w", err)
	}
	module := ""
	for _, line := range strings.Split(string(mod), "\n") {
		if m, ok := strings.CutPrefix(line, "module "); ok {
			module = strings.TrimSpace(m)
		}
	}
	if module == "" {
		return nil, fmt.Errorf("%s: no module line", filepath.Join(root, "go.mod"))
	}
	imports, err := moduleImports(root, module)
	if err != nil {
		return nil, err
	}
	for _, pkg := range mustImport {
		if len(imports[pkg]) == 0 {
			return nil, fmt.Errorf("no module imports read for %s: the walk of %s is broken", pkg, root)
		}
	}
	return layerViolations(imports), nil
}

// TestImportDirection fails on any import that runs upward. Before
// store/chaingen moved out of tracer/, it failed with:
//
//	layers_test.go:131: store/flow imports tracer/chaingen (in flow_test.go): imports run cmd → tracer → store → sanctions
//	layers_test.go:131: store/ingest imports tracer/chaingen (in scan_test.go, undo_test.go): imports run cmd → tracer → store → sanctions
//	layers_test.go:131: store/storetest imports tracer/chaingen (in bench.go, storetest.go): imports run cmd → tracer → store → sanctions
//
// and before store/address moved down to sanctions/address (the seed and tag
// parsers call address.Parse), with:
//
//	layers_test.go:150: sanctions/seeds imports store/address (in seeds.go): imports run cmd → tracer → store → sanctions
//	layers_test.go:150: sanctions/tags imports store/address (in tags.go): imports run cmd → tracer → store → sanctions
//
// TestImportDirectionFailsOnWrongImport shows it failing on a module written
// with a wrong import.
func TestImportDirection(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	violations, err := moduleViolations(root, "cmd/tracer", "tracer/screen", "store/storetest", "store/ingest", "sanctions/tags")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		t.Error(v)
	}
}

// TestImportDirectionFailsOnWrongImport writes a small module whose parser
// package imports the store, as sanctions/tags once imported store/address,
// and checks that the walk of TestImportDirection reports exactly that
// import, from a test file and a file behind a build tag too.
func TestImportDirectionFailsOnWrongImport(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":                       "module example.com/m\n\ngo 1.22\n",
		"sanctions/address/address.go": "package address\n",
		"sanctions/tags/tags.go":       "package tags\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/m/sanctions/address\"\n\t\"example.com/m/store/address\"\n)\n",
		"store/address/address.go":     "package address\n\nimport \"example.com/m/sanctions/address\"\n",
		"store/storetest/storetest.go": "package storetest\n\nimport \"example.com/m/store/address\"\n",
		"store/storetest/gen_test.go":  "package storetest\n\nimport \"example.com/m/tracer/gen\"\n",
		"tracer/gen/gen.go":            "//go:build integration\n\npackage gen\n\nimport \"example.com/m/cmd/tracer\"\n",
		"tracer/gen/testdata/x/x.go":   "package x\n\nimport \"example.com/m/cmd/tracer\"\n",
		"cmd/tracer/main.go":           "package main\n\nimport \"example.com/m/tracer/gen\"\n",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := moduleViolations(root, "sanctions/tags")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"sanctions/tags imports store/address (in tags.go): imports run cmd → tracer → store → sanctions",
		"store/storetest imports tracer/gen (in gen_test.go): imports run cmd → tracer → store → sanctions",
		"tracer/gen imports cmd/tracer (in gen.go): imports run cmd → tracer → store → sanctions",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
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
		{"a parser imports the store's address package", map[string]map[string][]string{
			"sanctions/tags": {"store/address": {"tags.go"}, "sanctions/address": {"tags.go"}},
		}, []string{"sanctions/tags imports store/address (in tags.go): imports run cmd → tracer → store → sanctions"}},
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

// parsers are the packages that read published files; store keeps their
// domain types (package sanctions) and must not need them.
var parsers = []string{"sanctions/ofac", "sanctions/tags", "sanctions/seeds"}

// storeParserImports returns one line per non-test file of a store package
// that imports a parser.
func storeParserImports(imports map[string]map[string][]string) []string {
	var out []string
	for from, deps := range imports {
		if from != "store" && !strings.HasPrefix(from, "store/") || from == "store/storetest" {
			continue
		}
		for _, p := range parsers {
			for _, f := range deps[p] {
				if !strings.HasSuffix(f, "_test.go") {
					out = append(out, fmt.Sprintf("%s imports the parser %s (in %s): the store keeps domain types, the tracer/lists loaders parse", from, p, f))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestStoreImportsNoParser: before sanctions.TagPack and sanctions.Actor
// took the parsed packs' types out of sanctions/tags, it failed with
//
//	store imports the parser sanctions/tags (in actors.go): the store keeps domain types, the tracer/lists loaders parse
//	store imports the parser sanctions/tags (in lists.go): the store keeps domain types, the tracer/lists loaders parse
func TestStoreImportsNoParser(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	imports, err := moduleImports(root, "github.com/tracer-oss/tracer")
	if err != nil {
		t.Fatal(err)
	}
	if len(imports["store"]) == 0 {
		t.Fatal("no imports read for store")
	}
	for _, v := range storeParserImports(imports) {
		t.Error(v)
	}
	// And the check can fail.
	bad := map[string]map[string][]string{"store": {"sanctions/tags": {"lists.go", "lists_test.go"}}, "store/storetest": {"sanctions/ofac": {"x.go"}}}
	if got := storeParserImports(bad); len(got) != 1 || !strings.Contains(got[0], "(in lists.go)") {
		t.Errorf("a store file importing sanctions/tags: got %q", got)
	}
}
