// Package address classifies output scripts into the address kinds the store
// indexes, and converts between their compact form (a kind byte and a 20- or
// 32-byte payload) and the network's own string encoding (base58, bech32,
// bech32m).
//
// Classification is a byte-pattern match on the script, about a hundred times
// cheaper than building the address string; strings are made only on output.
//
//	kind         payload                         string form
//	P2PK         HASH160(pubkey), 20 bytes       the key's P2PKH address, as block explorers show it
//	P2PKH        HASH160, 20 bytes               1… / m… / n…
//	P2SH         HASH160, 20 bytes               3… / 2…
//	P2WPKH       witness program, 20 bytes       bc1q… / tb1q… / bcrt1q…
//	P2WSH        witness program, 32 bytes       bc1q… (62 characters)
//	P2TR         x-only key, 32 bytes            bc1p… (bech32m)
//	Multisig     SHA256(script), 32 bytes        multisig:<hex>
//	NonStandard  SHA256(script), 32 bytes        script:<hex>
//	OpReturn     none                            (no address)
//
// A P2PK output and a P2PKH output of the same key share one address: Class
// maps both to the P2PKH class, so the address index lists them together.
package address
