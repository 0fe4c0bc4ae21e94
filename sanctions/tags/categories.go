package tags

import (
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
