package screen_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tracer-oss/tracer/store"
	"github.com/tracer-oss/tracer/store/chaingen"
	"github.com/tracer-oss/tracer/tracer/screen"
	"github.com/tracer-oss/tracer/tracer/screen/screentest"
)

// Screen a sanctioned address and an exchange deposit address that received
// its funds, from the exposure index.
func ExampleScreener_Lookup() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "screen-example-")
	defer os.RemoveAll(dir)
	// A generated chain with the scam-centre case, its list and tags loaded,
	// and the index built (screen.BuildIndex).
	db, err := screentest.Build(ctx, dir, 1500, 3, screen.Options{Params: screentest.Params})
	if err != nil {
		fmt.Println(err)
		return
	}
	truth, _ := chaingen.ReadTruth(filepath.Join(dir, "chain", "truth.json"))
	st, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	s, err := screen.New(st, screen.Options{Params: screentest.Params})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := s.Lookup(ctx, truth.Seeds[0].Address)
	fmt.Println(r.Risk, r.Direct[0].Entity, r.Direct[0].Programs)
	for _, d := range truth.Deposits {
		if d.Tagged && d.Taint.Haircut > 0 {
			r, _ := s.Lookup(ctx, d.Address)
			e := r.Sanctioned()
			fmt.Println(r.Risk, r.Method, e.Amount == d.Taint.Haircut, e.Nearest != "", len(e.Sources[0].Path) > 1)
			break
		}
	}
	// Output:
	// sanctioned GOLDEN LOTUS HOLDINGS LTD. [CYBER2]
	// exposed index true true true
}
