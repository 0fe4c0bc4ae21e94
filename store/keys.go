package store

import (
	"encoding/binary"

	"github.com/tracer-oss/tracer/sanctions/address"
)

// Key families. Every integer in a key is big-endian, so byte order is
// numeric order and keys of one block arrive almost sorted.
//
//	prefix  key fields (size in bytes)                               value
//	'm'     name (n)                                                  metadata: "schema" → uint32 version;
//	                                                                  "state" → JSON State (tip, counts, network)
//	'b'     height (4)                                                block record: header (80), first TxNum (8),
//	                                                                  tx count (4), size (4), weight (4)
//	'h'     block hash (32)                                           height (4)
//	'x'     TxNum (8)                                                 tx record (see appendTx in records.go): txid,
//	                                                                  height, position, sizes, fee, inputs as
//	                                                                  (TxNum delta, vout), outputs as (value and
//	                                                                  kind, payload)
//	't'     txid[0:5] (5), TxNum (5)                                  empty; the txid index. The prefix may collide:
//	                                                                  callers check the full txid in the tx record
//	's'     funding TxNum (5), vout (3)                               input index·2 (uvarint), spender TxNum less
//	                                                                  funding TxNum less 1 (big-endian, 3–8 bytes;
//	                                                                  see appendInPoint in records.go); one prefix
//	                                                                  seek returns all spenders of a tx
//	'a'     class (1), payload[0:5] (5), TxNum (5)                    empty; the address index in chain order, one
//	                                                                  entry per transaction paying the address (the
//	                                                                  outputs are found in the tx record). The
//	                                                                  prefix may collide: callers check the full
//	                                                                  address of every output in the tx record
//	'm'     "sanctions-current" (17)                                  uint32 version of the sanctions list in force
//	                                                                  (the last loaded, or the one tracer sanctions
//	                                                                  use chose); absent until the first list is loaded
//	'L'     version (4)                                               JSON ListVersion: source, format, date of issue,
//	                                                                  loaded-at, entry count per asset, warnings
//	'E'     version (4), address (n), 0x00, asset (n), 0x00,          JSON sanctions.Entry; address first so one
//	        profile id (8), feature id (8)                            prefix seek (version, address, 0x00) finds the
//	                                                                  entries of an address for every asset
//	'm'     "tag-gen" (7)                                             uint32 last tag generation handed out
//	'P'     pack name (n)                                             JSON TagPack header (title, source, counts,
//	                                                                  generation in force)
//	'G'     address (n), 0x00, pack name (n), 0x00, gen (4), seq (4)  JSON sanctions.Tag; prefix (address, 0x00) finds
//	                                                                  every tag of an address; readers skip a gen
//	                                                                  other than the pack header's
//	'Q'     pack name (n), 0x00, gen (4), seq (4)                     the 'G' key, so a reload deletes the pack's old
//	                                                                  generations
//	'A'     actor pack name (n)                                       JSON ActorPack header: title, source,
//	                                                                  generation, actor count
//	'O'     actor id (n), 0x00, actor pack name (n)                   JSON sanctions.Actor (id, label, categories); a tag
//	                                                                  naming the actor reads its categories with one
//	                                                                  prefix seek (actor id, 0x00)
//	'm'     "cluster-state" (13)                                      JSON ClusterState: next TxNum to cluster, next
//	                                                                  address id, counters, change rules, size guard,
//	                                                                  journal flag (a commit's 'j' nodes are being
//	                                                                  copied to 'c'), dirty flag (undone by a reorg)
//	'm'     "forest-table" (12)                                       JSON generation, slot count and hash seed of the
//	                                                                  cluster forest's address table file, written
//	                                                                  with "cluster-state"; the forest itself is in
//	                                                                  files (store/clusterforest.go), not keys
//	'k', 'c'                                                          the forest of older versions (address ids,
//	                                                                  nodes); dropped when they cluster again
//	'C'     TxNum (8), root id (8), root id (8)                       JSON ClusterRefusal: a merge of two clusters both
//	                                                                  larger than the size guard, refused
//	'J'     address id (8)                                            cluster node (uvarints): parent id (itself at a
//	                                                                  root), size (at a root), TxNum+1 of the union
//	                                                                  that set the parent (0 at a root), next member
//	                                                                  (a ring per cluster); then kind (1), payload:
//	                                                                  the journal of a commit under way, read before
//	                                                                  the forest file while the state says Journal,
//	                                                                  deleted otherwise
//	'u'     TxNum (8): the NextTx a commit stored                      undo record of that commit: uvarint length, JSON
//	                                                                  previous ClusterState, then (uvarint id, uvarint
//	                                                                  length, previous node as in 'J') per node it changed;
//	                                                                  the newest 1,000 are kept, for exact undo on reorg
//	'm'     "exposure-gen" (12)                                       uint32 last exposure index generation handed out
//	'm'     "exposure-current" (16)                                   uint32 exposure index generation in force
//	'Z'     gen (4)                                                   JSON ExposureIndex header: list version, tip and
//	                                                                  tag generations it was built for
//	'z'     gen (4), address (n)                                      obsolete (index format 1): a drawn exposure record;
//	                                                                  deleted with its generation (records are drawn
//	                                                                  from 'Y' and 'y' on read now)
//	'y'     gen (4), TxNum (8)                                        per-source shares of one tainted transaction
//	                                                                  (encoded by the screen package): per source
//	                                                                  group its path predecessor, per followed
//	                                                                  output the group's tainted amount and hops
//	'Y'     gen (4), address (n)                                      per-source accumulators of one exposed address
//	                                                                  (amount, hops, largest contribution); absent:
//	                                                                  no exposure. A generation whose header says
//	                                                                  "files" has its built 'y' and 'Y' records in
//	                                                                  exposure/gen-N.txs and .acc (exposurefile.go);
//	                                                                  its keys here are the updates since, an empty
//	                                                                  value deleting the file's record
//	'U'     gen (4), height (4)                                       undo record of one block applied by an update
//	                                                                  (screen package): hash, TxNum range, previous
//	                                                                  'Y' values of the addresses it touched
//	'D'     gen (4), address (n)                                      obsolete (index format 1): a 'z' record to redraw;
//	                                                                  deleted with its generation
//	'w'     kind (n), 0x00, value (n)                                 JSON Watch: an address, an entity name or the
//	                                                                  whole sanctions list to alert on
//	'W'     sequence (8), from 1                                      JSON Alert: status (pending, delivered,
//	                                                                  retracted, withdrawn), height, block hash, the alert it
//	                                                                  retracts (for a notice), rendered body
//	'm'     "follow-alert-next" (17)                                  uint64 next alert sequence: entries at or past
//	                                                                  it are a killed commit's and are deleted
//	'm'     "watch-gen" (9)                                           uint64 generation of the watch list, bumped with
//	                                                                  each watch added or removed (outbox.go)
//	'm'     "follow-undo" (11)                                        JSON undo mark while an undo is under way:
//	                                                                  heights and TxNums being removed (undo.go)
//	'm'     "case-next" (9)                                           uint64 next case id (cases.go)
//	'K'     case id (8)                                               case record (JSON, encoded by tracer/cases):
//	                                                                  seeds, parameters, notes, expansions
//	'r'     case id (8)                                               JSON trace result of the case's latest run
//	'j'     case id (8), sequence (4), from 1                         JSON CaseEvent: the case's log (who, when,
//	                                                                  what); append-only
//
// A sanctions list is written in one Badger transaction together with the
// "sanctions-current" pointer, so a failed or interrupted load leaves the
// previous version in force; old versions are kept for diff. A tag pack
// (like an exposure index) may exceed one transaction: its tags go to a new generation in write
// batches and the pack header, written last, switches readers to it.
//
// The cluster forest is written by the clustering pass after ingest to
// files that readers read only up to what "cluster-state" counts, with a
// journal for changed nodes (see ClusterWriter in cluster.go).
//
// Per transaction with i inputs and o outputs the ingester writes at most
// 2 + i + o keys ('x', 't', one 's' per known input, one 'a' per distinct
// address prefix among its outputs).
//
// What they take, measured on the generated 1M-tx chain (2.44 inputs and
// 2.54 outputs per transaction; on disk: the family's tables, ZSTD over 16
// KB blocks, BenchmarkIngest; by field: the record as written,
// BenchmarkRecordFields), in bytes per transaction, 190 in all:
//
//	'x' 132.5: txid 32, output payloads 57.3, output values and kinds 10.0,
//	    inputs 7.4, vsize and witness size 3.2, fee 2.1, height 2.0,
//	    position 1.9, counts 2.0, key and Badger's per-entry overhead 14.6
//	'a'  24.5 (2.5 keys), 's' 21.6 (2.4 keys), 't' 10.3
//
// Most of it is hashes (txid, payloads, the prefixes in 't' and 'a') that no
// encoding shrinks. Encodings were compared by building Badger tables of the
// chain's entries each way: uvarints lose to fixed-width big-endian fields
// where a value is a high-entropy number beside hashes ('s': 21.6 against
// 24.3 for the spender's distance as a uvarint), and win inside the tx
// record (fixed-width input distances or values took 2–5 bytes more); amounts
// compressed as Bitcoin Core's UTXO set does took 0.7 more; 64 KB blocks
// would save 1.4 on 'x'. Dropping height and position from the tx record
// (both follow from the block records) would save 4.1.
//
// The txid and address prefixes are 5 bytes (40 bits) because every key
// costs disk and ingest time (measured on the generated 1M-tx chain: 8-byte
// txid and address prefixes and a vout in the address key took 9 bytes per
// transaction more on disk). At today's 1.2 billion transactions a txid
// lookup reads on average 1.001 tx records, and an address shares its
// prefix with another address of its class with a probability near 0.1%;
// both cost extra reads, never wrong answers.
const (
	prefixMeta    = 'm'
	prefixBlock   = 'b'
	prefixHash    = 'h'
	prefixTx      = 'x'
	prefixTxID    = 't'
	prefixSpent   = 's'
	prefixAddress = 'a'

	prefixListVersion = 'L'
	prefixListEntry   = 'E'
	prefixTagPack     = 'P'
	prefixTag         = 'G'
	prefixPackTag     = 'Q'
	prefixActorPack   = 'A'
	prefixActor       = 'O'

	prefixClusterAddr    = 'k'
	prefixClusterNode    = 'c'
	prefixClusterRefusal = 'C'
	prefixClusterJournal = 'J' // not 'j': the case log has it (they shared it, and a cluster commit dropped the case logs)
	prefixClusterUndo    = 'u'
	prefixExposure       = 'z'
	prefixExposureIndex  = 'Z'
	prefixExposureTx     = 'y'
	prefixExposureAcc    = 'Y'
	prefixExposureUndo   = 'U'
	prefixExposureDirty  = 'D'
	prefixWatch          = 'w'
	prefixAlert          = 'W'
	prefixCase           = 'K'
	prefixCaseResult     = 'r'
	prefixCaseLog        = 'j'
)

