// Shared page pieces: page head, cards, KPI tiles, chart legends, one-time
// secrets, and what analytics numbers say about themselves (freshness,
// unique clicks, why bot clicks were not counted).
import { h, notice, announce, copyText, fmtInt, fmtTime, fmtRelative } from './ui.js';

/** The view's main element. */
export const view = document.getElementById('view');

export function pageHead(title, subtitle, ...actions) {
  return h(
    'div',
    { class: 'page-head' },
    h('div', null, h('h1', { tabindex: '-1' }, title), subtitle ? h('p', { class: 'muted' }, subtitle) : null),
    actions.length ? h('div', { class: 'actions' }, actions) : null,
  );
}

export function card(title, { id, actions = [], cls = '' } = {}, ...body) {
  const hid = id ? `${id}-title` : undefined;
  return h(
    'section',
    { class: `card ${cls}`.trim(), id, 'aria-labelledby': hid },
    h('div', { class: 'card-head' }, h('h2', { id: hid }, title), actions.length ? h('div', { class: 'actions' }, actions) : null),
    ...body,
  );
}

/**
 * A KPI tile. A text value's length sets --chars, so long figures
 * ("$1,032,415.80") scale down to fit the tile (a container query), never overflow.
 */
export function kpi(label, value, sub, attrs = {}) {
  const v = h('div', { class: 'kpi-value' }, typeof value === 'string' ? groups(value) : value);
  v.style.setProperty('--chars', String(typeof value === 'string' ? Math.max(6, value.length) : 6));
  return h('div', { class: 'kpi', ...attrs }, h('div', { class: 'kpi-label' }, label), v, sub ? h('div', { class: 'kpi-sub' }, sub) : null);
}

/** "$1,032,425.80" with a line-break opportunity after each group separator (a figure too long for its box wraps there, not mid-group). */
export const groups = (text) => String(text).split(/(?<=,)/).flatMap((part, i) => (i ? [h('wbr'), part] : [part]));

/** Amounts in several currencies as a compact list, one small line per currency. */
export const currencyList = (entries, fmt) =>
  entries.length ? h('ul', { class: 'currency-list', dataset: { currencies: String(entries.length) } }, entries.map(([cur, v]) => h('li', { dataset: { currency: cur } }, fmt(v, cur)))) : '—';

export const legend = (tone, label) => h('span', { class: 'legend-item' }, h('span', { class: `swatch tone-bg-${tone}` }), label);

/** A secret shown once, with a copy button. */
export function secretBox(title, secret, note) {
  const copyB = h('button', { type: 'button', class: 'btn btn-secondary btn-sm' }, 'Copy');
  copyB.addEventListener('click', async () => {
    const ok = await copyText(secret);
    announce(ok ? 'Secret copied' : 'Could not copy: select it and copy manually', ok ? 'ok' : 'error');
  });
  return notice('ok', h('p', null, h('strong', null, title)), h('div', { class: 'secret' }, h('code', { class: 'break' }, secret), copyB), h('p', { class: 'small' }, note));
}

// ---------------------------------------------------------------- analytics trust

let ticking = false;
/** Keep every relative time on the page current (one timer for the page). */
function tickRelative() {
  if (ticking) return;
  ticking = true;
  setInterval(() => {
    for (const t of document.querySelectorAll('time[data-relative]')) t.textContent = fmtRelative(t.dateTime);
  }, 30_000);
}

/** A relative time ("3 min ago") with the exact time as its tooltip. */
export function relTime(iso) {
  tickRelative();
  return h('time', { datetime: iso, title: fmtTime(iso), dataset: { relative: '' } }, fmtRelative(iso));
}

/**
 * "As of 3 min ago · 2 pending · not sampled" from one or more analytics
 * answers ({asOf, pendingEvents, sampled}); several answers (one card fed by
 * several calls) give the oldest asOf and the most pending. Null when the
 * server sends none of it (an older server).
 */
export function freshnessLine(...answers) {
  const rs = answers.filter((r) => r && ('asOf' in r || 'pendingEvents' in r || 'sampled' in r));
  if (!rs.length) return null;
  const times = rs.map((r) => r.asOf).filter((t) => typeof t === 'string' && !Number.isNaN(Date.parse(t)));
  const asOf = times.sort((a, b) => Date.parse(a) - Date.parse(b))[0] || null;
  const pending = Math.max(0, ...rs.map((r) => (Number.isFinite(r.pendingEvents) ? r.pendingEvents : 0)));
  const sampled = rs.some((r) => r.sampled === true);
  const part = (text, title) => h('span', { title }, text);
  return h(
    'p',
    { class: 'freshness muted small', dataset: { freshness: '' } },
    asOf ? ['As of ', relTime(asOf)] : part('No events yet', 'The rollup has counted no event for these figures yet.'),
    ' · ',
    pending
      ? part(`${fmtInt(pending)} pending`, 'Events accepted but not yet in these figures (parked or being replayed); they will be counted.')
      : part('nothing pending', 'Every accepted event is in these figures.'),
    ' · ',
    sampled ? part('sampled', 'These figures are estimated from a sample.') : part('not sampled', 'Every event is counted; nothing is estimated.'),
  );
}

/** Whether the server sent unique clicks (a newer server does). */
export const hasUnique = (x) => typeof x?.uniqueClicks === 'number';

/** A "Unique" table column when any row has unique clicks, else null. */
export const uniqueColumn = (rows) =>
  rows.some(hasUnique) ? { label: 'Unique', get: (r) => (hasUnique(r) ? fmtInt(r.uniqueClicks) : '—'), num: true } : null;

const EXCLUDED = [
  ['user_agent', (n) => `link preview${n === 1 ? '' : 's'}/crawler${n === 1 ? '' : 's'} (user agent)`],
  ['head_request', (n) => `HEAD request${n === 1 ? '' : 's'}`],
  ['verified_bot', (n) => `verified bot${n === 1 ? '' : 's'}`],
  ['bot_score', (n) => `low bot score${n === 1 ? '' : 's'}`],
];

/**
 * "Not counted: 12 link previews/crawlers (user agent) · 3 HEAD requests"
 * from a funnel's `excluded` reasons (zero reasons left out; "no bot
 * traffic" when all are zero). Null when the server sends no reasons.
 */
export function exclusionLine(excluded) {
  if (!excluded || typeof excluded !== 'object') return null;
  const known = new Map(EXCLUDED);
  const keys = [...EXCLUDED.map(([k]) => k), ...Object.keys(excluded).filter((k) => !known.has(k))];
  const parts = keys
    .map((k) => [k, Number(excluded[k]) || 0])
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${fmtInt(n)} ${known.has(k) ? known.get(k)(n) : String(k).replace(/_/g, ' ')}`);
  return h(
    'p',
    { class: 'excluded muted small', dataset: { excluded: '' }, title: 'Bot clicks are recorded but not counted as qualified clicks.' },
    'Not counted: ',
    parts.length ? parts.join(' · ') : 'no bot traffic',
  );
}
