// Package chaingen generates a deterministic Bitcoin regtest chain with
// ground truth, for testing ingest, tracing and screening at any scale
// (GitHub issue 3). Generate writes, from a seed:
//
//	DIR/blocks/blk00000.dat ...   Bitcoin Core's layout: records of the regtest
//	                              magic fa bf b5 da, a uint32 LE length and the
//	                              block with witness; roll over at MaxFileSize
//	                              (128 MiB); the regtest genesis block first
//	DIR/blocks/xor.dat            with Config.XOR: 8-byte key (never all zero);
//	                              every blk byte is XORed with key[offset % 8],
//	                              the offset counted from the start of its file
//	                              (Bitcoin Core 28)
//	DIR/truth.json                the ground truth (schema below)
//	DIR/owners.csv                address,wallet,owner,kind: the owner of every
//	                              address the main chain pays, in order of its
//	                              first payment (streamed while generating)
//	DIR/collaborative.csv         txid,kind,height,inputs,owners: every
//	                              collaborative transaction (below)
//	DIR/change.csv                txid,vout: every output of a one-owner
//	                              transaction with two or more outputs that
//	                              pays the spender back (its change)
//	DIR/sanctions/sdn_advanced.xml  the sanctioned parties in OFAC's advanced
//	                              XML format; the XBT feature type id is 9344,
//	                              not OFAC's 344, so readers must match the text
//	                              "Digital Currency Address - XBT"
//	DIR/tags/exchanges.yaml       a GraphSense TagPack of exchange hot wallets and
//	                              the deposit addresses that are known (tagged)
//
// The same Config gives byte-identical files, whatever the number of
// workers: transactions are planned in one goroutine from seeded PCG
// streams, signed in parallel with deterministic signatures (RFC 6979 ECDSA,
// BIP340 Schnorr) and written in plan order.
//
// # Validity
//
// Every block is valid for btcd v0.24.2 and Bitcoin Core in regtest: BIP34
// height in each coinbase, merkle root, witness commitment (from
// ActivationHeight on), proof of work against 0x207fffff, timestamps of a
// seed-derived moment on 2025-01-01 plus ten minutes per block, coinbase
// maturity of 100, subsidy halving every 150 blocks. Regtest activates CSV,
// SegWit and Taproot by BIP9 signalling, so blocks 1–431 signal version
// 0x20000007 and carry only their coinbase; spends start at height 432
// (ActivationHeight), when btcd reports the deployments ACTIVE. The matured
// early coinbases (about 11,650 BTC) fund the economy through mining-pool
// style payouts. Keys are the consecutive scalars b+i with b = sha256(seed,
// tag), which lets a worker derive a run of public keys with one scalar
// multiplication; they are test keys, never to be used for real funds.
//
// # Signatures
//
// Signing is most of the generator's cost: one scalar multiplication per
// ECDSA signature, and one per P2TR address for its BIP86 tweak. With
// Config.Unsigned (gen --unsigned) every signature is a placeholder of a
// real one's form and size instead: a strict-DER, low-S ECDSA signature of
// 71 or 72 bytes with SIGHASH_ALL, or 64 bytes for Schnorr, drawn from a
// PCG seeded by the outpoint it spends; P2TR outputs then carry their
// internal key untweaked. Blocks keep the sizes and weights of a signed
// chain (within a few bytes a block) and every other byte-level property
// above except that no node accepts them. Ingest, tracing, clustering and
// screening never check a signature (they read only the coinbase's script),
// so the scale harness uses unsigned chains: about four times as many
// transactions per CPU-second (BenchmarkGenerate, -cpu 1: about 5,000
// signed, 21,000 unsigned).
//
// With Config.Shuffle blocks are written in a seeded random order within
// windows of 8 (children often precede parents, also across file
// boundaries). Config.Forks stale blocks are written too, in side branches of
// 1–3 valid blocks (the first of each repeating up to 20 of the main block's
// transactions at its height) that always lose on work.
//
// # Shape of the chain
//
// Non-coinbase transactions per block average Txs/(blocks after activation),
// at most 3,000 and never more than 3.9M weight; there are at least 46 (with
// scam-centre) or 12 blocks after activation. New user addresses draw their
// script type as: P2WPKH 52%, P2TR 20%, P2SH-P2WPKH 11%, P2PKH 11%, P2WSH
// 2-of-3 multisig 4%, P2PK 2%; coinbases pay P2WPKH (P2PK for 40% of the
// first 100 blocks, P2PKH 20%); about 1.5% of payments carry an OP_RETURN.
// The transaction mix (share of all transactions measured at 100,000 and
// 1,000,000 txs; the summary reports each run's):
//
//	payment, 1 input (payee + change, or send-all without change 20%;
//	  change as the wallet's profile says, payees reuse a known address
//	  20%; 3% add a 546-sat dust output) or 2–4 inputs of one wallet;
//	  0.2% are Stonewalls and PayJoins                                  58–67%
//	exchange deposit (to a customer's deposit address, one per customer) ~15%
//	batch payment (2–6 payees + change)                                    ~8%
//	consolidation (3–20 inputs of one wallet → 1; more when the pool is large) 5–12%
//	exchange withdrawal (a hot wallet pays 3–12 customers + change)       4–6%
//	collaborative: Whirlpool Tx0 and rounds, JoinMarket, WabiSabi (below) ~0.5%
//	peel chains (a 0.5+ BTC output peeled 10–70 hops, one hop per block)  ~0.2%
//	exchange sweeps (up to 100 deposits → a tagged hot wallet)           ~0.2%
//	mining payouts (a matured coinbase → 10–60 users, one+ a block)    0.1–0.4%
//
// That gives about 2.2–2.5 inputs and 2.5–2.8 outputs per transaction.
//
// Outputs under 20,000 sat are never spent again (dust), and the pool of
// spendable outputs is capped at three times a goal of 15 blocks' worth of
// transactions: above twice the goal consolidations become common, and
// beyond the cap small outputs are forgotten, like lost coins. Memory stays bounded (live
// heap about 80 MB at 2,000 txs a block) and the economy's value steady
// (TestEconomyLongRun, planning only: at 4,000,000 txs the pool holds about
// 63,000 outputs worth ~14,600 BTC, as it did at 1,000,000). The summary reports the
// measured script mix and the counts of each kind.
//
// # Mainnet shape
//
// Config.Shape = ShapeMainnet (gen --shape mainnet) keeps the economy above
// but changes three things, so that ingest and clustering meet mainnet's
// access patterns (the standard shape spends 99.9% of its coins within a
// day of blocks, so a bounded input cache catches every spend):
//
//   - The unspent set grows with the chain at UTXOsPerTx = 0.16 unspent
//     outputs per transaction. Mainnet: 174,434,793 unspent outputs at
//     height 894,719 (gettxoutsetinfo, in Alchemy's API reference, spring
//     2025), over about 1.15 billion transactions by then (the billionth was
//     in block 842,241 on 5 May 2024, Clark Moody's dashboard as reported by
//     Cointelegraph and others, plus about 52,500 blocks of roughly 3,000
//     transactions: an estimate), a ratio of 0.15; issue 19's ≈180 M at
//     1.1 B is 0.164. A controller keeps it: while the chain's unspent
//     outputs (those waiting to be spent included) are fewer than 0.16 per
//     transaction so far, new pool coins under 0.02 BTC are held for good
//     (mainnet's unspent set is mostly small outputs by count; holding
//     large ones would drain the economy).
//   - Coins are spent at mainnet-like ages. Of mainnet's spent outputs up to
//     February 2021, 80% lived less than a day and another 15% a day to a
//     month ("Deciphering Bitcoin blockchain data by cohort analysis",
//     Scientific Data 9, 2022, figure 3: doi 10.1038/s41597-022-01254-0),
//     leaving 5% older; the chance a coin is spent falls as a power law of
//     its age (M. Schröck, Glassnode, "Time is money: how coin age shapes
//     Bitcoin's spending patterns"). So each new pool coin draws: 80% join the pool at
//     once (spent within about a day, as in the standard shape); 15% come
//     due 144–4,320 blocks later (a day to a month of ten-minute blocks) and
//     5% 4,320 blocks to 15 years later, both log-uniform (a power law with
//     exponent −1). A coin due past the tip stays unspent while the unspent
//     set has room, else it is redrawn as due before the tip. Ages are in
//     blocks, so a chain shorter than a month of blocks (4,320; 8.6 M
//     transactions at 2,000 a block) has no spend older than a month: its
//     old coins are its unspent set, as on mainnet in its first month.
//   - Addresses are reused as on mainnet: about half of mainnet's outputs
//     pay an address paid before ("around 50%", BitMEX Research, "Bitcoin
//     address re-use statistics"; OXT's reuse ratio, outputs less new
//     addresses over outputs, was 41% in December 2017 and 54% in March
//     2019, as LongHash reported). Payees are a known address 70%
//     of the time (standard: 20%), which with fresh change gives 45–47% of
//     outputs to a reused address.
//
// Inputs and outputs per transaction stay the standard mix's (2.3–2.5 and
// 2.5–2.6 measured; about 2.7 and 2.9 on mainnet from issue 19's ≈3
// billion inputs per 1.1 billion transactions, a figure not checked here).
// The summary reports the measured unspent outputs, spend ages (under a
// day, a day to a month, older) and reuse. Measured (TestMainnetShape,
// 20 transactions a block, seed 3): 200,000 transactions over 10,433
// blocks: 0.160 unspent outputs per transaction (0.174 at 100,000), spends
// 82.8% / 16.7% / 0.5% by age, 46.9% of outputs to a reused address, 2.43
// inputs and 2.52 outputs per transaction; 1,000,000 transactions at the
// default 2,000 a block (932 blocks, about 3.5 days): 0.160 unspent per
// transaction, spends 96.0% / 4.0% / 0%, 46.3% reused. The test's bounds:
// unspent within 20% of 0.16 at both lengths, under a day 75–90%, a day
// to a month 8–20%, older 0.2–5%, reuse 35–55%, 2–3 inputs and outputs.
// The mainnet shape's bytes differ from the standard shape's for the same
// seed; the truth files (owners, collaborative, change, scenarios) are
// written as in the standard shape.
//
// # Wallets and owners
//
// Every address belongs to a wallet, and every wallet to an owner of one
// kind: user, merchant (a twentieth of the users' number, receiving a
// quarter of payments), exchange (hot and deposit wallets), mining-pool
// (three; coinbases), otc-desk, mixer (the Whirlpool coordinator's fee
// addresses), scam-operator (the sanctioned parties' wallets: one
// operation) and money-mule. Users are created on first use, a quarter of
// the pool goal of them (7,500 at 2,000 txs a block). A transaction spends
// only one owner's coins, except the collaborative ones, whose truth says
// how many owners they have. Ownership truth is per owner: Whirlpool's
// premix and postmix accounts are wallets of their user.
//
// Wallet software profiles decide change (share of wallets):
//
//	core (30%)            change of the payee's script type, random order, minimal coin selection
//	electrum (20%)        change of the wallet's type, outputs sorted by value (BIP69)
//	mobile (25%)          change last, of the wallet's type
//	mobile-mixed-type (8%) change last, of another type than the wallet's
//	legacy-reuse (7%)     change back to the first input's address, any amount
//	careless (10%)        change reused 10% of the time, random order, any amount
//
// Minimal coin selection pays, with two or more inputs, more than all but
// the smallest input could (no unnecessary input); 15–30% of payments are
// of a round amount. So each change heuristic of tracer/cluster is right
// for some wallets and wrong for others.
//
// # Collaborative transactions
//
// In the CoinJoin share of the mix: Whirlpool Tx0 (a user's coin pays the
// coordinator's fee, an OP_RETURN, 2–10 premix outputs of one pool
// denomination of 0.001, 0.01, 0.05 or 0.5 BTC plus a mining-fee
// allowance, and change; one owner) and rounds (5 inputs of 5 owners, at
// least one fresh premix, 5 outputs of exactly the denomination into the
// owners' postmix accounts; half remix), JoinMarket (a taker and 2–9
// makers, equal outputs, makers' changes with their fee), WabiSabi (20–60
// owners, 1–4 coins each, outputs of Wasabi 2's standard denominations,
// sorted by value). Among payments: Stonewall (solo, one owner) and
// STONEWALLx2 (two owners): two outputs of the amount and two changes;
// PayJoin (BIP78): a merchant adds a coin of the sender's script type. The
// scam's mix is a JoinMarket-like round. collaborative.csv names them:
// whirlpool-tx0, whirlpool, wabisabi, joinmarket, stonewall, stonewallx2,
// payjoin.
//
// # Scenarios
//
// scam-centre: two fictional sanctioned parties (GOLDEN LOTUS HOLDINGS LTD.,
// four seed addresses of types P2WPKH, P2TR, P2PKH, P2SH-P2WPKH; and ORLAND,
// Teodor, one P2WPKH) receive about 24 victim payments over six blocks and
// one clean OTC payment. The operators then send one victim payment straight
// to a tagged deposit address, consolidate the rest into two wallets, split
// them, mix one tainted output with the clean OTC coin in a two-output
// transaction (half to an untagged deposit), put one output through a
// CoinJoin-like transaction with six clean participants (two of whom later
// deposit their equal output at exchanges), and run three peel chains of 16,
// 12 and 8 hops whose payments go to the operators' tagged and untagged
// deposit addresses or to mules that forward whole amounts a block later.
// Tainted coins come back into the economy: every third mule (at most
// two) sells to an OTC desk instead, which pays a merchant with the coin
// and a customer from its clean inventory (bought from a clean user); a
// block later the merchant pays a supplier with the tainted coin and a
// clean coin of its own, and the customer pays a friend. The truth's flows
// list every output of these steps with its taint under each model; they
// are held, not spent again, so that truth stays exact.
// Exchanges sweep those deposits into tagged hot wallets like any other.
//
// The scenario's transactions come out of the Txs budget; it needs a few
// hundred (Txs >= 300) to play out fully.
//
// exchange: four fictional exchanges, each with three hot wallets (all
// tagged) and a deposit address per customer; every fifth customer's
// address is tagged, the rest are only found through their sweeps. The
// exchanges exist in every chain (the scam-centre needs them); the scenario
// decides whether their truth and tag pack are written.
//
// # Taint models
//
// The truth records, per deposit output, the tainted satoshi under five
// models, computed by Propagate (an independent reference calculator) over
// the scenario's transactions in chain order, starting from the victim
// payments into seed addresses (fully tainted) and treating exchange-owned
// outputs as terminal (taint is not followed through sweeps). The rules:
//
// For a tx with inputs in order (value v_i, tainted t_i) and outputs in order
// (value w_j), V=Σv, W=Σw, fee F=V−W, T=Σt. poison: if T>0 every output is
// fully tainted. haircut: tainted(o_j)=floor(T*w_j/V) using 128-bit or
// big-int math; the remainder T−Σ tainted(o_j) is the fee's share. FIFO: lay
// inputs in order on [0,V), outputs in order on [0,W) then the fee on [W,V);
// an output's taint is the tainted length overlapping its interval. LIFO: the
// same but with the inputs laid in REVERSE order (outputs still in order, fee
// last). TIHO: T is assigned to outputs in descending value (ties: lower
// index first), each up to its value; any rest goes to the fee. Worked
// example: inputs [3 tainted, 7 clean] → outputs [4,6], no fee: poison 4 and
// 6; haircut 1.2 and 1.8 (in satoshi: 3e8/7e8 → 1.2e8/1.8e8); FIFO 3 and 0;
// LIFO 0 and 3; TIHO 0 and 3.
//
// Two conventions the rules leave open: under FIFO and LIFO the tainted part
// of a partly tainted input lies at the start of that input's interval; under
// poison the fee's share is F when T>0 (poison alone does not conserve taint;
// the others satisfy Σ output taint + fee share = T).
//
// # truth.json
//
// Field names are stable; amounts are satoshi; txids are in the usual
// (byte-reversed) hex; heights are main-chain heights.
//
//	version             1
//	network, seed, scenarios, tip_height, tip_hash, blocks, txs
//	stale_blocks        hashes of the fork blocks
//	taint_models        ["poison","haircut","fifo","lifo","tiho"]
//	sanctioned_entities [{name, type: entity|individual, program, sdn_id, addresses}]
//	seeds               [{address, entity, funding: [{txid, vout, value, height}]}]
//	deposits            [{txid, vout, value, height, address, exchange, tagged,
//	                      clean_user, taint: {poison, haircut, fifo, lifo, tiho},
//	                      sweep_txid?, hot_wallet?}]
//	                    every scenario output paid to an exchange deposit address
//	paths               [{seed_address, funding_txid, funding_vout, txids, hops,
//	                      deposit_txid, deposit_vout, deposit_address, exchange,
//	                      tagged, height, amount}]
//	                    every route from a seed's funding output to a deposit;
//	                    txids[0] spends the funding output, each next one spends
//	                    an output of the previous, the last pays the deposit;
//	                    hops = len(txids)
//	clean               [{txid, vout, value, height, address, kind, taint,
//	                      clean_under}] outputs that received clean money: victims'
//	                    and the OTC payer's change, the CoinJoin's clean
//	                    participants' outputs (clean_under lists the models that
//	                    give them zero taint), deposits of clean users, the OTC
//	                    desk's seller's change and the flows clean under every model
//	flows               [{txid, vout, value, height, address, kind, taint,
//	                      clean_under}] every output of the economy flows (kinds
//	                    otc-merchant, otc-customer, merchant-supplier,
//	                    customer-payee, each also with -change)
//	scenario_txids      the scenario's transactions in chain order
//	exchanges           [{name, actor, hot_wallets, deposit_addresses,
//	                      tagged_deposit_addresses}]
//
// ReadTruth loads the file; the Truth types mirror it.
package chaingen
