package graphview

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
)

//go:embed viewer.js
var viewerJS string

//go:embed viewer.css
var viewerCSS string

// Script is the viewer's JavaScript, for a <script> element. It defines
// TracerGraph.mount(element, graph, options).
func Script() template.JS { return template.JS(viewerJS) }

// Style is the viewer's CSS, for a <style> element.
func Style() template.CSS { return template.CSS(viewerCSS) }

// JS returns g as a JavaScript value for a <script> element. encoding/json
// escapes <, > and &, so no string in the graph can end the element.
func JS(g *Graph) (template.JS, error) {
	b, err := json.Marshal(g)
	if err != nil {
		return "", fmt.Errorf("graphview: %w", err)
	}
	return template.JS(b), nil
}
