//go:build !race

package chaingen

const raceEnabled = false
