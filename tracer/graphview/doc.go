// Package graphview is the interactive graph viewer shared by the HTML
// report and the case page of tracer serve: a graph model built from a
// trace result (transactions and addresses as nodes, clustered addresses
// as their entity, hits and the paths to them marked) and a small plain
// JavaScript and SVG viewer embedded in the binary (pan, zoom, fit, fan-out
// groups, a height filter, a details panel). Nothing is fetched from the
// network at view time.
package graphview