// chainFamily reports whether p is the prefix of a family ingest writes
// for every block (the chain families above; a bulk load drops and
// rewrites them).
func chainFamily(p byte) bool {
	switch p {
	case prefixBlock, prefixHash, prefixTx, prefixTxID, prefixSpent, prefixAddress:
		return true
	}
	return false
}

// SchemaVersion is bumped whenever a key family or record layout changes.
const SchemaVersion = 4

var (
	keySchema = []byte{prefixMeta, 's', 'c', 'h', 'e', 'm', 'a'}
	keyState  = []byte{prefixMeta, 's', 't', 'a', 't', 'e'}

	keySanctionsCurrent = append([]byte{prefixMeta}, "sanctions-current"...)
	keyTagGen           = append([]byte{prefixMeta}, "tag-gen"...)
)

func blockKey(height int32) []byte {
	k := make([]byte, 5)
	k[0] = prefixBlock
	binary.BigEndian.PutUint32(k[1:], uint32(height))
	return k
}

func hashKey(hash *[32]byte) []byte {
	k := make([]byte, 33)
	k[0] = prefixHash
	copy(k[1:], hash[:])
	return k
}

func txKey(n TxNum) []byte {
	k := make([]byte, 9)
	k[0] = prefixTx
	binary.BigEndian.PutUint64(k[1:], uint64(n))
	return k
}

