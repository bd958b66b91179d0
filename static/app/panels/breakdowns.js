// The breakdowns card: qualified clicks per source, country, device, segment
// and rule, each as a bar chart with a table of the same figures (unique
// clicks too, when the server sends them), and how fresh the figures are.
import { h, clear, fmtInt, fmtMoney, errorNotice, dataTable } from '../ui.js';
import { card, freshnessLine, uniqueColumn } from '../components.js';
import { barChart } from '../charts.js';

const DIMENSIONS = [['source', 'Source', 'c1'], ['country', 'Country', 'c2'], ['device', 'Device', 'c3'], ['segment', 'Segment', 'c4'], ['rule', 'Rule', 'c5']];

/** "mobile:direct" with a line-break opportunity after each colon (segments on a phone). */
const breakable = (s) => s.split(/(?<=:)/).flatMap((part, i) => (i ? [h('wbr'), part] : [part]));

export function breakdownsPanel() {
  const grid = h('div', { class: 'bd-grid' });
  const boxes = {};
  for (const [key, title, tone] of DIMENSIONS) {
    const chart = h('div', { class: 'chart-box', id: `bd-${key}` });
    const table = h('div');
    boxes[key] = { chart, table, title, tone };
    grid.appendChild(h('section', { class: 'bd', 'aria-labelledby': `bd-${key}-title` }, h('h3', { id: `bd-${key}-title` }, title), chart, table));
  }

  /** Draw one dimension's rows (breakdown entries or groupBy rows). */
  const render = (key, rows, currency) => {
    const { chart, table, title, tone } = boxes[key];
    const label = (r) => (r[key] === '' || r[key] == null ? `(no ${key})` : String(r[key]));
    const data = rows.map((r) => ({ label: label(r), value: r.qualifiedClicks ?? r.count ?? 0, title: `${label(r)}: ${fmtInt(r.qualifiedClicks ?? r.count ?? 0)} qualified clicks, ${fmtInt(r.conversions ?? 0)} conversions` }));
    barChart(chart, data, {
      ariaLabel: `Qualified clicks by ${key}: ${data.map((d) => `${d.label} ${d.value}`).join(', ') || 'none'}`,
      tone,
      empty: `No ${title.toLowerCase()} data yet.`,
    });
    clear(
      table,
      rows.length
        ? dataTable(`${title} breakdown`, [
            { label: title, get: (r) => breakable(label(r)) },
            { label: 'Clicks', get: (r) => fmtInt(r.clicks ?? r.count ?? 0), num: true },
            { label: 'Qualified', short: 'Qual.', get: (r) => fmtInt(r.qualifiedClicks ?? r.count ?? 0), num: true },
            uniqueColumn(rows),
            { label: 'Conv.', get: (r) => fmtInt(r.conversions ?? 0), num: true },
            { label: 'Revenue', short: 'Rev.', get: (r) => fmtMoney(r.revenue ?? 0, currency), num: true },
          ], rows)
        : null,
    );
  };

  /** Show why one dimension could not be loaded. */
  const fail = (key, err) => {
    clear(boxes[key].chart, errorNotice(err));
    clear(boxes[key].table);
  };

  /** The freshness of the analytics answers the dimensions came from. */
  const fresh = h('div');
  const freshness = (answers) => clear(fresh, freshnessLine(...answers));

  const cardEl = card('Breakdowns', { id: 'breakdowns-card' }, h('p', { class: 'muted small' }, 'Qualified clicks (bots excluded) per dimension; the table adds conversions and revenue.'), fresh, grid);
  return { card: cardEl, render, fail, freshness };
}
