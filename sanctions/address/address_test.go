package address

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chaincfg"
)

func TestClassifyMainnet(t *testing.T) {
	tests := []struct {
		name   string
		script string
		kind   Kind
		addr   string
	}{
		// Genesis coinbase output: P2PK, shown as its P2PKH address.
		{"p2pk genesis", "4104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac", P2PK, "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"},
		{"p2pkh", "76a914c825a1ecf2a6830c4401620c3a16f1995057c2ab88ac", P2PKH, "1KFHE7w8BhaENAswwryaoccDb6qcT6DbYY"},
		{"p2sh", "a914e9c3dd0c07aac76179ebc76a6c78d4d67c6c160a87", P2SH, "3P14159f73E4gFr7JterCCQh9QjiTjiZrG"},
		{"p2wpkh", "0014751e76e8199196d454941c45d1b3a323f1433bd6", P2WPKH, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"},
		{"p2wsh", "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262", P2WSH, "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"},
		{"p2tr", "5120a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c", P2TR, "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr"},
		{"op_return", "6a0568656c6c6f", OpReturn, ""},
		{"empty", "", NonStandard, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script, err := hex.DecodeString(tc.script)
			if err != nil {
				t.Fatal(err)
			}
			a := Classify(script)
			if a.Kind != tc.kind {
				t.Fatalf("kind = %v, want %v", a.Kind, tc.kind)
			}
			if tc.addr == "" {
				return
			}
			if got := a.String(&chaincfg.MainNetParams); got != tc.addr {
				t.Fatalf("String = %s, want %s", got, tc.addr)
			}
			back, err := Parse(tc.addr, &chaincfg.MainNetParams)
			if err != nil {
				t.Fatal(err)
			}
			if !back.Same(a) {
				t.Fatalf("Parse(%s) = %+v, not the same as %+v", tc.addr, back, a)
			}
		})
	}
}

func TestMultisig(t *testing.T) {
	key := "21" + "02" + "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
	script, _ := hex.DecodeString("51" + key + key + "52ae")
	a := Classify(script)
	if a.Kind != Multisig {
		t.Fatalf("kind = %v", a.Kind)
	}
	s := a.String(&chaincfg.MainNetParams)
	back, err := Parse(s, &chaincfg.MainNetParams)
	if err != nil || back != a {
		t.Fatalf("round trip %s: %v %+v", s, err, back)
	}
	bad, _ := hex.DecodeString("51" + key + "52ae") // says 2 keys, has 1
	if Classify(bad).Kind != NonStandard {
		t.Fatal("malformed multisig classified as multisig")
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"", "notanaddress", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "script:zz", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"} {
		if _, err := Parse(s, &chaincfg.MainNetParams); err == nil {
			t.Errorf("Parse(%q) succeeded on mainnet", s)
		}
	}
	if _, err := Parse("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", &chaincfg.TestNet3Params); err != nil {
		t.Errorf("testnet address refused: %v", err)
	}
}

func FuzzClassify(f *testing.F) {
	f.Add([]byte{0x76, 0xa9, 0x14})
	f.Add([]byte{0x51, 0x21, 0x02})
	f.Fuzz(func(t *testing.T, script []byte) {
		a := Classify(script)
		if !a.Kind.Valid() {
			t.Fatalf("invalid kind %d", a.Kind)
		}
		_ = a.String(&chaincfg.MainNetParams)
	})
}

func BenchmarkClassify(b *testing.B) {
	script, _ := hex.DecodeString("0014751e76e8199196d454941c45d1b3a323f1433bd6")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = Classify(script)
	}
}

// TestLongAddress: Parse refuses a 1 MB "address" (base58 characters, whose
// decoding is quadratic) at once, with a short message that gives its
// length. (The sanctions parsers' cases are in sanctions/address_test.go.)
func TestLongAddress(t *testing.T) {
	long := strings.Repeat("1", 1<<20)
	start := time.Now()
	_, err := Parse(long, &chaincfg.MainNetParams)
	if d := time.Since(start); d > 10*time.Second { // loose for loaded CI machines; the quadratic decode takes 17 s
		t.Errorf("took %s", d)
	}
	if err == nil {
		t.Fatal("a 1 MB address was accepted")
	}
	if msg := err.Error(); len(msg) > 1000 {
		t.Errorf("the message is %d bytes long", len(msg))
	} else if !strings.Contains(msg, "1048576") {
		t.Errorf("the message does not give the length: %.300s", msg)
	}
}

// TestParseWrongNetwork is issue 17 #8: an address of another network is
// named as such, with one wording for every encoding (base58 P2PKH and
// P2SH, bech32, bech32m), instead of "unknown address type".
func TestParseWrongNetwork(t *testing.T) {
	for _, tc := range []struct {
		addr, want string
		params     *chaincfg.Params
	}{
		{"1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "mainnet address; this store is regtest", &chaincfg.RegressionNetParams},
		{"3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "mainnet address; this store is regtest", &chaincfg.RegressionNetParams},
		{"bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "mainnet address; this store is regtest", &chaincfg.RegressionNetParams},
		{"bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "mainnet address; this store is regtest", &chaincfg.RegressionNetParams},
		{"tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "testnet or signet address; this store is regtest", &chaincfg.RegressionNetParams},
		{"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "testnet, signet or regtest address; this store is mainnet", &chaincfg.MainNetParams},
		{"bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080", "regtest address; this store is mainnet", &chaincfg.MainNetParams},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			_, err := Parse(tc.addr, tc.params)
			var ne *NetworkError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &ne) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v; want ErrInvalid naming %q", err, tc.want)
			}
		})
	}
	for _, s := range []string{"notvalid", "bc1qnotanaddress", "1BoatSLRHtKNngkdXEeobR76b53LETtpyU"} {
		_, err := Parse(s, &chaincfg.RegressionNetParams)
		var ne *NetworkError
		if !errors.Is(err, ErrInvalid) || errors.As(err, &ne) || !strings.Contains(err.Error(), "is not a Bitcoin address") {
			t.Errorf("Parse(%q): %v; want not a Bitcoin address", s, err)
		}
	}
	if a, p, err := ParseAny("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"); err != nil || p != &chaincfg.RegressionNetParams || a.Kind != P2WPKH {
		t.Errorf("ParseAny: %v %v %v", a, p, err)
	}
}
