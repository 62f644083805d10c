// newarch status page: hover edges, click for the why-chain, sortable and filterable table.
// Plain DOM only; every text is set with textContent (never innerHTML).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("newarch-data").textContent);
  var info = new Map();
  data.nodes.forEach(function (n) { info.set(n.name, n); });
  var svg = document.getElementById("graph");
  var nodes = new Map();
  svg.querySelectorAll("g.node").forEach(function (g) { nodes.set(g.getAttribute("data-name"), g); });
  var edges = Array.prototype.slice.call(svg.querySelectorAll("path.edge"));
  var detail = document.getElementById("detail");
  var table = document.getElementById("feedstocks");
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var selected = null;

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  // -- hover: show a node's edges (red: what it needs, blue: what needs it) ---------------------
  nodes.forEach(function (g, name) {
    g.addEventListener("mouseenter", function () {
      edges.forEach(function (e) {
        if (e.getAttribute("data-to") === name) e.classList.add("hover-in");
        if (e.getAttribute("data-from") === name) e.classList.add("hover-out");
      });
    });
    g.addEventListener("mouseleave", function () {
      edges.forEach(function (e) { e.classList.remove("hover-in", "hover-out"); });
    });
    g.addEventListener("click", function () { select(name); });
    g.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(name); } });
  });

  function clear() {
    svg.classList.remove("focus");
    nodes.forEach(function (g) { g.classList.remove("chain", "selected"); });
    edges.forEach(function (e) { e.classList.remove("chain"); });
    rows.forEach(function (r) { r.classList.remove("selected"); });
    selected = null;
  }

  // -- click: the why-chain (target -> ... -> node) ---------------------------------------------
  function select(name) {
    clear();
    var n = info.get(name);
    if (!n) return;
    selected = name;
    svg.classList.add("focus");
    var why = n.why && n.why.length ? n.why : [name];
    why.forEach(function (w) { var g = nodes.get(w); if (g) g.classList.add("chain"); });
    for (var i = 0; i + 1 < why.length; i++) {
      var child = why[i], parent = why[i + 1];
      edges.forEach(function (e) {
        if (e.getAttribute("data-from") === parent && e.getAttribute("data-to") === child) e.classList.add("chain");
      });
    }
    var g = nodes.get(name);
    if (g) g.classList.add("selected");
    reveal(why, name);
    rows.forEach(function (r) { if (r.getAttribute("data-name") === name) r.classList.add("selected"); });
    showDetail(n, why);
  }

  // scroll the graph (not the page) so the whole chain is visible, or else centre the node
  function reveal(names, focus) {
    var scroller = svg.parentNode;
    var sr = scroller.getBoundingClientRect();
    var boxes = names.map(function (n) { return nodes.get(n); }).filter(Boolean)
      .map(function (g) { return g.getBoundingClientRect(); });
    var fb = nodes.get(focus) ? nodes.get(focus).getBoundingClientRect() : null;
    if (!boxes.length || !fb) return;
    function axis(lo, hi, size, flo, fhi, scrollPos, origin) {
      var a = lo - origin + scrollPos, b = hi - origin + scrollPos;
      if (b - a + 40 <= size) return a - (size - (b - a)) / 2;
      // too long: keep the node near the start; its chain runs on towards the targets (later waves)
      return flo - origin + scrollPos - 24;
    }
    var left = axis(Math.min.apply(null, boxes.map(function (b) { return b.left; })),
                    Math.max.apply(null, boxes.map(function (b) { return b.right; })),
                    scroller.clientWidth, fb.left, fb.right, scroller.scrollLeft, sr.left);
    var top = axis(Math.min.apply(null, boxes.map(function (b) { return b.top; })),
                   Math.max.apply(null, boxes.map(function (b) { return b.bottom; })),
                   scroller.clientHeight, fb.top, fb.bottom, scroller.scrollTop, sr.top);
    scroller.scrollLeft = Math.max(0, left);
    scroller.scrollTop = Math.max(0, top);
  }

  function link(text, href, cls) {
    var a = el("a", text, cls);
    if (/^https?:\/\//.test(href)) a.href = href;
    a.rel = "noopener noreferrer";
    return a;
  }

  function showDetail(n, why) {
    while (detail.firstChild) detail.removeChild(detail.firstChild);
    detail.appendChild(el("h3", n.name));
    var badge = el("span", n.state, "badge st-" + n.state);
    detail.appendChild(badge);
    var dl = el("dl");
    function item(term, value) {
      if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return;
      dl.appendChild(el("dt", term));
      var dd = el("dd");
      if (Array.isArray(value)) {
        var ol = el("ol");
        value.forEach(function (v) { ol.appendChild(el("li", v)); });
        dd.appendChild(ol);
      } else {
        dd.textContent = String(value);
      }
      dl.appendChild(dd);
    }
    if (n.links) {
      var links = el("p", null, "links");
      links.appendChild(link("repository", n.links.repo, "repo"));
      links.appendChild(document.createTextNode(" · "));
      links.appendChild(link("conda-forge.yml (" + n.links.branch + ")", n.links.cfyml, "cfyml"));
      detail.appendChild(links);
    }
    item("state", n.reason);
    dl.appendChild(el("dt", "why (target → … → this)"));
    var wdd = el("dd");
    wdd.appendChild(el("p", why.join(" → "), "chain-line"));
    if (n.steps && n.steps.length) {
      var ol = el("ol", null, "steps");
      n.steps.forEach(function (s) {
        var li = el("li");
        li.appendChild(el("span", s.from + " needs " + s.to, "step"));
        s.reasons.forEach(function (r) { li.appendChild(el("span", r, "reason")); });
        ol.appendChild(li);
      });
      wdd.appendChild(ol);
    }
    dl.appendChild(wdd);
    item("wave", n.wave);
    item("unblocks", n.unblocks);
    item("build", n.mode);
    item("missing parents", n.missing);
    item("no feedstock or branch provides", n.unresolved);
    item("needs", n.needs.join(", "));
    item("lint findings", n.findings);
    item("build environment", n.solve);
    if (n.pr) {
      dl.appendChild(el("dt", "pull request"));
      var dd = el("dd"), a = el("a", n.pr);
      a.href = n.pr; a.rel = "noopener noreferrer";
      dd.appendChild(a); dl.appendChild(dd);
    }
    detail.appendChild(dl);
  }

  document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { clear(); } });
  var fit = document.getElementById("fit");
  if (fit) {
    fit.addEventListener("click", function () {
      var on = svg.classList.toggle("fit");
      fit.textContent = on ? "actual size" : "fit to width";
      if (selected) reveal(info.get(selected).why, selected);
    });
  }
  document.querySelectorAll("a.goto").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      var section = document.getElementById("graph-section");
      if (section) section.scrollIntoView();
      select(a.getAttribute("data-name"));
    });
  });

  // -- table filter ------------------------------------------------------------------------------
  var filter = document.getElementById("filter");
  var stateFilter = document.getElementById("state-filter");
  var shown = document.getElementById("shown");
  function applyFilter() {
    var q = filter.value.trim().toLowerCase();
    var st = stateFilter.value;
    var count = 0;
    var visible = new Set();
    rows.forEach(function (r) {
      var ok = (!q || r.getAttribute("data-search").indexOf(q) !== -1) && (!st || r.getAttribute("data-state") === st);
      r.hidden = !ok;
      if (ok) { count++; visible.add(r.getAttribute("data-name")); }
    });
    var active = q || st;
    nodes.forEach(function (g, name) { g.classList.toggle("filtered-out", !!active && !visible.has(name)); });
    document.querySelectorAll(".card[data-state]").forEach(function (c) {
      c.classList.toggle("active", c.getAttribute("data-state") === st);
    });
    shown.textContent = count + " of " + rows.length + " shown";
  }
  filter.addEventListener("input", applyFilter);
  stateFilter.addEventListener("change", applyFilter);
  document.querySelectorAll(".card[data-state]").forEach(function (c) {
    c.addEventListener("click", function () {
      var s = c.getAttribute("data-state");
      stateFilter.value = stateFilter.value === s ? "" : s;
      applyFilter();
      document.getElementById("table-section").scrollIntoView();
    });
  });
  applyFilter();

  // -- pruned table filter -----------------------------------------------------------------------
  var pfilter = document.getElementById("pruned-filter");
  if (pfilter) {
    var pcode = document.getElementById("pruned-code");
    var prows = Array.prototype.slice.call(document.getElementById("pruned").tBodies[0].rows);
    var pshown = document.getElementById("pruned-shown");
    var applyPruned = function () {
      var q = pfilter.value.trim().toLowerCase(), c = pcode.value, count = 0;
      prows.forEach(function (r) {
        var ok = (!q || r.getAttribute("data-search").indexOf(q) !== -1) && (!c || r.getAttribute("data-code") === c);
        r.hidden = !ok;
        if (ok) count++;
      });
      pshown.textContent = count + " of " + prows.length + " shown";
    };
    pfilter.addEventListener("input", applyPruned);
    pcode.addEventListener("change", applyPruned);
    applyPruned();
  }

  // -- table sort --------------------------------------------------------------------------------
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  heads.forEach(function (th, col) {
    if (!th.hasAttribute("data-key")) return;
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      heads.forEach(function (h) { if (h.hasAttribute("aria-sort")) h.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var num = th.getAttribute("data-type") === "num";
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-value"), y = b.cells[col].getAttribute("data-value");
        var c = num ? (parseFloat(x) - parseFloat(y)) : x.localeCompare(y);
        if (c === 0) c = a.getAttribute("data-name").localeCompare(b.getAttribute("data-name"));
        return asc ? c : -c;
      });
      rows.forEach(function (r) { tbody.appendChild(r); });
    });
  });
})();
