// Small line charts drawn by hand in SVG: the page loads nothing from a CDN.
"use strict";

const Curves = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const WIDTH = 320, HEIGHT = 180;
  const MARGIN = { left: 38, right: 8, top: 8, bottom: 20 };

  function svg(name, attributes = {}, parent = null) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  // About `count` round values covering [low, high].
  function ticks(low, high, count) {
    if (high <= low) high = low + 1;
    const raw = (high - low) / count;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
    const values = [];
    for (let v = Math.ceil(low / step) * step; v <= high + step * 1e-9; v += step) {
      values.push(Number(v.toPrecision(12)));
    }
    return values;
  }

  function label(value, percent) {
    if (percent) return `${Math.round(value * 100)}%`;
    if (Math.abs(value) >= 1000) return `${(value / 1000).toFixed(value % 1000 ? 1 : 0)}k`;
    return String(Number(value.toPrecision(3)));
  }

  // Draw series [{label, color, points: [[x, y], ...], dots}] into `container`.
  // Options: title, percent (y in 0..1 shown as %), xMin / xMax / yMin / yMax (fixed bounds).
  function draw(container, series, options = {}) {
    container.replaceChildren();
    const head = document.createElement("div");
    head.className = "chart-title";
    head.textContent = options.title || "";
    container.appendChild(head);
    const points = series.flatMap((s) => s.points);
    if (!points.length) {
      const empty = document.createElement("div");
      empty.className = "chart-empty";
      empty.textContent = "no data yet";
      container.appendChild(empty);
      return;
    }
    const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
    const xLow = options.xMin ?? Math.min(...xs);
    const xHigh = Math.max(options.xMax ?? Math.max(...xs), xLow + 1);
    let yLow = options.yMin ?? Math.min(...ys), yHigh = options.yMax ?? Math.max(...ys);
    if (yHigh - yLow < 1e-9) { yLow -= 0.5; yHigh += 0.5; }
    const yTicks = ticks(yLow, yHigh, 4);
    yLow = Math.min(yLow, yTicks[0]);
    yHigh = Math.max(yHigh, yTicks[yTicks.length - 1]);
    const plotW = WIDTH - MARGIN.left - MARGIN.right, plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
    const x = (v) => MARGIN.left + ((v - xLow) / (xHigh - xLow)) * plotW;
    const y = (v) => MARGIN.top + (1 - (v - yLow) / (yHigh - yLow)) * plotH;

    const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart", role: "img" });
    svg("title", {}, chart).textContent = options.title || "";
    for (const v of yTicks) {
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(v), y2: y(v), class: "grid" }, chart);
      const text = svg("text", { x: MARGIN.left - 5, y: y(v) + 3.5, class: "tick", "text-anchor": "end" }, chart);
      text.textContent = label(v, options.percent);
    }
    for (const v of ticks(xLow, xHigh, 4).filter((v) => v >= xLow && v <= xHigh)) {
      const text = svg("text", { x: x(v), y: HEIGHT - 5, class: "tick", "text-anchor": "middle" }, chart);
      text.textContent = label(v, false);
    }
    svg("line", { x1: MARGIN.left, x2: MARGIN.left, y1: MARGIN.top, y2: MARGIN.top + plotH, class: "axis" }, chart);
    svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: MARGIN.top + plotH, y2: MARGIN.top + plotH, class: "axis" }, chart);
    for (const s of series) {
      if (!s.points.length) continue;
      const path = s.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
      svg("polyline", { points: path, fill: "none", stroke: s.color, "stroke-width": 1.8, "stroke-linejoin": "round" }, chart);
      if (s.dots) {
        for (const p of s.points) svg("circle", { cx: x(p[0]), cy: y(p[1]), r: 2.6, fill: s.color }, chart);
      }
    }
    container.appendChild(chart);
    const legend = document.createElement("div");
    legend.className = "chart-legend";
    for (const s of series.filter((s) => s.points.length)) {
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = s.color;
      item.append(swatch, s.label);
      legend.appendChild(item);
    }
    container.appendChild(legend);
  }

  return { draw };
})();
