// The "Over time" card: clicks, qualified clicks and conversions per hour
// (last 24 h) or per day (last 30 d), as a line chart and a table (unique
// clicks too, when the server sends them), and how fresh the figures are.
import { GET } from '../api.js';
import { h, clear, fmtInt, fmtMoney, fmtTime, errorNotice, dataTable } from '../ui.js';
import { card, legend, freshnessLine, uniqueColumn } from '../components.js';
import { lineChart } from '../charts.js';
import { base } from '../state.js';

/** `campaign` is a getter for the current campaign. */
export function seriesPanel({ campaign }) {
  let interval = 'hour';
  const chart = h('div', { class: 'chart-box', id: 'series-chart' });
  const table = h('div');
  const msg = h('div');
  const fresh = h('div');
  const ivBtns = ['hour', 'day'].map((iv) => {
    const b = h('button', { type: 'button', class: 'seg-btn', 'aria-pressed': String(iv === interval), dataset: { interval: iv } }, iv === 'hour' ? 'Hourly · 24 h' : 'Daily · 30 d');
    b.addEventListener('click', () => {
      interval = iv;
      for (const x of ivBtns) x.setAttribute('aria-pressed', String(x.dataset.interval === iv));
      load();
    });
    return b;
  });
  const load = async () => {
    const c = campaign();
    const now = Date.now();
    const step = interval === 'hour' ? 3600_000 : 86_400_000;
    const buckets = interval === 'hour' ? 24 : 30;
    const to = Math.floor(now / step) * step + step; // end of the current bucket
    const from = to - buckets * step; // aligned to bucket starts
    chart.setAttribute('aria-busy', 'true');
    try {
      const r = await GET(`${base()}/analytics`, { campaignId: c.campaignId, from: new Date(from).toISOString(), to: new Date(to).toISOString(), interval });
      const pts = r.timeseries || [];
      clear(msg);
      const totals = pts.reduce((a, p) => ({ clicks: a.clicks + (p.clicks || 0), conv: a.conv + (p.conversions || 0) }), { clicks: 0, conv: 0 });
      const tick = (t) => {
        const d = new Date(t);
        return interval === 'hour' ? `${String(d.getUTCHours()).padStart(2, '0')}:00` : d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
      };
      // Table rows: the header says UTC; the hour's date without the year.
      const row = (t) => (interval === 'hour' ? `${new Date(t).toLocaleDateString('en-GB', { day: '2-digit', month: 'short', timeZone: 'UTC' })} ${tick(t)}` : full(t));
      const full = (t) => (interval === 'hour' ? fmtTime(t) : new Date(t).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }));
      lineChart(chart, pts, [
        { key: 'clicks', label: 'Clicks', tone: 'c1' },
        { key: 'qualifiedClicks', label: 'Qualified', tone: 'c2' },
        { key: 'conversions', label: 'Conversions', tone: 'c3', axis: 'right' },
      ], {
        ariaLabel: `${interval === 'hour' ? 'Hourly, last 24 hours' : 'Daily, last 30 days'}: ${fmtInt(totals.clicks)} clicks and ${fmtInt(totals.conv)} conversions in total.`,
        desc: 'Clicks and qualified clicks are read on the left axis; conversions (dashed line) on the right axis, which has its own scale. The table below lists the same figures.',
        formatTick: tick,
        formatFull: full,
      });
      const active = pts.filter((p) => p.clicks || p.conversions || p.qualifiedClicks);
      clear(fresh, freshnessLine(r));
      clear(
        table,
        dataTable('Time series', [
          { label: interval === 'hour' ? 'Hour (UTC)' : 'Day (UTC)', get: (p) => row(p.t) },
          { label: 'Clicks', get: (p) => fmtInt(p.clicks), num: true },
          { label: 'Qualified', short: 'Qual.', get: (p) => fmtInt(p.qualifiedClicks), num: true },
          uniqueColumn(active),
          { label: 'Conv.', get: (p) => fmtInt(p.conversions), num: true },
          { label: 'Revenue', short: 'Rev.', get: (p) => fmtMoney(p.revenue ?? 0, r.currency || c.currency), num: true },
        ], active.slice(-8).reverse(), { empty: 'No activity in this range yet.' }),
        active.length > 8 ? h('p', { class: 'muted small' }, `Showing the 8 most recent of ${active.length} active ${interval}s.`) : null,
      );
    } catch (e) {
      clear(msg, errorNotice(e));
      clear(fresh);
      clear(chart);
      clear(table);
    } finally {
      chart.removeAttribute('aria-busy');
    }
  };
  const cardEl = card(
    'Over time',
    { id: 'series-card', actions: [h('div', { class: 'seg', role: 'group', 'aria-label': 'Interval' }, ivBtns)] },
    h(
      'div',
      { class: 'legend', id: 'series-legend' },
      h('span', { class: 'legend-group', dataset: { axis: 'left' } }, legend('c1', 'Clicks'), legend('c2', 'Qualified'), h('span', { class: 'legend-axis' }, '· left axis')),
      h('span', { class: 'legend-group', dataset: { axis: 'right' } }, legend('c3', 'Conversions (dashed)'), h('span', { class: 'legend-axis' }, '· right axis, own scale')),
    ),
    msg,
    chart,
    fresh,
    table,
  );
  return { card: cardEl, load };
}