// In the txid, spent-by and address-index keys, which repeat for every
// input and output, transaction numbers take 5 bytes (up to 2^40, a
// thousand times today's chain) and output indexes 3 (up to 2^24; a block's
// weight limit allows under 500,000 outputs).
const (
	numLen  = 5
	voutLen = 3
	// idLen is the length of the txid and address payload prefixes.
	idLen = 5
)

func putNum(k []byte, n TxNum) {
	k[0], k[1], k[2], k[3], k[4] = byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
}

func getNum(k []byte) TxNum {
	return TxNum(k[0])<<32 | TxNum(k[1])<<24 | TxNum(k[2])<<16 | TxNum(k[3])<<8 | TxNum(k[4])
}

func putVout(k []byte, v uint32) { k[0], k[1], k[2] = byte(v>>16), byte(v>>8), byte(v) }

func getVout(k []byte) uint32 { return uint32(k[0])<<16 | uint32(k[1])<<8 | uint32(k[2]) }

const (
	txidPrefixLen = 1 + idLen
	txidKeyLen    = txidPrefixLen + numLen
	spentKeyLen   = 1 + numLen + voutLen
	addrPrefixLen = 2 + idLen
	addrKeyLen    = addrPrefixLen + numLen
)

func txidKey(txid *[32]byte, n TxNum) []byte {
	k := make([]byte, txidKeyLen)
	k[0] = prefixTxID
	copy(k[1:txidPrefixLen], txid[:idLen])
	putNum(k[txidPrefixLen:], n)
	return k
}

