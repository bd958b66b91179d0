// One campaign: its head (status, pause/activate, refresh), then the funnel,
// health check, CSV export, time series, breakdowns, links, test conversion
// and detail-page structure panels.
import { GET, PATCH, seg } from '../api.js';
import { goalOf } from '../meta.js';
import { h, clear, fmtTime, badge, errorNotice, announce, busy } from '../ui.js';
import { view, pageHead } from '../components.js';
import { state, base, takeFlash } from '../state.js';
import { funnelPanel } from '../panels/funnel.js';
import { breakdownsPanel } from '../panels/breakdowns.js';
import { healthPanel } from '../panels/health.js';
import { exportCard } from '../panels/export.js';
import { seriesPanel } from '../panels/series.js';
import { linksPanel } from '../panels/links.js';
import { testConversionCard } from '../panels/test-conversion.js';
import { structureCard } from '../panels/structure.js';

export async function render(id) {
  document.title = `${id} · edge-funnel`;
  clear(view, h('p', { class: 'loading' }, 'Loading campaign…'));
  let c;
  try {
    c = (await GET(`${base()}/campaigns/${seg(id)}`)).campaign;
  } catch (e) {
    clear(view, pageHead('Campaign', id), errorNotice(e), h('p', null, h('a', { href: '#/campaigns' }, '← All campaigns')));
    return;
  }
  const cbase = `${base()}/campaigns/${seg(c.campaignId)}`;
  const campaign = () => c;

  const health = healthPanel(cbase);
  const breakdowns = breakdownsPanel();
  const funnel = funnelPanel({ campaign, breakdowns });
  const series = seriesPanel({ campaign });
  const headEl = h('div');
  const headMsg = h('div', { class: 'form-msg' });

  const renderHead = () => {
    document.title = `${c.name || c.campaignId} · edge-funnel`;
    const g = goalOf(c.goalType);
    const statusBtn =
      c.status === 'ACTIVE'
        ? h('button', { type: 'button', class: 'btn btn-secondary', id: 'pause-btn' }, 'Pause')
        : h('button', { type: 'button', class: 'btn btn-primary', id: 'activate-btn' }, c.status === 'PAUSED' ? 'Resume' : 'Activate');
    statusBtn.addEventListener('click', () =>
      busy(statusBtn, c.status === 'ACTIVE' ? 'Pausing…' : 'Activating…', async () => {
        const to = c.status === 'ACTIVE' ? 'PAUSED' : 'ACTIVE';
        try {
          c = (await PATCH(cbase, { status: to })).campaign;
          announce(to === 'ACTIVE' ? `Campaign ${c.campaignId} is active and tracking` : `Campaign ${c.campaignId} paused`, 'ok');
          renderHead();
          health.refresh();
          links.reload(); // NOT TRACKING badges follow the status
          headEl.querySelector('#pause-btn, #activate-btn')?.focus();
        } catch (e) {
          announce(e.message, 'error');
          clear(headMsg, errorNotice(e));
        }
      }),
    );
    const refreshBtn = h('button', { type: 'button', class: 'btn btn-secondary', id: 'refresh-btn' }, 'Refresh');
    refreshBtn.addEventListener('click', () =>
      busy(refreshBtn, 'Refreshing…', async () => {
        try {
          c = (await GET(cbase)).campaign;
          renderHead();
        } catch (e) {
          clear(headMsg, errorNotice(e));
        }
        await Promise.all([funnel.load(), series.load(), links.reload(), health.refresh()]);
        announce('Campaign data refreshed');
      }),
    );
    clear(
      headEl,
      h('p', { class: 'crumb' }, h('a', { href: '#/campaigns' }, '← Campaigns')),
      pageHead(c.name || c.campaignId, null, statusBtn, refreshBtn),
      h(
        'div',
        { class: 'meta-row' },
        h('span', { id: 'campaign-status' }, badge(c.status)),
        h('span', null, g?.label || c.goalType),
        h('span', null, h('code', null, c.campaignId)),
        h('span', null, `${c.trackingPreset} / ${c.conversionEventType}`),
        h('span', null, c.currency),
        c.primarySlug ? h('span', null, 'Primary link ', h('code', null, c.primarySlug)) : h('span', { class: 'muted' }, 'No primary link'),
        c.detailsPageSlug ? h('span', null, 'Detail page ', h('a', { href: `/${encodeURIComponent(state.handle)}/p/${encodeURIComponent(c.detailsPageSlug)}`, target: '_blank', rel: 'noopener' }, c.detailsPageSlug)) : null,
        c.activatedAt ? h('span', { class: 'muted' }, `Activated ${fmtTime(c.activatedAt)}`) : null,
      ),
    );
  };

  const links = linksPanel({
    campaign,
    onPrimary: async (slug) => {
      c = (await PATCH(cbase, { primarySlug: slug })).campaign;
      renderHead();
    },
  });
  const testCard = testConversionCard(c, cbase, async () => {
    await funnel.load();
    await health.refresh();
  });
  const structure = structureCard(c, cbase, async () => {
    try {
      c = (await GET(cbase)).campaign;
      renderHead();
    } catch {}
  });

  renderHead();
  clear(
    view,
    headEl,
    headMsg,
    takeFlash(),
    h('div', { class: 'grid-2' }, funnel.card, h('div', { class: 'stack' }, health.card, exportCard(cbase, c.campaignId))),
    series.card,
    breakdowns.card,
    h('div', { class: 'grid-2' }, links.card, testCard),
    structure,
  );
  await Promise.all([funnel.load(), series.load(), links.reload()]);
}
