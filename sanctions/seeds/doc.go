// Package seeds reads the seed lists a trace starts from: CSV (header
// address,label,source,confidence; every column but address optional and
// extra columns ignored; a file without a header is one address per line,
// optionally followed by label, source, confidence), JSON (an array of
// objects with those keys, or of address strings) and YAML (a list of such
// mappings or of address strings). The format is taken from the file
// extension, or from the content when the extension says nothing.
//
// Every address is validated for the network given (*chaincfg.Params); a bad
// one is an error naming the file, the line (CSV, YAML) or element index
// (JSON) and why. Confidence is a number in [0, 1] or a GraphSense
// confidence id ("service_data" = 0.5). Duplicates are merged: the first
// occurrence keeps its place, empty fields are filled from later ones and the
// highest confidence wins.
package seeds
