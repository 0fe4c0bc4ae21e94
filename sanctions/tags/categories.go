package tags

import (
	"slices"
	"sort"
	"strings"
)

// Categories (GraphSense concept ids) that the tracer treats specially.
const (
	CategoryExchange      = "exchange"
	CategoryMixingService = "mixing_service"
	CategoryCoinJoin      = "coinjoin"
	CategoryGambling      = "gambling"
	CategoryMiner         = "miner"
	CategoryMiningService = "mining_service"
	CategoryWalletService = "wallet_service"
	CategoryMarket        = "market"
	CategoryService       = "service"
	CategoryUser          = "user"
	CategoryOrganization  = "organization"
	CategoryPerpetrator   = "perpetrator"
)

// Abuse kinds (GraphSense concept ids).
const (
	AbuseRansomware  = "ransomware"
	AbuseScam        = "scam"
	AbuseServiceHack = "service_hack"
	AbuseSanction    = "sanction"
	AbuseMixing      = "mixing"
)

var knownCategories = map[string]bool{
	CategoryExchange: true, CategoryMixingService: true, CategoryCoinJoin: true, CategoryGambling: true,
	CategoryMiner: true, CategoryMiningService: true, CategoryWalletService: true, CategoryMarket: true,
	CategoryService: true, CategoryUser: true, CategoryOrganization: true, CategoryPerpetrator: true,
	"defi": true, "defi_dex": true, "defi_lending": true, "defi_bridge": true, "payment_processor": true,
	"faucet": true, "donation": true, "ico_wallet": true, "hosting": true, "vpn": true, "shop": true,
	"atm": true, "otc_broker": true, "bridge": true, "smart_contract": true, "entity": true, "unknown": true,
	"cold_wallet": true, "hot_wallet": true, "darknet_crawled": true, "miner_pool": true,
}

var knownAbuses = map[string]bool{
	AbuseRansomware: true, AbuseScam: true, AbuseServiceHack: true, AbuseSanction: true, AbuseMixing: true,
	"ponzi_scheme": true, "phishing": true, "sextortion": true, "terrorism": true, "financial_crime": true,
	"investment_fraud": true, "extortion": true, "sexual_abuse": true, "child_sexual_abuse": true,
	"human_trafficking": true, "violence": true, "murder": true, "torture": true, "darkweb": true,
	"darknet_market": true, "malware": true, "hack": true, "theft": true, "fraud": true, "abuse": true,
	"drugs": true, "weapons": true, "money_laundering": true,
}

// concepts are the ids of GraphSense's concept taxonomy (concepts.yaml of
// graphsense-tagpack-tool, 2023-01-27), which tag categories and abuse
// kinds are both drawn from.
var concepts = strings.Fields(`unknown behaviour source mention website_mention forum_mention abuse gray_usage
mixing white_usage sexual_abuse child_sexual_abuse violence human_trafficking murder torture scam financial_crime
investment_fraud ponzi_scheme pyramid_scheme money_laundering extortion sextortion phishing hacking service_hack
account_hack exploit data_breach social_engineering malware drugs weapons payment_card_fraud ransomware sanction
counterfeit extremism terrorism terrorism_financing dark_web entity organization user service victim perpetrator
donation exchange wallet_service escrow_wallet ico_wallet cold_wallet hot_wallet warm_wallet filesharing index
market messaging_service mixing_service coinjoin miner mining_service gambling search_engine shop faucet
payment_processor atm hosting vpn nameservice defi defi_token defi_lending defi_dex defi_dex_pair defi_derivatives
defi_bridge defi_dao defi_staking defi_custody item collectible`)

// KnownConcept reports whether c is a category or abuse id a TagPack may
// use: GraphSense's concept taxonomy and the tracer's own additions.
func KnownConcept(c string) bool {
	c = NormalizeCategory(c)
	return knownCategories[c] || knownAbuses[c] || slices.Contains(concepts, c)
}

// NormalizeCategory lower-cases and trims a category or abuse id.
func NormalizeCategory(c string) string { return strings.ToLower(strings.TrimSpace(c)) }

// KnownCategory reports whether c is a category the tracer knows.
func KnownCategory(c string) bool { return knownCategories[NormalizeCategory(c)] }

// KnownAbuse reports whether a is an abuse kind the tracer knows.
func KnownAbuse(a string) bool { return knownAbuses[NormalizeCategory(a)] }

// Categories lists the known categories, sorted.
func Categories() []string { return sortedKeys(knownCategories) }

// Abuses lists the known abuse kinds, sorted.
func Abuses() []string { return sortedKeys(knownAbuses) }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
