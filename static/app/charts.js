// Hand-written SVG charts. Each chart is drawn at the container's real pixel
// width (so text stays readable on a phone) and redrawn when that changes.
// Every chart is role="img" with an aria-label that states its numbers; a
// data table under each chart carries the same figures.
//
// Decision (issue 17, measured 2026-12-07 with `npm pack --dry-run`): keep these
// hand-written charts rather than vendor a library. This file is ~12.5 KB
// (~4.2 KB gzipped) for bars, the funnel, a two-axis line chart and a meter;
// uPlot 1.6.32 ships dist/uPlot.iife.min.js at 51,081 B (+1,857 B CSS),
// Chart.js 4.6.2 dist/chart.umd.min.js at 212,619 B. Both draw on <canvas>,
// which screen readers cannot read, so we would still need the aria-label,
// the SVG title/desc and the data tables; and neither gives the funnel as-is.
// Revisit if we need zooming, panning or thousands of points per chart.

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null && v !== false) el.setAttribute(k, String(v));
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

const observers = new WeakMap();

/** Draw `draw(width)` into `container`, redrawing on width changes. */
function mount(container, draw) {
  observers.get(container)?.disconnect();
  let lastW = 0;
  const render = () => {
    const w = Math.max(240, Math.floor(container.clientWidth || 0) || 600);
    if (Math.abs(w - lastW) < 2) return;
    lastW = w;
    container.replaceChildren(draw(w));
  };
  render();
  if (typeof ResizeObserver === 'function') {
    let raf = 0;
    const ro = new ResizeObserver(() => {
      cancelAnimationFrame(raf);
      raf = requestAnimationFrame(() => {
        if (!container.isConnected) return ro.disconnect();
        render();
      });
    });
    ro.observe(container);
    observers.set(container, ro);
  }
}

const textW = (str, px = 13) => Math.ceil(String(str).length * px * 0.58);

