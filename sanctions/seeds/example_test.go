package seeds_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/btcsuite/btcd/chaincfg"

	"github.com/tracer-oss/tracer/sanctions/seeds"
)

func ExampleParse() {
	in := "address,label,confidence\n35irs2AU6pVgenYbWvMRz22avDBLC9XMkd,Chen Zhi,authority_data\n"
	list, err := seeds.Parse(context.Background(), strings.NewReader(in), "seeds.csv", &chaincfg.MainNetParams)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", list[0])
	// Output: {Address:35irs2AU6pVgenYbWvMRz22avDBLC9XMkd Label:Chen Zhi Source: Confidence:0.6}
}
