// rsqlflow report: draws the graph (laid out by dagre), the timeline and the details from the
// JSON in #report-data. No network access.
window.addEventListener("error", function (e) {
  document.documentElement.setAttribute("data-error", String(e.message));
});
(function () {
  "use strict";
  var R = JSON.parse(document.getElementById("report-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var statusOf = {};
  R.states.forEach(function (s) { statusOf[s.name] = s; });
  function cls(st) { return "st-" + String(st || "not run").replace(/[ _]/g, "-").toLowerCase(); }
  function el(tag, attrs, parent, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function fmtTime(ms) { return ms == null ? "-" : new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC"); }
  function fmtDur(ms) {
    if (ms == null) { return "-"; }
    if (ms >= 3600000) { return Math.floor(ms / 3600000) + " h " + Math.floor(ms / 60000) % 60 + " min"; }
    if (ms >= 60000) { return Math.floor(ms / 60000) + " min " + Math.floor(ms / 1000) % 60 + " s"; }
    return (ms / 1000).toFixed(3) + " s";
  }

  // ---- details panel ----
  var panel = document.getElementById("details");
  function add(parent, tag, text, className) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = text; }
    if (className) { e.className = className; }
    parent.appendChild(e);
    return e;
  }
  function showRun(i, into) {
    var d = R.details[i];
    if (!d) { return; }
    var box = add(into, "div", null, "run");
    add(box, "h4", d.state + " — " + d.status + " (" + fmtDur(d.end != null && d.start != null ? d.end - d.start : null) + ")");
    var t = add(box, "table");
    [["Child execution", d.execution], ["Started", fmtTime(d.start)], ["Ended", fmtTime(d.end)], ["Attempts", d.attempts], ["Failures", d.failures],
     ["Iterations", d.iterations]].forEach(function (r) {
      if (r[1] === null || r[1] === undefined) { return; }
      var tr = add(t, "tr"); add(tr, "th", r[0]); add(tr, "td", String(r[1]));
    });
    if (d.error) { add(box, "h5", "Error"); add(box, "pre", d.error, "error-name"); }
    if (d.cause) { add(box, "h5", "Cause"); add(box, "pre", pretty(d.cause), "cause"); }
    if (d.input) { add(box, "h5", "Input"); add(box, "pre", d.input); }
    if (d.output) { add(box, "h5", "Output"); add(box, "pre", d.output); }
  }
  // A cause that is JSON (check-job's are) shown indented.
  function pretty(text) {
    try { var v = JSON.parse(text); return typeof v === "object" && v !== null ? JSON.stringify(v, null, 2) : text; } catch (e) { return text; }
  }
  function openPanel(title) {
    panel.textContent = "";
    var b = add(panel, "button", "×", "close");
    b.setAttribute("aria-label", "close");
    b.onclick = function () { panel.hidden = true; };
    add(panel, "h3", title);
    panel.hidden = false;
    return panel;
  }
  function showState(name) {
    var s = statusOf[name];
    if (!s) { return; }
    var p = openPanel(name);
    p.setAttribute("data-state", name);
    add(p, "p", s.kind + ": " + s.status + ", entered " + s.runs + " time(s), " + s.attempts + " attempt(s)" +
      (s.iterations != null ? ", " + s.iterations + " iteration(s)" : ""));
    if (s.children) {
      add(p, "p", "Child executions: " + Object.keys(s.children).map(function (k) { return s.children[k] + " " + k.toLowerCase(); }).join(", ") + ".", "children");
    }
    if (s.runs > s.samples.length) { add(p, "p", "Showing " + s.samples.length + " of " + s.runs + " runs (failed first)."); }
    s.samples.forEach(function (i) { showRun(i, p); });
    R.jobs.filter(function (j) { return j.state === name; }).forEach(function (j) { showJob(j, p); });
  }
  function showJob(j, into) {
    var box = add(into, "div", null, "job");
    add(box, "h4", "Batch job " + j.name);
    var t = add(box, "table");
    [["Job id", j.id], ["Status", j.status], ["Exit code", j.exit_code], ["Submitted", fmtTime(j.created)],
     ["Runnable from", j.runnable != null ? fmtTime(j.runnable) : null], ["Running from", fmtTime(j.started)], ["Stopped", fmtTime(j.stopped)],
     ["Duration", fmtDur(j.stopped != null && j.started != null ? j.stopped - j.started : null)],
     ["Reason", j.reason], ["Log", j.log]].forEach(function (r) {
      if (r[1] === null || r[1] === undefined) { return; }
      var tr = add(t, "tr"); add(tr, "th", r[0]); add(tr, "td", String(r[1]));
    });
    (j.links || []).forEach(function (l) { var a = add(box, "a", l[0]); a.href = l[1]; a.target = "_blank"; a.rel = "noopener"; });
    if (j.log_tail) { add(box, "h5", "Log tail"); add(box, "pre", j.log_tail); }
  }

  // ---- graph ----
  // dagre orders a rank's nodes to reduce crossings, so it may draw a Parallel's branches in
  // any order; the console draws them in definition order. After the layout, each Parallel's
  // branch boxes are moved into definition order within the space they took (their widths
  // and the Parallel's box unchanged); the edges inside a branch move with it, and the edges
  // into and out of a branch are drawn straight to their new ends.
  function orderBranches(g, G) {
    var kids = {};
    g.nodes().forEach(function (id) {
      var p = g.parent(id);
      if (p) { (kids[p] = kids[p] || []).push(id); }
    });
    function within(id, set) { set[id] = true; (kids[id] || []).forEach(function (k) { within(k, set); }); return set; }
    G.clusters.filter(function (c) { return c.kind === "Parallel"; }).forEach(function (par) {
      var boxes = G.clusters.filter(function (c) { return c.parent === par.id && c.kind === "Branch"; }).map(function (c) {
        var d = g.node(c.id);
        return { id: c.id, left: d.x - d.width / 2, width: d.width };
      });
      if (boxes.length < 2) { return; }
      var byX = boxes.slice().sort(function (a, b) { return a.left - b.left; });
      var last = byX[byX.length - 1];
      var used = boxes.reduce(function (n, b) { return n + b.width; }, 0);
      var gap = (last.left + last.width - byX[0].left - used) / (boxes.length - 1);
      var x = byX[0].left;
      boxes.forEach(function (b) { b.shift = x - b.left; x += b.width + gap; });
      if (boxes.every(function (b) { return Math.abs(b.shift) < 0.5; })) { return; }
      var inside = {};
      boxes.forEach(function (b) {
        var set = within(b.id, {});
        Object.keys(set).forEach(function (id) { inside[id] = true; g.node(id).x += b.shift; });
        g.edges().forEach(function (ref) {
          if (!set[ref.v] || !set[ref.w]) { return; }
          var d = g.edge(ref);
          d.points.forEach(function (p) { p.x += b.shift; });
          if (d.x != null) { d.x += b.shift; }
        });
      });
      // Into and out of the branches: a fork bar under the Parallel's box and a join bar
      // over its join point, so that no edge crosses another branch.
      g.edges().forEach(function (ref) {
        var iv = !!inside[ref.v], iw = !!inside[ref.w];
        if (iv === iw) { return; }
        var d = g.edge(ref), s = g.node(ref.v), t = g.node(ref.w);
        var sy = s.y + s.height / 2, ty = t.y - t.height / 2;
        var bus = iw ? sy + 12 : ty - 12;
        d.points = [{ x: s.x, y: sy }, { x: s.x, y: bus }, { x: t.x, y: bus }, { x: t.x, y: ty }];
        d.x = (s.x + t.x) / 2; d.y = bus;
      });
    });
  }

  // Past this many boxes dagre takes seconds to minutes in the browser (a Parallel of 500
  // branches: 6 s; of 1,000: 31 s), so the page says so instead of freezing.
  var MAX_GRAPH_NODES = 600;
  function drawGraph() {
    var G = R.graph;
    if (G.nodes.length > MAX_GRAPH_NODES) {
      document.getElementById("graph").textContent = "The definition has " + G.nodes.length +
        " boxes, too many to draw here; the timeline and the Batch jobs below list what ran.";
      return;
    }
    var g = new dagre.graphlib.Graph({ compound: true, multigraph: true });
    g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 36, marginx: 8, marginy: 8 });
    g.setDefaultEdgeLabel(function () { return {}; });
    var meas = el("svg", { width: 0, height: 0 }, document.body);
    function textWidth(s) { var t = el("text", { "font-size": 12 }, meas, s); var w = t.getComputedTextLength ? t.getComputedTextLength() : s.length * 7; return w || s.length * 7; }
    G.clusters.forEach(function (c) { g.setNode(c.id, { label: c.label, cluster: c, paddingTop: 18 }); });
    G.clusters.forEach(function (c) { if (c.parent) { g.setParent(c.id, c.parent); } });
    G.nodes.forEach(function (n) {
      var label = n.label;
      var s = n.state ? statusOf[n.state] : null;
      if (n.kind === "Map" && s && s.iterations != null) { label += " (" + s.iterations + " iterations)"; }
      var h = n.kind === "Join" ? 6 : 30;
      var w = n.kind === "Join" ? 40 : Math.max(60, textWidth(label) + 24);
      g.setNode(n.id, { width: w, height: h, label: label, node: n });
      if (n.parent) { g.setParent(n.id, n.parent); }
    });
    G.edges.forEach(function (e, i) {
      var lbl = e.label || "";
      g.setEdge(e.from, e.to, { edge: e, label: lbl, width: lbl ? textWidth(lbl) * 0.85 : 0, height: lbl ? 12 : 0, labelpos: "c" }, "e" + i);
    });
    document.body.removeChild(meas);
    dagre.layout(g);
    orderBranches(g, G);
    var gi = g.graph();
    var svg = el("svg", { width: gi.width, height: gi.height, viewBox: "0 0 " + gi.width + " " + gi.height, role: "img", "aria-label": "state machine graph" }, null);
    var defs = el("defs", {}, svg);
    var m = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto" }, defs);
    el("path", { d: "M0,0L10,5L0,10z", fill: "#545b64" }, m);
    var clusters = el("g", {}, svg), edges = el("g", {}, svg), nodes = el("g", {}, svg);
    g.nodes().forEach(function (id) {
      var d = g.node(id);
      if (!d || !d.cluster) { return; }
      var c = d.cluster;
      var gg = el("g", { "class": "cluster kind-" + c.kind, "data-cluster": c.label, "data-cluster-id": c.id, "data-x": Math.round(d.x - d.width / 2) }, clusters);
      el("rect", { x: d.x - d.width / 2, y: d.y - d.height / 2, width: d.width, height: d.height, rx: 6 }, gg);
      var t = c.kind === "Map" && c.state && statusOf[c.state] && statusOf[c.state].iterations != null ? c.label + " — " + statusOf[c.state].iterations + " iterations" : c.label;
      el("text", { x: d.x - d.width / 2 + 6, y: d.y - d.height / 2 + 12 }, gg, t);
    });
    g.edges().forEach(function (ref) {
      var d = g.edge(ref);
      var e = d.edge;
      var gg = el("g", { "class": "edge " + e.style }, edges);
      var pts = d.points.map(function (p) { return p.x + "," + p.y; });
      el("path", { d: "M" + pts.join("L"), "marker-end": "url(#arrow)" }, gg);
      if (e.label) { el("text", { x: d.x, y: d.y + 4, "text-anchor": "middle" }, gg, e.label); }
    });
    g.nodes().forEach(function (id) {
      var d = g.node(id);
      if (!d || !d.node) { return; }
      var n = d.node;
      var s = n.state ? statusOf[n.state] : null;
      var st = n.kind === "Start" || n.kind === "End" ? "" : cls(s ? s.status : "not run");
      var gg = el("g", { "class": "node kind-" + n.kind + " " + st, "data-state": n.state || "", "data-status": s ? s.status : "", tabindex: 0 }, nodes);
      el("rect", { x: d.x - d.width / 2, y: d.y - d.height / 2, width: d.width, height: d.height, rx: n.kind === "Start" || n.kind === "End" ? 15 : 4 }, gg);
      if (n.kind !== "Join") {
        el("text", { x: d.x, y: d.y + 4, "text-anchor": "middle" }, gg, d.label);
        el("title", {}, gg, n.state ? n.state + " (" + n.kind + "): " + (s ? s.status : "not run") : n.label);
      }
      if (n.state && n.kind !== "Join") {
        gg.addEventListener("click", function () { showState(n.state); });
        gg.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { showState(n.state); } });
      }
    });
    document.getElementById("graph").appendChild(svg);
  }

  // ---- timeline ----
  function drawTimeline() {
    var rows = R.rows.slice();
    R.jobs.slice().sort(function (a, b) { return (a.created || 0) - (b.created || 0); }).forEach(function (j) {
      rows.push({ job: j, label: "Batch job of " + (j.state || j.name), start: j.created, end: j.stopped || j.started || j.created });
    });
    var t0 = Infinity, t1 = -Infinity;
    rows.forEach(function (r) { if (r.start != null) { t0 = Math.min(t0, r.start); t1 = Math.max(t1, r.end != null ? r.end : r.start); } });
    if (R.summary.start != null) { t0 = Math.min(t0, R.summary.start); }
    if (R.summary.stop != null) { t1 = Math.max(t1, R.summary.stop); }
    var host = document.getElementById("timeline");
    if (!isFinite(t0) || rows.length === 0) { host.textContent = "The history has no timestamps."; return; }
    var span = Math.max(1, t1 - t0);
    var LW = 220, W = 1100, RH = 18, top = 22;
    var H = top + rows.length * RH + 4;
    var svg = el("svg", { width: LW + W + 10, height: H, viewBox: "0 0 " + (LW + W + 10) + " " + H, role: "img", "aria-label": "timeline" }, null);
    var defs = el("defs", {}, svg);
    var pat = el("pattern", { id: "hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" }, defs);
    el("rect", { width: 6, height: 6, fill: "#f2f3f3" }, pat);
    el("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#879596", "stroke-width": 3 }, pat);
    function X(ms) { return LW + (ms - t0) / span * W; }
    var axis = el("g", { "class": "axis" }, svg);
    var step = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 900000, 1800000, 3600000, 7200000].find(function (s) { return span / s <= 12; }) || 14400000;
    for (var t = 0; t <= span; t += step) {
      el("line", { x1: X(t0 + t), x2: X(t0 + t), y1: top - 4, y2: H }, axis);
      el("text", { x: X(t0 + t) + 2, y: 12 }, axis, "+" + fmtDur(t));
    }
    var body = el("g", {}, svg);
    rows.forEach(function (r, k) {
      var y = top + k * RH;
      var g = el("g", { "class": "row", "data-row": k, "data-state": r.job ? "" : r.state, "data-start": r.start == null ? "" : r.start }, body);
      el("text", { x: LW - 6, y: y + 12, "text-anchor": "end", "class": "row-label" + (r.critical ? " critical" : "") }, g, (r.critical ? "● " : "") + r.label);
      if (r.start == null) { return; }
      var x0 = X(r.start), x1 = Math.max(x0 + 2, X(r.end != null ? r.end : t1));
      if (r.job) {
        var j = r.job;
        // SUBMITTED (to RUNNABLE, when known), RUNNABLE (to RUNNING), RUNNING (to its end).
        var mid = j.started != null ? X(j.started) : x1;
        var rx = j.runnable != null ? Math.min(Math.max(X(j.runnable), x0), mid) : null;
        if (rx != null) {
          el("rect", { x: x0, y: y + 3, width: Math.max(1, rx - x0), height: RH - 6, "class": "bar seg-submitted" }, g).appendChild(el("title", {}, null, "SUBMITTED " + fmtDur(j.runnable - j.created)));
          el("rect", { x: rx, y: y + 3, width: Math.max(1, mid - rx), height: RH - 6, "class": "bar seg-runnable" }, g).appendChild(el("title", {}, null, "RUNNABLE " + fmtDur(j.started != null ? j.started - j.runnable : null)));
        } else {
          el("rect", { x: x0, y: y + 3, width: Math.max(1, mid - x0), height: RH - 6, "class": "bar seg-queued" }, g).appendChild(el("title", {}, null, "SUBMITTED to RUNNING " + fmtDur(j.started != null ? j.started - j.created : null)));
        }
        if (j.started != null) {
          var bar = el("rect", { x: mid, y: y + 3, width: Math.max(2, x1 - mid), height: RH - 6, "class": "bar seg-running " + cls(j.status === "SUCCEEDED" ? "succeeded" : j.status === "FAILED" ? "failed" : "running") }, g);
          bar.appendChild(el("title", {}, null, "RUNNING " + fmtDur(j.stopped != null ? j.stopped - j.started : null) + ", exit " + j.exit_code));
        }
        g.addEventListener("click", function () { showJob(j, openPanel("Batch job " + j.name)); });
        return;
      }
      var main = el("rect", { x: x0, y: y + 3, width: x1 - x0, height: RH - 6, rx: 2, "class": "bar " + cls(r.status) + (r.critical ? " critical" : ""), "fill-opacity": r.segments && r.segments.length ? 0.35 : 1 }, g);
      main.appendChild(el("title", {}, null, r.label + ": " + r.status + ", " + fmtDur(r.end != null ? r.end - r.start : null) + (r.count > 1 ? " (" + r.count + " runs)" : "")));
      (r.segments || []).forEach(function (s) {
        if (s.start == null) { return; }
        var a = X(s.start), b = Math.max(a + 1, X(s.end != null ? s.end : (r.end != null ? r.end : t1)));
        el("rect", { x: a, y: y + 5, width: b - a, height: RH - 10, "class": s.kind === "wait" ? "seg-wait" : "bar " + cls(r.status) }, g);
      });
      g.addEventListener("click", function () { if (r.run != null) { var p = openPanel(r.state); showRun(r.run, p); } else { showState(r.state); } });
    });
    host.appendChild(svg);
  }

  function drawJobs() {
    var host = document.getElementById("jobs");
    if (!R.jobs.length) { host.textContent = "No Batch jobs are known for this execution."; return; }
    var t = add(host, "table");
    var h = add(t, "tr");
    ["Job", "State", "Status", "Exit", "Queued", "Running", "Job id"].forEach(function (c) { add(h, "th", c); });
    R.jobs.forEach(function (j) {
      var tr = add(t, "tr");
      [j.name, j.state || "", j.status, j.exit_code == null ? "-" : j.exit_code,
       fmtDur(j.started != null && j.created != null ? j.started - j.created : null),
       fmtDur(j.stopped != null && j.started != null ? j.stopped - j.started : null), j.id].forEach(function (c) { add(tr, "td", String(c)); });
      tr.style.cursor = "pointer";
      tr.addEventListener("click", function () { showJob(j, openPanel("Batch job " + j.name)); });
    });
  }

  // Printed, the notification shows (a closed <details> prints only its summary).
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
  drawGraph();
  drawTimeline();
  drawJobs();
  // A link to report.html#state=NAME opens that state's details, as a click on its box does.
  var m = /^#state=(.+)$/.exec(location.hash);
  if (m) {
    var name = decodeURIComponent(m[1]);
    Array.prototype.forEach.call(document.querySelectorAll("#graph .node"), function (n) {
      if (n.getAttribute("data-state") === name && !/kind-Join/.test(n.getAttribute("class"))) {
        n.dispatchEvent(new MouseEvent("click", { bubbles: true }));
      }
    });
  }
  document.body.setAttribute("data-ready", "1");
  // Milliseconds from navigation to the page drawn (the size checks read it).
  document.body.setAttribute("data-drawn-ms", String(Math.round(performance.now())));
})();
