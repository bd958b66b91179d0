// The campaign's funnel card: KPIs, the funnel chart, the confidence score in
// words (with the server's 95 % Wilson interval), and the stages as a table.
// Its load also feeds the breakdowns card, from the same analytics answers.
// Under the figures: unique clicks, why bot clicks were not counted, and how
// fresh the numbers are (when the server says).
import { GET } from '../api.js';
import { h, clear, fmtInt, fmtMoney, fmtPct, fmtTime, fmtRelative, errorNotice, dataTable } from '../ui.js';
import { card, kpi, freshnessLine, exclusionLine, hasUnique } from '../components.js';
import { funnelChart, meter } from '../charts.js';
import { base } from '../state.js';

/** `campaign` is a getter for the current campaign; `breakdowns` a breakdownsPanel. */
export function funnelPanel({ campaign, breakdowns }) {
  const body = h('div', { class: 'funnel-body', 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading funnel…'));
  const load = async () => {
    const c = campaign();
    body.setAttribute('aria-busy', 'true');
    const [fr, seg_, rule_] = await Promise.allSettled([
      GET(`${base()}/analytics`, { funnel: 'true', campaignId: c.campaignId }),
      GET(`${base()}/analytics`, { groupBy: 'segment', campaignId: c.campaignId }),
      GET(`${base()}/analytics`, { groupBy: 'rule', campaignId: c.campaignId }),
    ]);
    body.removeAttribute('aria-busy');
    if (fr.status === 'rejected') {
      clear(body, errorNotice(fr.reason));
    } else {
      const f = fr.value.funnel?.[0] || { campaignId: c.campaignId, clicks: 0, botClicks: 0, qualifiedClicks: 0, conversions: 0, revenue: 0, currency: c.currency, testConversions: 0, conversionRate: 0, confidence: 0, interval: { lo: 0, hi: 0 }, breakdown: {} };
      renderFunnel(body, f, fr.value);
      const bd = f.breakdown || {};
      breakdowns.conversions(f.conversions ?? 0);
      for (const k of ['source', 'country', 'device']) breakdowns.render(k, bd[k] || [], f.currency);
    }
    breakdowns.freshness([fr, seg_, rule_].filter((x) => x.status === 'fulfilled').map((x) => x.value));
    for (const [k, res, prop] of [['segment', seg_, 'segments'], ['rule', rule_, 'rules']]) {
      if (res.status === 'fulfilled') breakdowns.render(k, res.value[prop] || [], res.value.currency || c.currency);
      else breakdowns.fail(k, res.reason);
    }
  };
  return { card: card('Funnel', { id: 'funnel-card', cls: 'span-wide' }, body), load };
}

function confidenceWords(f) {
  const n = f.qualifiedClicks || 0;
  const k = f.conversions || 0;
  const conf = f.confidence ?? 0;
  if (!n || !k) {
    return `Confidence is 0/100: it measures how tight the conversion-rate estimate is, and with ${k ? 'no qualified clicks' : 'no conversions yet'} there is no rate to estimate. It rises as qualified clicks and conversions accumulate.`;
  }
  const p = Math.min(1, f.conversionRate ?? 0);
  const { lo = 0, hi = 0 } = f.interval || {};
  const level = conf >= 70 ? 'high' : conf >= 30 ? 'moderate' : 'low';
  return (
    `Confidence ${conf}/100 (${level}). From ${fmtInt(n)} qualified click${n === 1 ? '' : 's'} and ${fmtInt(k)} conversion${k === 1 ? '' : 's'} the observed rate is ${fmtPct(p)}; ` +
    `the 95% Wilson interval puts the true rate between ${fmtPct(lo)} and ${fmtPct(hi)}. ` +
    `The score is 100 × (1 − interval width ÷ (2 × rate)), floored at 0: the narrower the interval relative to the rate, the closer to 100.`
  );
}

/** `f` the campaign's funnel entry, `answer` the analytics answer it came in (freshness). */
function renderFunnel(el, f, answer) {
  const chart = h('div', { class: 'chart-box', id: 'funnel-chart' });
  const byCur = Object.entries(f.revenueByCurrency || {}).filter(([cur]) => cur !== f.currency);
  const conf = f.confidence ?? 0;
  clear(
    el,
    h(
      'div',
      { class: 'kpis kpis-tight', id: 'funnel-kpis' },
      kpi('Clicks', fmtInt(f.clicks), f.botClicks ? `${fmtInt(f.botClicks)} bot` : 'no bots', { dataset: { kpi: 'clicks' } }),
      kpi('Qualified', fmtInt(f.qualifiedClicks), null, { dataset: { kpi: 'qualified' } }),
      hasUnique(f) ? kpi('Unique clicks', fmtInt(f.uniqueClicks), 'distinct visitors', { dataset: { kpi: 'unique' }, title: 'Qualified clicks from distinct visitors, counted once per link and UTC day.' }) : null,
      kpi('Conversions', fmtInt(f.conversions), `${fmtPct(f.conversionRate ?? 0)} rate`, { dataset: { kpi: 'conversions' } }),
      kpi('Revenue', fmtMoney(f.revenue ?? 0, f.currency), f.testConversions ? `${fmtInt(f.testConversions)} test conv.` : null, { dataset: { kpi: 'revenue' } }),
      h('div', { class: 'kpi', dataset: { kpi: 'confidence' } }, h('div', { class: 'kpi-label' }, 'Confidence'), h('div', { class: 'kpi-value' }, `${conf}`, h('span', { class: 'kpi-unit' }, '/100')), meter(conf, `Confidence ${conf} out of 100`)),
    ),
    exclusionLine(f.excluded),
    ...(f.notes || []).map((n) => h('p', { class: 'notice-inline muted small', dataset: { note: '' } }, n)),
    freshnessLine(answer),
    chart,
    h('p', { class: 'explain', id: 'confidence-explain' }, confidenceWords(f)),
    byCur.length ? h('p', { class: 'muted small' }, `Also received (not converted, not in revenue): ${byCur.map(([cur, v]) => fmtMoney(v, cur)).join(', ')}.`) : null,
    dataTable('Funnel', [
      { label: 'Stage', get: (r) => r[0] },
      { label: 'Count', get: (r) => r[1], num: true },
      { label: 'Rate', get: (r) => r[2], num: true },
    ], [
      ['Clicks', fmtInt(f.clicks), f.botClicks ? `${fmtInt(f.botClicks)} bot` : '—'],
      ['Qualified clicks', fmtInt(f.qualifiedClicks), f.clicks ? `${fmtPct(f.qualifiedClicks / f.clicks)} of clicks` : '—'],
      hasUnique(f) ? ['Unique clicks', fmtInt(f.uniqueClicks), 'per link & UTC day'] : null,
      ['Conversions', fmtInt(f.conversions), f.qualifiedClicks ? `${fmtPct(f.conversionRate ?? 0)} of qualified` : '—'],
      ['Revenue', fmtMoney(f.revenue ?? 0, f.currency), f.conversions ? `${fmtMoney((f.revenue ?? 0) / f.conversions, f.currency)} / conv.` : '—'],
      ['Test conversions', fmtInt(f.testConversions ?? 0), 'not counted'],
    ].filter(Boolean)),
    h('p', { class: 'muted small' }, `Last activity: ${f.lastSeenAt ? `${fmtRelative(f.lastSeenAt)} (${fmtTime(f.lastSeenAt)})` : 'none yet'}`),
  );
  funnelChart(chart, f, { fmtInt, fmtMoney, fmtPct });
}
