// Package outdir makes the folders commands write their results under,
// refusing symbolic links there: a link planted under an output folder
// (out/<job> pointing elsewhere) would otherwise send the writes outside it.
package outdir
