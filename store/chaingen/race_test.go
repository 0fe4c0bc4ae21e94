//go:build race

package chaingen

// raceEnabled: timing assertions do not hold under the race detector.
const raceEnabled = true
