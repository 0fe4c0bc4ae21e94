package report_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/tracer-oss/tracer/tracer"
	"github.com/tracer-oss/tracer/tracer/report"
)

func ExampleBTC() {
	fmt.Println(report.BTC(150_000_000), report.BTC(546), report.BTC(-1))
	// Output: 1.50000000 0.00000546 -0.00000001
}

func ExampleWrite() {
	r := &tracer.Result{
		SchemaVersion: 1,
		Hits: []tracer.Hit{{
			Entity: "Binance", Category: "exchange", TagSource: "tags v1", Via: "tag",
			Address: "bc1qdeposit", Txid: "f00d", Vout: 1, Height: 800_000, Time: "2023-07-24 03:14:15 UTC",
			Hops: 2, Value: 120_000_000, Tainted: 60_000_000, Share: 0.5, SeedAddress: "bc1qseed",
			Path: []tracer.Step{{Txid: "beef", Height: 799_990}, {Txid: "f00d", Height: 800_000}},
		}},
	}
	fmt.Println(strings.Join(report.Formats(), " "))
	if err := report.Write(os.Stdout, "csv", r); err != nil {
		fmt.Println(err)
	}
	// Output:
	// text json csv dot svg html
	// entity,category,tag_source,via,address,txid,vout,height,time_utc,hops,value_btc,tainted_btc,share,seed_address,path
	// Binance,exchange,tags v1,tag,bc1qdeposit,f00d,1,800000,2023-07-24 03:14:15 UTC,2,1.20000000,0.60000000,0.500000,bc1qseed,beef>f00d
}
