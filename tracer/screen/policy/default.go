package policy

import "strings"

// DefaultYAML is the built-in policy, used when no --policy is given.
const DefaultYAML = `# tracer's built-in risk policy. The highest level of all matching rules
# wins; among rules of that level the first listed is named.
name: default
rules:
  - name: listed
    level: severe
    category: sanctioned
    exposure: direct
  - name: abuse-tagged
    level: severe
    category: [terrorism, csam]
    exposure: direct
  - name: risky-tagged
    level: high
    category: [mixing_service, market, ransomware, scam, hack]
    exposure: direct
  - name: sanctioned-funds-1pct
    level: high
    category: sanctioned
    min_share: 1%
  - name: sanctioned-funds
    level: medium
    category: sanctioned
    exposure: indirect
  - name: risky-funds-near
    level: medium
    category: [mixing_service, market, ransomware, scam, hack, terrorism, csam]
    max_hops: 3
    min_share: 1%
  - name: risky-funds
    level: low
    category: [mixing_service, market, ransomware, scam, hack, terrorism, csam]
    exposure: indirect
`

// Default returns the built-in policy (parsed afresh: callers may keep and
// modify it).
func Default() *Policy {
	p, err := Parse(strings.NewReader(DefaultYAML), "built-in")
	if err != nil {
		panic("policy: the built-in policy does not parse: " + err.Error()) // a programming error; TestDefault catches it
	}
	return p
}
