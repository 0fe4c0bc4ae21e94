// Package policy turns a screening result into a risk level a compliance
// team decides: a policy is an ordered list of rules, each naming the
// categories it is about (sanctioned, mixing_service, market, ransomware,
// scam, hack, ... — the tag vocabulary of sanctions/tags), whether it looks
// at the address itself (direct: listed or tagged) or at funds it received
// (indirect exposure), and limits on the exposure's amount, share and hops.
// A rule that matches gives its level: severe, high, medium, low or none.
//
// Precedence: the highest level of all matching rules wins; among matching
// rules of that level the first in the file is the one named. An address no
// rule matches is rated none with no rule.
//
// A policy is a YAML file:
//
//	name: acme-2026
//	rules:
//	  - name: listed                  # required, unique
//	    level: severe                 # required: severe|high|medium|low|none
//	    category: sanctioned          # required: one category or a list; "any" for every one
//	    exposure: direct              # direct | indirect | any (default)
//	  - name: sanctioned-1pct
//	    level: high
//	    category: sanctioned
//	    min_share: 1%                 # of everything received: 1% or 0.01
//	  - name: mixer-near
//	    level: medium
//	    category: [mixing_service]
//	    max_hops: 3                   # the nearest source at most 3 transactions away
//	    min_amount: 0.001 BTC         # satoshi (an integer) or "N BTC"
//
// direction (received, sent, any) says which flow of funds a rule is about;
// screens report received exposure. min_amount, min_share, min_hops,
// max_hops and direction only concern indirect exposure, so a rule that
// sets one matches indirect exposure only (exposure: direct with one of
// them is an error). min_amount and min_share compare the category's whole
// exposure; min_hops and max_hops its nearest source.
//
// Default is the built-in policy (DefaultYAML); the README shows it.
package policy
