// The campaign list: KPIs over all campaigns (with how fresh they are), one
// card per campaign with its funnel numbers, a status filter, paging, and the
// "New campaign" card.
import { GET } from '../api.js';
import { goalOf } from '../meta.js';
import { h, clear, fmtInt, fmtMoney, fmtPct, badge, notice, errorNotice, busy } from '../ui.js';
import { view, pageHead, card, kpi, currencyList, groups, freshnessLine, exclusionLine, hasUnique } from '../components.js';
import { state, base, role, atLeast, takeFlash } from '../state.js';
import { campaignCreateCard } from '../panels/campaign-create.js';

export async function render() {
  document.title = `Campaigns · @${state.handle} · edge-funnel`;
  const canWrite = atLeast('CREATOR');
  const newBtn = h('button', { type: 'button', class: 'btn btn-primary', 'aria-expanded': 'false', 'aria-controls': 'new-campaign', hidden: !canWrite }, 'New campaign');
  const kpis = h('div', { class: 'kpis', 'aria-label': 'All campaigns' });
  const kpiNotes = h('div', { class: 'kpi-notes' });
  const statusSel = h('select', null, h('option', { value: '' }, 'All statuses'), ['DRAFT', 'ACTIVE', 'PAUSED'].map((s) => h('option', { value: s }, s[0] + s.slice(1).toLowerCase())));
  const listMsg = h('div');
  const list = h('ul', { class: 'campaign-list', 'aria-label': 'Campaigns' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary', hidden: true }, 'Load more');
  const createCard = campaignCreateCard();
  createCard.hidden = true;
  const toggleCreate = (open) => {
    createCard.hidden = !open;
    newBtn.setAttribute('aria-expanded', String(open));
    if (open) createCard.querySelector('select, input')?.focus();
  };
  newBtn.addEventListener('click', () => toggleCreate(createCard.hidden));

  clear(
    view,
    pageHead('Campaigns', `@${state.handle} · ${role()}`, newBtn),
    takeFlash(),
    kpis,
    kpiNotes,
    createCard,
    card(
      'All campaigns',
      { id: 'campaign-list-card', actions: [h('label', { class: 'inline-field' }, h('span', { class: 'visually-hidden' }, 'Filter by status'), statusSel)] },
      listMsg,
      list,
      h('div', { class: 'center' }, more),
    ),
  );

  let funnels = null; // campaignId → funnel entry
  let analyticsDenied = false;
  const loadFunnels = async () => {
    try {
      const r = await GET(`${base()}/analytics`, { funnel: 'true' });
      funnels = new Map((r.funnel || []).map((f) => [f.campaignId, f]));
      renderKpis(kpis, r.aggregate);
      clear(kpiNotes, r.aggregate ? [exclusionLine(r.aggregate.excluded), freshnessLine(r)] : null);
    } catch (e) {
      funnels = new Map();
      analyticsDenied = e.status === 403;
      clear(kpis);
      if (analyticsDenied) clear(kpis, h('div', { class: 'span-all' }, notice('info', h('p', null, `Analytics need the CREATOR role or above; you are ${role()} on @${state.handle}.`))));
    }
  };

  let cursor = null;
  const load = async (append) => {
    more.hidden = true;
    if (!append) {
      clear(list);
      clear(listMsg, h('p', { class: 'loading' }, 'Loading campaigns…'));
    }
    try {
      const [r] = await Promise.all([GET(`${base()}/campaigns`, { limit: 25, status: statusSel.value, cursor: append ? cursor : undefined }), funnels ? null : loadFunnels()]);
      clear(listMsg);
      cursor = r.nextCursor;
      more.hidden = !cursor;
      const items = r.campaigns || [];
      if (!append && items.length === 0) {
        clear(listMsg, h('div', { class: 'empty-state' }, h('p', null, statusSel.value ? `No ${statusSel.value.toLowerCase()} campaigns.` : 'No campaigns yet.'), statusSel.value ? null : h('p', { class: 'muted' }, 'Create one with a goal type to start tracking clicks → conversions.')));
        if (!statusSel.value && canWrite) toggleCreate(true);
      }
      const missing = [];
      for (const c of items) {
        const stats = h('dl', { class: 'cc-stats' });
        const f = funnels.get(c.campaignId);
        if (f) renderCardStats(stats, f);
        else if (analyticsDenied) renderCardStats(stats, null, '—');
        else {
          renderCardStats(stats, null);
          missing.push([c, stats]);
        }
        list.appendChild(campaignCard(c, stats));
      }
      // Campaigns outside the aggregate's 50 most recent: one funnel call each (a few at a time).
      for (let i = 0; i < missing.length; i += 6) {
        await Promise.all(
          missing.slice(i, i + 6).map(async ([c, stats]) => {
            try {
              const fr = await GET(`${base()}/analytics`, { funnel: 'true', campaignId: c.campaignId });
              renderCardStats(stats, fr.funnel?.[0] || {});
            } catch {
              renderCardStats(stats, {});
            }
          }),
        );
      }
    } catch (e) {
      clear(listMsg, errorNotice(e));
    }
  };
  statusSel.addEventListener('change', () => load(false));
  more.addEventListener('click', () => busy(more, 'Loading…', () => load(true)));
  await load(false);
}

function renderKpis(el, a) {
  if (!a) return clear(el);
  // One currency: the figure; several: a compact list, one small line per currency.
  const byCur = Object.entries(a.revenueByCurrency || {});
  const rev = a.currency ? fmtMoney(a.revenue, a.currency) : byCur.length === 1 ? fmtMoney(byCur[0][1], byCur[0][0]) : currencyList(byCur, fmtMoney);
  clear(
    el,
    kpi('Campaigns', fmtInt(a.campaigns)),
    kpi('Clicks', fmtInt(a.clicks), a.botClicks ? `${fmtInt(a.botClicks)} bot` : null),
    kpi('Qualified', fmtInt(a.qualifiedClicks)),
    hasUnique(a) ? kpi('Unique clicks', fmtInt(a.uniqueClicks), 'distinct visitors', { title: 'Qualified clicks from distinct visitors, counted once per link and UTC day.' }) : null,
    kpi('Conversions', fmtInt(a.conversions), a.qualifiedClicks ? `${fmtPct(a.conversionRate)} rate` : null),
    kpi('Revenue', rev, null, { dataset: { kpi: 'revenue' } }),
  );
}

/** A figure's <dd>, its length in --chars so a long one scales down to its box. */
function fig(text) {
  const dd = h('dd', null, groups(text));
  dd.style.setProperty('--chars', String(Math.max(6, String(text).length)));
  return dd;
}

function renderCardStats(dl, f, placeholder = '…') {
  const v = (x) => (f ? x : placeholder);
  clear(
    dl,
    h('div', null, h('dt', null, 'Clicks'), fig(v(fmtInt(f?.clicks ?? 0)))),
    hasUnique(f) ? h('div', { title: 'Qualified clicks from distinct visitors, once per link and UTC day' }, h('dt', null, 'Unique'), fig(fmtInt(f.uniqueClicks))) : null,
    // Four figures in a narrow card: "Conv." (the full word for screen readers and on hover).
    h('div', null, h('dt', null, hasUnique(f) ? h('abbr', { title: 'Conversions' }, 'Conv.') : 'Conversions'), fig(v(fmtInt(f?.conversions ?? 0)))),
    h('div', null, h('dt', null, 'Revenue'), fig(v(fmtMoney(f?.revenue ?? 0, f?.currency || 'USD')))),
  );
}

function campaignCard(c, stats) {
  const g = goalOf(c.goalType);
  return h(
    'li',
    { class: 'campaign-card', dataset: { campaignId: c.campaignId } },
    h('div', { class: 'cc-head' }, h('a', { class: 'cc-title', href: `#/campaigns/${encodeURIComponent(c.campaignId)}` }, c.name || c.campaignId), badge(c.status)),
    h('div', { class: 'cc-sub muted small' }, h('code', null, c.campaignId), ` · ${g?.label || c.goalType} · ${c.conversionEventType}`),
    stats,
  );
}