// txidKeyNum is the transaction number in a txid-index key.
func txidKeyNum(k []byte) TxNum { return getNum(k[txidPrefixLen:]) }

func txidPrefix(txid *[32]byte) []byte { return txidKey(txid, 0)[:txidPrefixLen] }

func spentKey(op OutPoint) []byte {
	k := make([]byte, spentKeyLen)
	k[0] = prefixSpent
	putNum(k[1:], op.Tx)
	putVout(k[1+numLen:], op.Vout)
	return k
}

// spentKeyOutPoint is the output a spent-by key names.
func spentKeyOutPoint(k []byte) OutPoint {
	return OutPoint{Tx: getNum(k[1:]), Vout: getVout(k[1+numLen:])}
}

func spentPrefix(n TxNum) []byte {
	k := make([]byte, 1+numLen)
	k[0] = prefixSpent
	putNum(k[1:], n)
	return k
}

func addrPrefix(a *address.Addr) []byte { return addrKey(a, 0)[:addrPrefixLen] }

func addrKey(a *address.Addr, n TxNum) []byte {
	return appendAddrKey(make([]byte, 0, addrKeyLen), a, n)
}

// addrKeyNum is the transaction an address-index key names.
func addrKeyNum(k []byte) TxNum { return getNum(k[addrPrefixLen:]) }

// appendAddrKey writes an address-index key into buf to spare allocations.
func appendAddrKey(buf []byte, a *address.Addr, n TxNum) []byte {
	buf = append(buf, prefixAddress, byte(a.Kind.Class()))
	buf = append(buf, a.Payload[:idLen]...)
	return append(buf, byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}
