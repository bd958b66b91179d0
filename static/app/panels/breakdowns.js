// The breakdowns card: qualified clicks per source, country, device, segment
// and rule, each as a bar chart with a table of the same figures (unique
// clicks too, when the server sends them), and how fresh the figures are.
import { h, clear, fmtInt, fmtMoney, errorNotice, dataTable } from '../ui.js';
import { card, freshnessLine, uniqueColumn } from '../components.js';
import { barChart } from '../charts.js';

const DIMENSIONS = [['source', 'Source', 'c1'], ['country', 'Country', 'c2'], ['device', 'Device', 'c3'], ['segment', 'Segment', 'c4'], ['rule', 'Rule', 'c5']];

/** Rows shown before "Show all N". */
const TOP = 10;

/** "mobile:direct" with a line-break opportunity after each colon (segments on a phone). */
const breakable = (s) => s.split(/(?<=:)/).flatMap((part, i) => (i ? [h('wbr'), part] : [part]));

export function breakdownsPanel() {
  const grid = h('div', { class: 'bd-grid' });
  const boxes = {};
  for (const [key, title, tone] of DIMENSIONS) {
    const chart = h('div', { class: 'chart-box', id: `bd-${key}` });
    const table = h('div', { id: `bd-${key}-table` });
    boxes[key] = { chart, table, title, tone, rows: null, sum: 0, all: false };
    grid.appendChild(h('section', { class: 'bd', 'aria-labelledby': `bd-${key}-title` }, h('h3', { id: `bd-${key}-title` }, title), chart, table));
  }

  /** Draw one dimension's rows (breakdown entries or groupBy rows): the top TOP by qualified clicks, the rest behind "Show all N". */
  const render = (key, rows, currency) => {
    const box = boxes[key];
    box.rows = rows;
    box.currency = currency;
    box.sum = rows.reduce((a, r) => a + (r.conversions ?? 0), 0);
    draw(key);
    attribution();
  };
  const draw = (key) => {
    const { chart, table, title, tone, rows, currency, all } = boxes[key];
    const label = (r) => (r[key] === '' || r[key] == null ? `(no ${key})` : String(r[key]));
    const qual = (r) => r.qualifiedClicks ?? r.count ?? 0;
    const sorted = rows.length > TOP ? [...rows].sort((a, b) => qual(b) - qual(a)) : rows;
    const shown = all ? sorted : sorted.slice(0, TOP);
    const data = shown.map((r) => ({ label: label(r), value: qual(r), title: `${label(r)}: ${fmtInt(qual(r))} qualified clicks, ${fmtInt(r.conversions ?? 0)} conversions` }));
    barChart(chart, data, {
      ariaLabel: `Qualified clicks by ${key}${shown.length < rows.length ? ` (top ${shown.length} of ${rows.length})` : ''}: ${data.map((d) => `${d.label} ${d.value}`).join(', ') || 'none'}`,
      tone,
      empty: `No ${title.toLowerCase()} data yet.`,
    });
    let toggle = null;
    if (rows.length > TOP) {
      toggle = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-expanded': String(!!all), 'aria-controls': `bd-${key}-table`, dataset: { toggle: key } }, all ? `Show top ${TOP}` : `Show all ${rows.length}`);
      toggle.addEventListener('click', () => {
        boxes[key].all = !all;
        draw(key);
        table.querySelector('[data-toggle]')?.focus();
      });
    }
    clear(
      table,
      rows.length
        ? [
            dataTable(`${title} breakdown`, [
              { label: title, get: (r) => breakable(label(r)) },
              { label: 'Clicks', get: (r) => fmtInt(r.clicks ?? r.count ?? 0), num: true },
              { label: 'Qualified', short: 'Qual.', get: (r) => fmtInt(qual(r)), num: true },
              uniqueColumn(rows),
              { label: 'Conv.', get: (r) => fmtInt(r.conversions ?? 0), num: true },
              { label: 'Revenue', short: 'Rev.', get: (r) => fmtMoney(r.revenue ?? 0, currency), num: true },
            ], shown),
            toggle ? h('p', { class: 'bd-more muted small' }, shown.length < rows.length ? `Top ${TOP} of ${rows.length} by qualified clicks. ` : `All ${rows.length}, by qualified clicks. `, toggle) : null,
          ]
        : null,
    );
  };

  /** The funnel's conversions; when a dimension's rows sum to fewer, one line says why. */
  let funnelConversions = 0;
  const note = h('p', { class: 'notice-inline muted small', id: 'bd-attribution', hidden: true });
  const conversions = (n) => {
    funnelConversions = Number(n) || 0;
    attribution();
  };
  const attribution = () => {
    // Rules count only clicks a rule sent, so they do not say what is missing.
    const sums = Object.entries(boxes).filter(([k, b]) => k !== 'rule' && b.rows).map(([, b]) => b.sum);
    const missing = sums.length ? funnelConversions - Math.min(...sums) : 0;
    note.hidden = !(funnelConversions > 0 && missing > 0);
    note.textContent = note.hidden
      ? ''
      : `${fmtInt(missing)} of ${fmtInt(funnelConversions)} conversions are not attributed to a segment: conversions on AGGREGATE_ONLY links (no per-click record) and conversions posted with campaignId only have no click to take a source, country, device or segment from.`;
  };

  /** Show why one dimension could not be loaded. */
  const fail = (key, err) => {
    clear(boxes[key].chart, errorNotice(err));
    clear(boxes[key].table);
    boxes[key].rows = null;
    attribution();
  };

  /** The freshness of the analytics answers the dimensions came from. */
  const fresh = h('div');
  const freshness = (answers) => clear(fresh, freshnessLine(...answers));

  const cardEl = card('Breakdowns', { id: 'breakdowns-card' }, h('p', { class: 'muted small' }, 'Qualified clicks (bots excluded) per dimension; the table adds conversions and revenue.'), fresh, grid, note);
  return { card: cardEl, render, fail, freshness, conversions };
}
