// tracer graph viewer: plain JavaScript and SVG, no dependencies, no network.
// TracerGraph.mount(element, graph, options) draws graph ({nodes, edges,
// counts, direction}) with pan, zoom, fit, fan-out groups, a height filter
// and a details panel. options.expand(node, direction) and
// options.note(node, text) return promises (the case page); without them
// the viewer is read-only (the report).
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var FANOUT = 12; // more leaves than this under one node are drawn as a group
  var COLW = 250, ROWH = 48, NW = 190, NH = 34;
  var HIT = "#d62728", SEED = "#ffbf00", HOLD = "#1f77b4";
  var CATEGORY = { sanctioned: "#9467bd", exchange: "#2ca02c", mixer: "#8c564b", mixing_service: "#8c564b",
    gambling: "#e377c2", darknet: "#17becf", ransomware: "#bcbd22", coinbase: "#c7c7c7", scam: "#ff9896" };

  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) { if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(e);
    return e;
  }
  function h(tag, attrs, text, parent) {
    var e = document.createElement(tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined && text !== null) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function btc(sat) {
    sat = sat || 0;
    var neg = sat < 0; if (neg) sat = -sat;
    var s = Math.floor(sat / 1e8) + "." + String(sat % 1e8).padStart(8, "0");
    return (neg ? "-" : "") + s;
  }
  function short(s) { return !s ? "" : s.length > 18 ? s.slice(0, 8) + "…" + s.slice(-6) : s; }
  function taintFill(share) {
    // white to orange by taint share
    var t = Math.max(0, Math.min(1, share || 0));
    var r = Math.round(255 - t * (255 - 230)), g = Math.round(255 - t * (255 - 85)), b = Math.round(255 - t * (255 - 13));
    return "rgb(" + r + "," + g + "," + b + ")";
  }

  function Viewer(root, graph, opt) {
    this.root = root; this.opt = opt || {};
    this.hidden = {}; this.open = {}; this.sel = null; this.mode = "taint";
    this.hmin = null; this.hmax = null; this.dir = this.opt.direction || "forward";
    this.build();
    this.setData(graph, true);
  }

  Viewer.prototype.build = function () {
    var self = this, root = this.root;
    root.classList.add("gv");
    root.textContent = "";
    var bar = h("div", { "class": "gv-bar" }, null, root);
    function button(action, label, title) {
      var b = h("button", { "type": "button", "data-action": action, "title": title || label }, label, bar);
      return b;
    }
    button("fit", "Fit", "fit the graph to the screen").onclick = function () { self.fit(); };
    button("zoom-in", "+", "zoom in").onclick = function () { self.zoom(1 / 1.4); };
    button("zoom-out", "−", "zoom out").onclick = function () { self.zoom(1.4); };
    var colour = h("select", { "data-action": "colour", "title": "colour nodes by" }, null, bar);
    h("option", { "value": "taint" }, "colour: taint share", colour);
    h("option", { "value": "category" }, "colour: category", colour);
    colour.onchange = function () { self.mode = colour.value; self.render(); };
    h("span", {}, "from", bar);
    var hmin = h("input", { "type": "text", "data-action": "height-min", "placeholder": "height or date", "size": "12" }, null, bar);
    h("span", {}, "to", bar);
    var hmax = h("input", { "type": "text", "data-action": "height-max", "placeholder": "height or date", "size": "12" }, null, bar);
    // A bound is a block height or a UTC date (YYYY-MM-DD): a date compares
    // with the node's block time, where the graph has it.
    function bound(input, end) {
      var v = input.value.trim();
      input.style.borderColor = "";
      if (v === "") return null;
      if (/^[0-9]+$/.test(v)) return { height: Number(v) };
      if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(v)) return { time: end ? v + " 23:59:59" : v };
      input.style.borderColor = "#d00000";
      return null;
    }
    function filter() {
      self.hmin = bound(hmin, false);
      self.hmax = bound(hmax, true);
      self.render();
    }
    hmin.onchange = filter; hmax.onchange = filter;
    var dir = h("select", { "data-action": "direction", "title": "direction of an expansion" }, null, bar);
    h("option", { "value": "forward" }, "forward", dir);
    h("option", { "value": "backward" }, "backward", dir);
    dir.value = this.dir;
    dir.onchange = function () { self.dir = dir.value; };
    button("expand", "Expand", "add the selected node's neighbours (or open a group)").onclick = function () { self.expand(); };
    button("hide", "Hide branch", "hide the selected node and what only it leads to").onclick = function () { self.hide(); };
    button("unhide", "Show all", "show hidden branches").onclick = function () { self.unhide(); };
    this.counts = h("span", { "class": "gv-counts" }, "", bar);
    this.capNote = h("p", { "class": "gv-capped", "data-role": "capped" }, "", root);
    var main = h("div", { "class": "gv-main" }, null, root);
    this.svg = el("svg", { "class": "gv-svg", "role": "img", "aria-label": "flow graph" }, main);
    this.gEdges = el("g", { "class": "gv-edges" }, this.svg);
    this.gNodes = el("g", { "class": "gv-nodes" }, this.svg);
    this.details = h("div", { "class": "gv-details" }, null, main);
    h("p", {}, "Click a node for its details.", this.details);
    var legend = h("div", { "class": "gv-legend" }, null, root);
    [["hit", HIT], ["seed / address of interest", SEED], ["holding", HOLD], ["tainted share", taintFill(0.8)], ["path to a hit", "#ff7f0e"],
      ["sanctioned", CATEGORY.sanctioned], ["exchange", CATEGORY.exchange], ["mixer", CATEGORY.mixer]].forEach(function (x) {
      var s = h("span", {}, null, legend);
      var i = h("i", {}, null, s); i.style.background = x[1];
      s.appendChild(document.createTextNode(x[0]));
    });
    this.panZoom();
  };

  Viewer.prototype.setData = function (graph, fit) {
    this.g = graph || { nodes: [], edges: [] };
    this.g.nodes = this.g.nodes || []; this.g.edges = this.g.edges || [];
    this.byId = {};
    for (var i = 0; i < this.g.nodes.length; i++) this.byId[this.g.nodes[i].id] = this.g.nodes[i];
    // Branches hidden in the case (or earlier in this page) stay hidden.
    this.roots = this.roots || {};
    for (i = 0; i < this.g.nodes.length; i++) if (this.g.nodes[i].hidden) this.roots[this.g.nodes[i].id] = true;
    this.hideRoots();
    var c = this.g.counts || {};
    this.counts.textContent = (c.transactions || 0) + " transactions, " + (c.addresses || 0) + " addresses, " +
      (c.entities || 0) + " entities, " + (c.hits || 0) + " hits, " + (c.edges || 0) + " edges" + (this.g.truncated ? " (graph capped)" : "");
    this.capNote.textContent = this.g.capped ? "Graph capped: " + (this.g.omitted || 0) + " nodes and " + (this.g.omitted_edges || 0) +
      " edges are left out so a browser can draw it; every hit, seed, path to a hit, note and expansion is kept. The full graph is in the JSON report and the evidence bundle's graph.json." : "";
    this.capNote.style.display = this.g.capped ? "" : "none";
    this.render();
    if (fit || !this.vb) this.fit();
    if (this.sel && this.byId[this.sel]) this.show(this.byId[this.sel]);
  };

  // visible computes the drawn graph: the height filter, hidden branches
  // and fan-out groups applied.
  Viewer.prototype.visible = function () {
    var self = this, nodes = {}, list = [];
    this.g.nodes.forEach(function (n) {
      if (self.hidden[n.id]) return;
      if (self.outside(n)) return;
      nodes[n.id] = n; list.push(n);
    });
    var edges = this.g.edges.filter(function (e) { return nodes[e.from] && nodes[e.to]; });
    var outs = {}, ins = {};
    edges.forEach(function (e) { (outs[e.from] = outs[e.from] || []).push(e); (ins[e.to] = ins[e.to] || []).push(e); });
    function keep(n) { return n.hit || n.seed || n.target || n.on_path || n.note || n.id === self.sel; }
    var groups = {}, drop = {};
    function group(parent, leaves, side) {
      var gid = "g:" + parent + ":" + side;
      if (self.open[gid] || leaves.length <= FANOUT) return;
      var g = { id: gid, kind: "group", side: side, parent: parent, members: leaves.map(function (x) { return x.id; }),
        height: 0, tainted_sat: 0, value_sat: 0 };
      leaves.forEach(function (x) { drop[x.id] = gid; g.tainted_sat += x.tainted_sat || 0; g.value_sat += x.value_sat || 0; g.height = Math.max(g.height, x.height || 0); });
      groups[gid] = g;
    }
    list.forEach(function (n) {
      var o = (outs[n.id] || []).map(function (e) { return nodes[e.to]; }).filter(function (x) {
        return !outs[x.id] && (ins[x.id] || []).length === 1 && !keep(x);
      });
      group(n.id, o, "out");
      var i = (ins[n.id] || []).map(function (e) { return nodes[e.from]; }).filter(function (x) {
        return !ins[x.id] && (outs[x.id] || []).length === 1 && !keep(x) && !drop[x.id];
      });
      group(n.id, i, "in");
    });
    var vis = list.filter(function (n) { return !drop[n.id]; });
    var vedges = [];
    edges.forEach(function (e) {
      var f = drop[e.from] || e.from, t = drop[e.to] || e.to;
      if (drop[e.from] || drop[e.to]) {
        var gid = drop[e.from] || drop[e.to];
        if (groups[gid].edge) return;
        groups[gid].edge = true;
      }
      vedges.push({ from: f, to: t, e: e, on_path: e.on_path, tainted_sat: e.tainted_sat });
    });
    for (var k in groups) vis.push(groups[k]);
    return { nodes: vis, edges: vedges };
  };

  // outside reports whether n is outside the height or date filter.
  Viewer.prototype.outside = function (n) {
    var lo = this.hmin, hi = this.hmax;
    if (lo && lo.height !== undefined && n.height > 0 && n.height < lo.height) return true;
    if (hi && hi.height !== undefined && n.height > 0 && n.height > hi.height) return true;
    if (lo && lo.time && n.time && n.time < lo.time) return true;
    if (hi && hi.time && n.time && n.time > hi.time) return true;
    return false;
  };

  // layout puts nodes in columns by the longest path from a source (money
  // flows left to right), ordered in a column by their predecessors' rows.
  Viewer.prototype.layout = function (v) {
    var col = {}, indeg = {}, outs = {}, ins = {}, queue = [], maxc = 0;
    v.nodes.forEach(function (n) { indeg[n.id] = 0; col[n.id] = 0; });
    v.edges.forEach(function (e) {
      if (e.from === e.to) return;
      indeg[e.to]++; (outs[e.from] = outs[e.from] || []).push(e.to); (ins[e.to] = ins[e.to] || []).push(e.from);
    });
    v.nodes.forEach(function (n) { if (!indeg[n.id]) queue.push(n.id); });
    var done = 0;
    for (var qi = 0; qi < queue.length; qi++) {
      var id = queue[qi]; done++;
      (outs[id] || []).forEach(function (t) {
        col[t] = Math.max(col[t], col[id] + 1);
        if (--indeg[t] === 0) queue.push(t);
      });
    }
    if (done < v.nodes.length) { // a cycle (an address paid by the tx it funds): place the rest by hops
      v.nodes.forEach(function (n) { if (indeg[n.id] > 0) col[n.id] = Math.max(col[n.id], (n.hops || 0) * 2); });
    }
    var cols = [];
    v.nodes.forEach(function (n) { var c = col[n.id]; maxc = Math.max(maxc, c); (cols[c] = cols[c] || []).push(n); });
    var row = {}, tallest = 0;
    for (var c = 0; c <= maxc; c++) {
      var cs = cols[c] || [];
      cs.forEach(function (n) {
        var p = ins[n.id] || [], s = 0, k = 0;
        p.forEach(function (x) { if (row[x] !== undefined) { s += row[x]; k++; } });
        n._key = k ? s / k : 0;
      });
      cs.sort(function (a, b) { return a._key - b._key || (a.height || 0) - (b.height || 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0); });
      cs.forEach(function (n, i) { row[n.id] = i; });
      tallest = Math.max(tallest, cs.length);
    }
    var pos = {};
    for (c = 0; c <= maxc; c++) {
      var list = cols[c] || [], off = (tallest - list.length) * ROWH / 2;
      list.forEach(function (n, i) { pos[n.id] = { x: c * COLW, y: off + i * ROWH }; });
    }
    this.bounds = { x: -20, y: -20, w: maxc * COLW + NW + 40, h: Math.max(tallest, 1) * ROWH + 40 };
    return pos;
  };

  Viewer.prototype.fill = function (n) {
    if (n.kind === "group") return "#ffffff";
    if (n.hit && this.mode === "taint") return HIT;
    if (n.seed || n.target) return SEED;
    if (this.mode === "category") {
      if (n.category && CATEGORY[n.category]) return CATEGORY[n.category];
      if (n.hit) return HIT;
      return n.end === "holding" ? HOLD : "#f2f2f2";
    }
    if (n.end === "holding") return HOLD;
    return taintFill(n.share);
  };

  Viewer.prototype.label = function (n) {
    if (n.kind === "group") return ["+" + n.members.length + (n.side === "out" ? " outputs" : " inputs"), btc(n.tainted_sat) + " BTC tainted"];
    var top;
    if (n.kind === "tx") top = "tx " + short(n.txid);
    else if (n.kind === "entity") top = n.entity + " (" + (n.addresses || []).length + " addr)";
    else top = (n.entity ? (n.entity.length > 12 ? n.entity.slice(0, 11) + "…" : n.entity) + " " : "") + short(n.address || n.key);
    var bottom = (n.height ? "h " + n.height + " · " : "") + btc(n.tainted_sat) + " BTC";
    return [top, bottom];
  };

  Viewer.prototype.render = function () {
    var self = this, v = this.visible(), pos = this.layout(v);
    this.drawn = v.nodes.length;
    this.gEdges.textContent = ""; this.gNodes.textContent = "";
    var maxT = 1;
    v.edges.forEach(function (e) { maxT = Math.max(maxT, e.tainted_sat || 0); });
    // Edges in a few path elements (by width band and path highlight), and
    // their arrowheads in one filled path each: thousands of edges stay cheap.
    var bands = {}, heads = { n: [], p: [] };
    v.edges.forEach(function (e) {
      var a = pos[e.from], b = pos[e.to];
      if (!a || !b) return;
      var x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2, dx = Math.max(40, (x2 - x1) / 2);
      var w = Math.round(1 + 4 * Math.sqrt((e.tainted_sat || 0) / maxT)), k = (e.on_path ? "p" : "n") + w;
      (bands[k] = bands[k] || []).push("M" + x1 + "," + y1 + "C" + (x1 + dx) + "," + y1 + " " + (x2 - dx - 8) + "," + y2 + " " + (x2 - 8) + "," + y2);
      heads[e.on_path ? "p" : "n"].push("M" + x2 + "," + y2 + "l-9,-4.5v9z");
    });
    var frag = document.createDocumentFragment();
    Object.keys(bands).sort().forEach(function (k) {
      el("path", { "class": "gv-edge" + (k[0] === "p" ? " gv-path" : ""), d: bands[k].join(""), "stroke-width": k.slice(1) }, frag);
    });
    if (heads.n.length) el("path", { d: heads.n.join(""), fill: "#8c8c8c" }, frag);
    if (heads.p.length) el("path", { d: heads.p.join(""), fill: "#ff7f0e" }, frag);
    this.gEdges.appendChild(frag);
    frag = document.createDocumentFragment();
    this.nodeEls = [];
    v.nodes.forEach(function (n) {
      var p = pos[n.id];
      var cls = "gv-node" + (n.hit ? " gv-hit" : "") + (n.end === "holding" && !n.hit ? " gv-holding" : "") + (n.on_path ? " gv-path" : "") + (n.kind === "group" ? " gv-group" : "") +
        (n.id === self.sel ? " gv-sel" : "") + (n.note ? " gv-noted" : "");
      var attrs = { "class": cls, transform: "translate(" + p.x + "," + p.y + ")", "data-id": n.id, "data-kind": n.kind };
      if (n.kind === "tx") attrs["data-txid"] = n.txid;
      else if (n.kind === "group") attrs["data-address"] = n.id;
      else attrs["data-address"] = n.address || (n.addresses || [])[0] || n.key;
      if (n.entity) attrs["data-entity"] = n.entity;
      var g = el("g", attrs, frag);
      if (n.kind === "entity") {
        el("polygon", { points: "10,0 " + (NW - 10) + ",0 " + NW + "," + NH / 2 + " " + (NW - 10) + "," + NH + " 10," + NH + " 0," + NH / 2, fill: self.fill(n) }, g);
      } else {
        el("rect", { width: NW, height: NH, rx: n.kind === "tx" ? 2 : 12, fill: self.fill(n) }, g);
      }
      self.nodeEls.push([g, n]);
    });
    this.labelled = false;
    this.gNodes.appendChild(frag);
    this.applyView();
  };

  // labels draws the nodes' text, once the view is close enough to read it
  // (a graph of thousands of nodes fitted to the screen draws none).
  Viewer.prototype.labels = function () {
    if (this.labelled) return;
    this.labelled = true;
    var self = this;
    this.nodeEls.forEach(function (x) {
      var l = self.label(x[1]);
      el("text", { x: 8, y: 14 }, x[0]).textContent = l[0];
      el("text", { x: 8, y: 28 }, x[0]).textContent = l[1];
    });
  };

  Viewer.prototype.applyView = function () {
    if (!this.vb) return;
    var vb = this.vb;
    this.svg.setAttribute("viewBox", vb.x + " " + vb.y + " " + vb.w + " " + vb.h);
    if (this.px === undefined) this.px = this.svg.clientWidth || 800;
    // Level of detail: below about 5 px text, labels are not drawn.
    var lod = this.px / vb.w < 0.45;
    this.svg.classList.toggle("gv-lod", lod);
    if (!lod) this.labels();
  };

  Viewer.prototype.fit = function () {
    var b = this.bounds || { x: 0, y: 0, w: 100, h: 100 };
    var W = this.svg.clientWidth || 800, H = this.svg.clientHeight || 600;
    this.px = W;
    var s = Math.max(b.w / W, b.h / H);
    var w = W * s, hh = H * s;
    this.vb = { x: b.x - (w - b.w) / 2, y: b.y - (hh - b.h) / 2, w: w, h: hh };
    this.applyView();
  };

  Viewer.prototype.zoom = function (f, cx, cy) {
    var vb = this.vb;
    if (cx === undefined) { cx = vb.x + vb.w / 2; cy = vb.y + vb.h / 2; }
    var w = Math.max(50, Math.min(vb.w * f, 1e7)), k = w / vb.w;
    this.vb = { x: cx - (cx - vb.x) * k, y: cy - (cy - vb.y) * k, w: w, h: vb.h * k };
    this.applyView();
  };

  Viewer.prototype.point = function (ev) {
    var r = this.svg.getBoundingClientRect(), vb = this.vb;
    var s = Math.max(vb.w / r.width, vb.h / r.height);
    var ox = (r.width * s - vb.w) / 2, oy = (r.height * s - vb.h) / 2;
    return { x: vb.x - ox + (ev.clientX - r.left) * s, y: vb.y - oy + (ev.clientY - r.top) * s, s: s };
  };

  Viewer.prototype.panZoom = function () {
    var self = this, svg = this.svg, drag = null;
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var p = self.point(ev);
      self.zoom(Math.pow(1.0015, ev.deltaY), p.x, p.y);
    }, { passive: false });
    svg.addEventListener("pointerdown", function (ev) {
      var p = self.point(ev);
      drag = { x: ev.clientX, y: ev.clientY, vx: self.vb.x, vy: self.vb.y, s: p.s, moved: false };
      svg.classList.add("gv-drag");
    });
    window.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      self.vb.x = drag.vx - dx * drag.s; self.vb.y = drag.vy - dy * drag.s;
      self.applyView();
    });
    window.addEventListener("pointerup", function () { setTimeout(function () { drag = null; }, 0); svg.classList.remove("gv-drag"); });
    svg.addEventListener("click", function (ev) {
      if (drag && drag.moved) return;
      var g = ev.target.closest ? ev.target.closest(".gv-node") : null;
      if (!g) return;
      self.select(g.getAttribute("data-id"));
    });
    svg.addEventListener("dblclick", function (ev) {
      var g = ev.target.closest ? ev.target.closest(".gv-node") : null;
      if (g) { self.select(g.getAttribute("data-id")); self.expand(); }
    });
  };

  Viewer.prototype.groupOf = function (id) {
    var v = this.visible();
    for (var i = 0; i < v.nodes.length; i++) if (v.nodes[i].id === id) return v.nodes[i];
    return null;
  };

  Viewer.prototype.select = function (id) {
    this.sel = id;
    var n = this.byId[id] || this.groupOf(id);
    var prev = this.gNodes.querySelector(".gv-sel");
    if (prev) prev.classList.remove("gv-sel");
    var cur = this.gNodes.querySelector('[data-id="' + CSS.escape(id) + '"]');
    if (cur) cur.classList.add("gv-sel");
    if (n) this.show(n);
  };

  Viewer.prototype.message = function (text) {
    var m = this.details.querySelector(".gv-msg") || h("p", { "class": "gv-msg" }, null, this.details);
    m.textContent = text;
  };

  Viewer.prototype.show = function (n) {
    var self = this, d = this.details;
    d.textContent = "";
    if (n.kind === "group") {
      h("h3", {}, "+" + n.members.length + (n.side === "out" ? " outputs" : " inputs"), d);
      h("p", {}, "A fan-out drawn as one node: " + btc(n.tainted_sat) + " BTC tainted of " + btc(n.value_sat) + " BTC. Press Expand to draw them.", d);
      return;
    }
    var title = n.kind === "tx" ? "Transaction" : n.kind === "entity" ? "Entity " + n.entity : n.hit ? "Hit: " + (n.entity || "") : n.target ? "Address of interest" : n.seed ? "Seed address" : "Address";
    h("h3", {}, title, d);
    var t = h("table", {}, null, d);
    function row(k, v, copy) {
      if (v === undefined || v === null || v === "") return;
      var tr = h("tr", {}, null, t);
      h("th", {}, k, tr);
      var td = h("td", {}, String(v), tr);
      if (copy) {
        var b = h("button", { "type": "button", "data-action": "copy", "data-value": String(v), "title": "copy the full id" }, "copy", td);
        b.onclick = function () { self.copy(String(v)); };
      }
    }
    row("txid", n.txid, true);
    row("address", n.address, true);
    (n.addresses || []).forEach(function (a) { row("address", a, true); });
    row("entity", n.entity);
    row("category", n.category);
    row("tag source", n.tag_source);
    row("labelled via", n.via);
    row("height", n.height || "");
    row("time", n.time);
    row("hops", n.hops);
    row("value", btc(n.value_sat) + " BTC");
    row("tainted", btc(n.tainted_sat) + " BTC");
    row("taint share", ((n.share || 0) * 100).toFixed(2) + " %");
    row("branch end", n.end);
    if (n.kind === "address") row("exposure", n.exposure); // set by tracer serve: the exposure index, or "not indexed"
    if (n.expanded) row("added by", "expansion (not part of the trace)");
    if (n.on_path) row("on a path", "from a seed to a hit");
    h("h3", {}, "Note", d);
    if (this.opt.note) {
      var ta = h("textarea", { "class": "gv-note", "data-action": "note" }, null, d);
      ta.value = n.note || "";
      var b = h("button", { "type": "button", "data-action": "note-save" }, "Save note", d);
      b.onclick = function () {
        self.opt.note(n, ta.value).then(function () { n.note = ta.value; self.message("note saved"); self.render(); },
          function (err) { self.message("note not saved: " + err); });
      };
    } else {
      h("p", {}, n.note || "(none)", d);
    }
  };

  Viewer.prototype.copy = function (text) {
    var self = this;
    function fallback() {
      var ta = h("textarea", {}, null, document.body);
      ta.value = text; ta.select();
      try { document.execCommand("copy"); self.message("copied"); } catch (e) { self.message("select and copy: " + text); }
      ta.remove();
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { self.message("copied"); }, fallback);
    } else {
      fallback();
    }
  };

  Viewer.prototype.expand = function () {
    var self = this;
    if (!this.sel) { this.message("select a node first"); return; }
    if (this.sel.indexOf("g:") === 0) {
      this.open[this.sel] = true; this.sel = null; this.render(); return;
    }
    var n = this.byId[this.sel];
    if (!n) return;
    if (!this.opt.expand) { this.message("expanding needs tracer serve: this report is a snapshot of the trace"); return; }
    this.message("expanding…");
    this.opt.expand(n, this.dir).then(function (g) { self.setData(g, false); self.message("expanded " + self.dir); },
      function (err) { self.message("expand failed: " + err); });
  };

  // hideRoots hides every hidden branch: each root, and every node
  // reachable only through hidden nodes.
  Viewer.prototype.hideRoots = function () {
    var outs = {}, indeg = {}, self = this;
    this.hidden = {};
    this.g.edges.forEach(function (e) { (outs[e.from] = outs[e.from] || []).push(e.to); indeg[e.to] = (indeg[e.to] || 0) + 1; });
    var stack = Object.keys(this.roots).filter(function (id) { return self.byId[id]; }), seen = {};
    while (stack.length) {
      var id = stack.pop();
      if (seen[id]) continue;
      seen[id] = true; self.hidden[id] = true;
      (outs[id] || []).forEach(function (t) { if (--indeg[t] === 0) stack.push(t); });
    }
  };

  Viewer.prototype.hide = function () {
    var self = this, n = this.byId[this.sel];
    if (!n) { this.message("select a node first"); return; }
    this.roots[n.id] = true;
    this.hideRoots();
    this.sel = null; this.render();
    if (this.opt.hide) this.opt.hide(n, true).then(null, function (err) { self.message("hide not saved: " + err); });
  };

  Viewer.prototype.unhide = function () {
    var self = this;
    Object.keys(this.roots).forEach(function (id) {
      var n = self.byId[id];
      if (n && self.opt.hide) self.opt.hide(n, false).then(null, function (err) { self.message("show not saved: " + err); });
    });
    this.roots = {}; this.hidden = {};
    this.render();
  };

  window.TracerGraph = {
    mount: function (root, graph, opt) { return new Viewer(root, graph, opt); },
    btc: btc
  };
})();