function truncate(str, maxPx, px = 13) {
  const t = String(str);
  const max = Math.max(3, Math.floor(maxPx / (px * 0.58)));
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

/**
 * Horizontal bar chart.
 * rows: [{label, value, display?, title?}]; opts: {ariaLabel, tone}
 */
export function barChart(container, rows, { ariaLabel, tone = 'c1', empty = 'No data yet.' } = {}) {
  container.classList.add('chart');
  if (!rows.length) {
    container.replaceChildren(Object.assign(document.createElement('p'), { className: 'muted small empty', textContent: empty }));
    observers.get(container)?.disconnect();
    return;
  }
  mount(container, (W) => {
    const rowH = 28;
    const gap = 8;
    const top = 4;
    const H = top + rows.length * (rowH + gap);
    const max = Math.max(1, ...rows.map((r) => r.value));
    const labelW = Math.min(Math.round(W * 0.38), Math.max(...rows.map((r) => textW(r.label))) + 8);
    const valW = Math.max(...rows.map((r) => textW(r.display ?? r.value))) + 10;
    const x0 = labelW + 6;
    const barMax = Math.max(20, W - x0 - valW);
    const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': ariaLabel, class: 'svg-chart' });
    svg.appendChild(s('title', {}, ariaLabel));
    rows.forEach((r, i) => {
      const y = top + i * (rowH + gap);
      const bw = r.value > 0 ? Math.max(3, (r.value / max) * barMax) : 0;
      const g = s('g', { class: 'bar-row', 'data-label': r.label, 'data-value': r.value });
      g.appendChild(s('text', { x: labelW, y: y + rowH / 2, 'text-anchor': 'end', 'dominant-baseline': 'central', class: 'bar-label' }, truncate(r.label, labelW)));
      g.appendChild(s('rect', { x: x0, y, width: barMax, height: rowH, rx: 4, class: 'bar-track' }));
      g.appendChild(s('rect', { x: x0, y, width: bw, height: rowH, rx: 4, class: `bar-fill tone-${r.tone || tone}` }, s('title', {}, r.title || `${r.label}: ${r.display ?? r.value}`)));
      g.appendChild(s('text', { x: x0 + bw + 6, y: y + rowH / 2, 'dominant-baseline': 'central', class: 'bar-value' }, String(r.display ?? r.value)));
      svg.appendChild(g);
    });
    return svg;
  });
}

/**
 * The campaign funnel: clicks → qualified clicks → conversions, with the
 * step-to-step rate, and the revenue line.
 */
export function funnelChart(container, f, { fmtInt, fmtMoney, fmtPct }) {
  container.classList.add('chart', 'funnel-chart');
  const stages = [
    { key: 'clicks', label: 'Clicks', value: f.clicks ?? 0, note: f.botClicks ? `${fmtInt(f.botClicks)} bot` : '' },
    { key: 'qualified', label: 'Qualified clicks', value: f.qualifiedClicks ?? 0, note: f.clicks ? `${fmtPct((f.qualifiedClicks ?? 0) / f.clicks, 0)} of clicks` : '' },
    { key: 'conversions', label: 'Conversions', value: f.conversions ?? 0, note: f.qualifiedClicks ? `${fmtPct(f.conversionRate ?? 0)} rate` : '' },
  ];
  const revenue = fmtMoney(f.revenue ?? 0, f.currency);
  const n = (v, one, many) => `${fmtInt(v ?? 0)} ${(v ?? 0) === 1 ? one : many}`;
  const ariaLabel =
    `Funnel for ${f.campaignId}: ${n(f.clicks, 'click', 'clicks')} (${n(f.botClicks, 'bot', 'bots')}), ` +
    `${n(f.qualifiedClicks, 'qualified click', 'qualified clicks')}, ${n(f.conversions, 'conversion', 'conversions')}, ` +
    `revenue ${revenue}, ${n(f.testConversions, 'test conversion', 'test conversions')}.`;
  mount(container, (W) => {
    const narrow = W < 480;
    const rowH = 34;
    const gap = narrow ? 30 : 12;
    const labelW = narrow ? 0 : 130;
    const top = narrow ? 18 : 4;
    const valW = narrow ? 120 : 170;
    const x0 = narrow ? 0 : labelW + 10;
    const barMax = Math.max(40, W - x0 - valW);
    const H = top + stages.length * (rowH + gap) + 26;
    const max = Math.max(1, ...stages.map((st) => st.value));
    const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': ariaLabel, class: 'svg-chart', 'data-testid': 'funnel-svg' });
    svg.appendChild(s('title', {}, ariaLabel));
    stages.forEach((st, i) => {
      const y = top + i * (rowH + gap);
      const bw = st.value > 0 ? Math.max(4, (st.value / max) * barMax) : 0;
      const g = s('g', { class: `funnel-stage stage-${st.key}`, 'data-stage': st.key, 'data-value': st.value });
      if (narrow) g.appendChild(s('text', { x: 0, y: y - 6, class: 'bar-label' }, st.label));
      else g.appendChild(s('text', { x: labelW, y: y + rowH / 2, 'text-anchor': 'end', 'dominant-baseline': 'central', class: 'bar-label' }, st.label));
      g.appendChild(s('rect', { x: x0, y, width: barMax, height: rowH, rx: 5, class: 'bar-track' }));
      g.appendChild(s('rect', { x: x0, y, width: bw, height: rowH, rx: 5, class: `bar-fill stage-fill-${st.key}` }, s('title', {}, `${st.label}: ${fmtInt(st.value)}`)));
      const vt = s('text', { x: x0 + bw + 8, y: y + rowH / 2, 'dominant-baseline': 'central', class: 'bar-value' });
      vt.appendChild(s('tspan', { class: 'bar-value-strong' }, fmtInt(st.value)));
      if (st.note) vt.appendChild(s('tspan', { class: 'bar-note', dx: 6 }, st.note));
      g.appendChild(vt);
      svg.appendChild(g);
    });
    const ry = top + stages.length * (rowH + gap) + 8;
    const rev = s('text', { x: x0, y: ry, 'dominant-baseline': 'central', class: 'funnel-revenue', 'data-stage': 'revenue', 'data-value': f.revenue ?? 0 });
    rev.appendChild(s('tspan', { class: 'bar-note' }, 'Revenue '));
    rev.appendChild(s('tspan', { class: 'bar-value-strong' }, revenue));
    if (f.testConversions) rev.appendChild(s('tspan', { class: 'bar-note', dx: 8 }, `· ${fmtInt(f.testConversions)} test conversion${f.testConversions === 1 ? '' : 's'} (not counted)`));
    svg.appendChild(rev);
    return svg;
  });
}

function niceStep(max, ticks = 4) {
  const raw = Math.max(1, max) / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  const step = (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
  return Math.max(1, Math.round(step));
}

/** A nice scale for `max` with `k` intervals (k from the left axis, so grid lines are shared). */
function scale(max, k) {
  const step = niceStep(max, k || 4); // ≥ max / k, so step × k ≥ max
  return { step, top: k ? step * k : Math.ceil(Math.max(1, max) / step) * step };
}

/**
 * Line chart over time buckets, with an optional right-hand axis: series with
 * axis: 'right' (conversions beside clicks) get their own scale and ticks,
 * drawn dashed, so 26 conversions are not a flat line under 8,066 clicks.
 * points: [{t, ...}]; series: [{key, label, tone, axis?}];
 * opts: {ariaLabel, desc, formatTick(t), formatFull(t)}
 */
export function lineChart(container, points, series, { ariaLabel, desc, formatTick, formatFull }) {
  container.classList.add('chart');
  const left = series.filter((se) => se.axis !== 'right');
  const right = series.filter((se) => se.axis === 'right');
  const maxOf = (ss) => Math.max(1, ...points.flatMap((p) => ss.map((se) => p[se.key] || 0)));
  mount(container, (W) => {
    const H = W < 480 ? 190 : 230;
    const L = scale(maxOf(left), 0);
    const k = Math.round(L.top / L.step);
    const R = right.length ? scale(maxOf(right), k) : null;
    const padL = textW(L.top, 12) + 14;
    const padR = R ? textW(R.top, 12) + 14 : 12;
    const padT = 10;
    const padB = 26;
    const iw = W - padL - padR;
    const ih = H - padT - padB;
    const n = Math.max(1, points.length);
    const x = (i) => padL + (n === 1 ? iw / 2 : (i / (n - 1)) * iw);
    const y = (v, sc = L) => padT + ih - (v / sc.top) * ih;
    const svg = s('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': ariaLabel, class: 'svg-chart line-chart' });
    svg.appendChild(s('title', {}, ariaLabel));
    if (desc) svg.appendChild(s('desc', {}, desc));
    const grid = s('g', { class: 'grid' });
    const rightTicks = R ? s('g', { class: 'axis-right', 'data-axis': 'right', 'data-top': R.top }) : null;
    for (let i = 0; i <= k; i++) {
      const v = i * L.step;
      grid.appendChild(s('line', { x1: padL, x2: W - padR, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : 'gridline' }));
      grid.appendChild(s('text', { x: padL - 6, y: y(v), 'text-anchor': 'end', 'dominant-baseline': 'central', class: 'tick' }, String(v)));
      if (R) rightTicks.appendChild(s('text', { x: W - padR + 6, y: y(v), 'dominant-baseline': 'central', class: 'tick tick-right' }, String(i * R.step)));
    }
    if (R) grid.appendChild(s('line', { x1: W - padR, x2: W - padR, y1: padT, y2: padT + ih, class: `axis-right-line tone-stroke-${right[0].tone}` }));
    // X labels: evenly spaced, never closer than ~64 px (the last bucket is
    // always labelled, so a regular label too close to it is dropped).
    const minGap = 64;
    const every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(iw / minGap))));
    const lastX = x(n - 1);
    points.forEach((p, i) => {
      const isLast = i === n - 1;
      if (!isLast && (i % every !== 0 || (n > 1 && lastX - x(i) < minGap))) return;
      grid.appendChild(s('text', { x: x(i), y: H - 8, 'text-anchor': i === 0 ? 'start' : isLast ? 'end' : 'middle', class: 'tick' }, formatTick(p.t)));
    });
    svg.appendChild(grid);
    if (rightTicks) svg.appendChild(rightTicks);
    for (const se of series) {
      const sc = se.axis === 'right' ? R : L;
      const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p[se.key] || 0, sc).toFixed(1)}`).join('');
      svg.appendChild(s('path', { d, class: `line tone-stroke-${se.tone}${se.axis === 'right' ? ' line-right' : ''}`, fill: 'none', 'data-series': se.key, 'data-axis': se.axis === 'right' ? 'right' : 'left' }));
      if (n <= 60) {
        const dots = s('g', { class: `dots tone-${se.tone}` });
        points.forEach((p, i) => {
          if (p[se.key]) dots.appendChild(s('circle', { cx: x(i), cy: y(p[se.key], sc), r: 3 }));
        });
        svg.appendChild(dots);
      }
    }
    // Hover targets: one column per bucket with a native tooltip.
    const hit = s('g', { class: 'hit' });
    const colW = iw / n;
    points.forEach((p, i) => {
      const tip = `${formatFull(p.t)} — ${series.map((se) => `${se.label} ${p[se.key] || 0}`).join(', ')}`;
      hit.appendChild(s('rect', { x: x(i) - colW / 2, y: padT, width: colW, height: ih, fill: 'transparent' }, s('title', {}, tip)));
    });
    svg.appendChild(hit);
    return svg;
  });
}

/** Confidence meter (0–100) as a small bar. */
export function meter(value, label) {
  const v = Math.max(0, Math.min(100, Number(value) || 0));
  const svg = s('svg', { viewBox: '0 0 120 10', preserveAspectRatio: 'none', role: 'img', 'aria-label': label, class: 'meter' });
  svg.appendChild(s('rect', { x: 0, y: 0, width: 120, height: 10, rx: 5, class: 'bar-track' }));
  svg.appendChild(s('rect', { x: 0, y: 0, width: (v / 100) * 120, height: 10, rx: 5, class: v >= 70 ? 'tone-ok' : v >= 30 ? 'tone-warn' : 'tone-bad' }));
  return svg;
}
