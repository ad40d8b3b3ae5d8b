// The report's explorer: one path (penalty and l1_ratio) under a slider over its C values.
// It reads the JSON in #explorer-data (written by mnist_logreg.report.explorer) and draws, for the
// selected row, its scores, its weight images, its test-set confusion matrix, and a marker on the
// AUC-vs-C and sparsity curves. Plain DOM, SVG and canvas; nothing is fetched.
(function () {
  "use strict";

  var root = document.getElementById("explorer");
  var source = document.getElementById("explorer-data");
  if (!root || !source) {
    return;
  }
  var data = JSON.parse(source.textContent);
  var role = function (name) { return root.querySelector('[data-role="' + name + '"]'); };
  var select = role("path");
  var slider = role("c-slider");
  var cValue = role("c-value");
  var metrics = role("metrics");
  var weights = role("weights");
  var confusion = role("confusion");
  var aucPlot = role("auc-curve");
  var sparsityPlot = role("sparsity-curve");
  var SVG = "http://www.w3.org/2000/svg";
  var nClasses = data.classes.length;
  var height = data.shape[0];
  var width = data.shape[1];
  var current = { path: null, stop: null };

  // ---- small helpers ------------------------------------------------------------------------------
  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function svg(tag, attributes, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  function isNumber(v) {
    return typeof v === "number" && isFinite(v);
  }

  // ---- the weight images ---------------------------------------------------------------------------
  // A diverging scale: blue for negative weights, white for zero, red for positive, |t| <= 1.
  var ANCHORS = [
    [-1.0, [38, 84, 170]], [-0.45, [150, 190, 226]], [0.0, [255, 255, 255]],
    [0.45, [238, 160, 140]], [1.0, [170, 28, 42]]
  ];

  function colour(t) {
    t = Math.max(-1, Math.min(1, t));
    for (var i = 1; i < ANCHORS.length; i++) {
      if (t <= ANCHORS[i][0]) {
        var a = ANCHORS[i - 1];
        var b = ANCHORS[i];
        var f = (t - a[0]) / (b[0] - a[0]);
        return [0, 1, 2].map(function (c) { return Math.round(a[1][c] + f * (b[1][c] - a[1][c])); });
      }
    }
    return ANCHORS[ANCHORS.length - 1][1];
  }

  function decode(stop) {
    if (!stop.decoded) {
      var bytes = atob(stop.weights);
      var q = new Int8Array(bytes.length);
      for (var i = 0; i < bytes.length; i++) {
        q[i] = (bytes.charCodeAt(i) << 24) >> 24;  // the byte as a signed int8
      }
      stop.decoded = q;
    }
    return stop.decoded;
  }

  var canvases = [];
  var scaleText = el("p", { "class": "ex-scale", "data-role": "weight-scale" });

  function buildWeights() {
    var zoom = Math.max(1, Math.floor(84 / Math.max(width, height)));
    var grid = el("div", { "class": "ex-images" });
    for (var c = 0; c < nClasses; c++) {
      var cell = el("figure", { "class": "ex-image" });
      var canvas = el("canvas", { width: String(width), height: String(height), "data-class": data.classes[c] });
      canvas.style.width = (width * zoom) + "px";
      canvas.style.height = (height * zoom) + "px";
      cell.appendChild(canvas);
      cell.appendChild(el("figcaption", {}, data.classes[c]));
      grid.appendChild(cell);
      canvases.push(canvas);
    }
    var bar = el("canvas", { width: "128", height: "1", "class": "ex-bar" });
    var context = bar.getContext("2d");
    var strip = context.createImageData(128, 1);
    for (var x = 0; x < 128; x++) {
      var rgb = colour(x / 63.5 - 1);
      strip.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * x);
    }
    context.putImageData(strip, 0, 0);
    weights.appendChild(grid);
    var legend = el("div", { "class": "ex-legend" });
    legend.appendChild(el("span", {}, "away from the class"));
    legend.appendChild(bar);
    legend.appendChild(el("span", {}, "towards the class"));
    weights.appendChild(legend);
    weights.appendChild(scaleText);
  }

  function drawWeights(stop) {
    var q = decode(stop);
    var size = width * height;
    canvases.forEach(function (canvas, c) {
      var context = canvas.getContext("2d");
      var image = context.createImageData(width, height);
      for (var j = 0; j < size; j++) {
        var rgb = colour(q[c * size + j] / 127);
        image.data[4 * j] = rgb[0];
        image.data[4 * j + 1] = rgb[1];
        image.data[4 * j + 2] = rgb[2];
        image.data[4 * j + 3] = 255;
      }
      context.putImageData(image, 0, 0);
    });
    var nonzero = false;
    for (var i = 0; i < q.length && !nonzero; i++) nonzero = q[i] !== 0;
    // A row whose weights are all zero has no scale to state (max |W| / 127 is 0): say what it shows.
    scaleText.textContent = nonzero ?
      "One colour scale for all " + nClasses + " images of this row: full colour is a weight of \u00b1" +
        (stop.scale * 127).toPrecision(2) + "; white is exactly zero." :
      "Every weight of this row is zero (all " + nClasses + " images are white): the penalty removed them all.";
  }

  // ---- the scores ----------------------------------------------------------------------------------
  function drawMetrics(stop) {
    clear(metrics);
    var table = el("table", { "class": "kv" });
    stop.text.forEach(function (item) {
      var tr = el("tr");
      tr.appendChild(el("th", {}, item[1]));
      var td = el("td", { "data-metric": item[0] }, item[2]);
      if (item[0] === "converged" && item[2] === "no") {
        td.className = "no";
      }
      tr.appendChild(td);
      table.appendChild(tr);
    });
    metrics.appendChild(table);
  }

  // ---- the confusion matrix ------------------------------------------------------------------------
  function drawConfusion(stop) {
    clear(confusion);
    var counts = stop.confusion;
    var top = 1;
    var total = 0;
    var right = 0;
    counts.forEach(function (row, i) {
      row.forEach(function (n, j) {
        top = Math.max(top, n);
        total += n;
        right += i === j ? n : 0;
      });
    });
    var table = el("table", { "class": "ex-confusion" });
    var caption = el("caption", {}, "Test set: " + total + " images, accuracy " +
      (total ? (100 * right / total).toFixed(1) : "\u2013") + "% (rows: true class, columns: predicted)");
    table.appendChild(caption);
    var head = el("tr");
    head.appendChild(el("th", {}, "true \\ predicted"));
    data.classes.forEach(function (name) { head.appendChild(el("th", {}, name)); });
    table.appendChild(head);
    counts.forEach(function (row, i) {
      var tr = el("tr");
      tr.appendChild(el("th", {}, data.classes[i]));
      row.forEach(function (n) {
        var td = el("td", {}, String(n));
        var alpha = n / top;
        td.style.background = "rgba(38, 84, 170, " + alpha.toFixed(3) + ")";
        td.style.color = alpha > 0.55 ? "#fff" : "";
        tr.appendChild(td);
      });
      table.appendChild(tr);
    });
    confusion.appendChild(table);
  }

  // ---- the curves ----------------------------------------------------------------------------------
  var PLOT = { w: 360, h: 220, left: 56, right: 12, top: 12, bottom: 40 };
  var COLOURS = { train: "#3b6fb6", test: "#e07b39", cv: "#3a9a5b", marker: "#c0182a" };
  var CLIP = 1e-4;

  function logit(p) {
    p = Math.max(CLIP, Math.min(1 - CLIP, p));
    return Math.log(p / (1 - p));
  }

  function finiteStops(path) {
    return path.stops.filter(function (s) { return isNumber(s.C); });
  }

  // The value of a curve at a stop: the mean over repeats when there are repeats.
  function value(stop, key) {
    if (stop.spread && stop.spread[key]) {
      return stop.spread[key][0];
    }
    return stop[key];
  }

  // Its +- one standard deviation: over repeats, or over CV folds for the CV curve.
  function spread(stop, key) {
    if (stop.spread && stop.spread[key]) {
      return stop.spread[key][1];
    }
    if (key === "auc_cv" && isNumber(stop.auc_cv_std)) {
      return stop.auc_cv_std;
    }
    return null;
  }

  function axes(plot, xs, yRange, yTicks, yLabel) {
    var innerW = PLOT.w - PLOT.left - PLOT.right;
    var innerH = PLOT.h - PLOT.top - PLOT.bottom;
    var x0 = Math.min.apply(null, xs);
    var x1 = Math.max.apply(null, xs);
    if (x1 === x0) {
      x0 -= 0.5;
      x1 += 0.5;
    }
    var sx = function (x) { return PLOT.left + (x - x0) / (x1 - x0) * innerW; };
    var sy = function (y) { return PLOT.top + (1 - (y - yRange[0]) / (yRange[1] - yRange[0])) * innerH; };
    plot.appendChild(svg("rect", { x: PLOT.left, y: PLOT.top, width: innerW, height: innerH,
      fill: "none", stroke: "#d1d9e0" }));
    for (var e = Math.ceil(x0); e <= Math.floor(x1); e++) {
      plot.appendChild(svg("line", { x1: sx(e), x2: sx(e), y1: PLOT.top, y2: PLOT.top + innerH, stroke: "#eef1f4" }));
      plot.appendChild(svg("text", { x: sx(e), y: PLOT.top + innerH + 14, "text-anchor": "middle",
        "font-size": 10 }, "1e" + e));
    }
    yTicks.forEach(function (tick) {
      if (tick[0] < yRange[0] || tick[0] > yRange[1]) {
        return;
      }
      plot.appendChild(svg("line", { x1: PLOT.left, x2: PLOT.left + innerW, y1: sy(tick[0]), y2: sy(tick[0]),
        stroke: "#eef1f4" }));
      plot.appendChild(svg("text", { x: PLOT.left - 4, y: sy(tick[0]) + 3, "text-anchor": "end",
        "font-size": 10 }, tick[1]));
    });
    plot.appendChild(svg("text", { x: PLOT.left + innerW / 2, y: PLOT.h - 6, "text-anchor": "middle",
      "font-size": 11 }, "C (log scale)"));
    plot.appendChild(svg("text", { x: 12, y: PLOT.top + innerH / 2, "text-anchor": "middle", "font-size": 11,
      transform: "rotate(-90 12 " + (PLOT.top + innerH / 2) + ")" }, yLabel));
    return { sx: sx, sy: sy };
  }

  function series(plot, scale, points, colour, label, legendIndex) {
    var withBand = points.filter(function (p) { return isNumber(p.low) && isNumber(p.high); });
    if (withBand.length > 1) {
      var upper = withBand.map(function (p) { return scale.sx(p.x) + "," + scale.sy(p.high); });
      var lower = withBand.slice().reverse().map(function (p) { return scale.sx(p.x) + "," + scale.sy(p.low); });
      plot.appendChild(svg("polygon", { points: upper.concat(lower).join(" "), fill: colour, "fill-opacity": 0.18,
        stroke: "none" }));
    }
    var line = points.map(function (p) { return scale.sx(p.x) + "," + scale.sy(p.y); }).join(" ");
    plot.appendChild(svg("polyline", { points: line, fill: "none", stroke: colour, "stroke-width": 1.6 }));
    points.forEach(function (p) {
      plot.appendChild(svg("circle", { cx: scale.sx(p.x), cy: scale.sy(p.y), r: 2, fill: colour }));
    });
    var lx = PLOT.left + 8 + 78 * legendIndex;
    plot.appendChild(svg("line", { x1: lx, x2: lx + 14, y1: PLOT.top + 10, y2: PLOT.top + 10, stroke: colour,
      "stroke-width": 2 }));
    plot.appendChild(svg("text", { x: lx + 18, y: PLOT.top + 13, "font-size": 10 }, label));
  }

  function points(stops, key, transform) {
    return stops.filter(function (s) { return isNumber(value(s, key)); }).map(function (s) {
      var v = value(s, key);
      var d = spread(s, key);
      return { x: Math.log10(s.C), y: transform(v),
        low: isNumber(d) ? transform(v - d) : null, high: isNumber(d) ? transform(v + d) : null };
    });
  }

  function marker(plot, scale, x, ys) {
    plot.appendChild(svg("line", { x1: scale.sx(x), x2: scale.sx(x), y1: PLOT.top, y2: PLOT.h - PLOT.bottom,
      stroke: COLOURS.marker, "stroke-dasharray": "4 3", "data-role": "marker" }));
    ys.forEach(function (y) {
      plot.appendChild(svg("circle", { cx: scale.sx(x), cy: scale.sy(y), r: 5, fill: "none",
        stroke: COLOURS.marker, "stroke-width": 2 }));
    });
  }

  function star(plot, x, y) {
    var spikes = [];
    for (var i = 0; i < 10; i++) {
      var r = i % 2 ? 3.5 : 8;
      var a = Math.PI / 2 + i * Math.PI / 5;
      spikes.push((x + r * Math.cos(a)) + "," + (y - r * Math.sin(a)));
    }
    plot.appendChild(svg("polygon", { points: spikes.join(" "), fill: COLOURS.marker, "data-role": "chosen" }));
  }

  function noCurve(plot, text) {
    plot.appendChild(svg("text", { x: PLOT.w / 2, y: PLOT.h / 2, "text-anchor": "middle", "font-size": 12 }, text));
  }

  function drawCurves(path, stop) {
    [aucPlot, sparsityPlot].forEach(function (plot) {
      clear(plot);
      plot.setAttribute("viewBox", "0 0 " + PLOT.w + " " + PLOT.h);
    });
    var stops = finiteStops(path);
    if (!stops.length || !isNumber(stop.C)) {
      noCurve(aucPlot, "no C on this path (the unpenalised fit)");
      noCurve(sparsityPlot, "no C on this path (the unpenalised fit)");
      return;
    }
    var xs = stops.map(function (s) { return Math.log10(s.C); });
    var keys = [["auc_train", "train", COLOURS.train], ["auc_test", "test", COLOURS.test],
      ["auc_cv", "CV", COLOURS.cv]];
    var curves = keys.map(function (k) { return [points(stops, k[0], logit), k]; })
      .filter(function (c) { return c[0].length; });
    var ys = [];
    curves.forEach(function (c) {
      c[0].forEach(function (p) { ys.push(p.y); if (isNumber(p.low)) { ys.push(p.low, p.high); } });
    });
    var y0 = Math.min.apply(null, ys);
    var y1 = Math.max.apply(null, ys);
    var pad = Math.max(0.1, 0.06 * (y1 - y0));
    var ticks = [0.5, 0.9, 0.99, 0.999, 0.9999].map(function (p) {
      return [logit(p), String(+(100 * p).toPrecision(6)) + "%"];
    });
    var scale = axes(aucPlot, xs, [y0 - pad, y1 + pad], ticks, "ROC AUC (logit scale)");
    curves.forEach(function (c, i) { series(aucPlot, scale, c[0], c[1][2], c[1][1], i); });
    marker(aucPlot, scale, Math.log10(stop.C), curves.map(function (c) {
      return logit(value(stop, c[1][0]));
    }).filter(isNumber));
    var chosen = path.stops.filter(function (s) { return s.row === data.chosen; })[0];
    var key = data.select_by === "roc_auc_cv" ? "auc_cv" : "auc_test";
    if (chosen && isNumber(chosen.C) && isNumber(value(chosen, key))) {
      star(aucPlot, scale.sx(Math.log10(chosen.C)), scale.sy(logit(value(chosen, key))));
    }

    var nonzero = points(stops, "nonzero", function (v) { return v; });
    var sparsity = axes(sparsityPlot, xs, [-0.03, 1.03],
      [[0, "0%"], [0.25, "25%"], [0.5, "50%"], [0.75, "75%"], [1, "100%"]], "nonzero weights");
    series(sparsityPlot, sparsity, nonzero, COLOURS.train, "nonzero", 0);
    marker(sparsityPlot, sparsity, Math.log10(stop.C), isNumber(value(stop, "nonzero")) ? [value(stop, "nonzero")] : []);
  }

  // ---- wiring --------------------------------------------------------------------------------------
  function pathByName(name) {
    return data.paths.filter(function (p) { return p.name === name; })[0];
  }

  function show(index) {
    var stop = current.path.stops[index];
    current.stop = stop;
    slider.value = String(index);
    cValue.textContent = stop.label;
    cValue.setAttribute("data-c", stop.C_exact);
    cValue.setAttribute("data-row", String(stop.row));
    slider.setAttribute("aria-valuetext", "C = " + stop.label);
    drawMetrics(stop);
    drawWeights(stop);
    drawConfusion(stop);
    drawCurves(current.path, stop);
  }

  function choosePath(name, index) {
    current.path = pathByName(name);
    select.value = name;
    slider.min = "0";
    slider.max = String(current.path.stops.length - 1);
    slider.step = "1";
    slider.disabled = current.path.stops.length < 2;
    slider.setAttribute("data-c-values", current.path.stops.map(function (s) { return s.C_exact; }).join(" "));
    show(Math.max(0, Math.min(index, current.path.stops.length - 1)));
  }

  function move(delta) {
    var last = current.path.stops.length - 1;
    var index = Math.max(0, Math.min(last, Number(slider.value) + delta));
    if (index !== Number(slider.value)) {
      show(index);
    }
  }

  buildWeights();
  select.addEventListener("change", function () {
    // Keep the same C where the new path has it, else start from its most regularised row.
    var C = current.stop ? current.stop.C : null;
    var next = pathByName(select.value);
    var same = next.stops.map(function (s) { return s.C; }).indexOf(C);
    choosePath(select.value, same >= 0 ? same : 0);
  });
  slider.addEventListener("input", function () { show(Number(slider.value)); });
  // Arrow keys move the slider from anywhere in the explorer; the slider handles its own keys.
  root.addEventListener("keydown", function (event) {
    if (event.target === slider || event.target === select) {
      return;
    }
    var steps = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1 };
    if (event.key in steps) {
      move(steps[event.key]);
      event.preventDefault();
    } else if (event.key === "Home" || event.key === "End") {
      move(event.key === "Home" ? -Infinity : Infinity);
      event.preventDefault();
    }
  });

  var start = data.paths[0];
  var startIndex = 0;
  data.paths.forEach(function (p) {
    p.stops.forEach(function (s, i) {
      if (s.row === data.chosen) {
        start = p;
        startIndex = i;
      }
    });
  });
  choosePath(start.name, startIndex);
}());
