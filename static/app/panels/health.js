// The campaign's health check card: readiness and one badge per check.
import { GET } from '../api.js';
import { h, clear, badge, errorNotice, announce, busy, humanize } from '../ui.js';
import { card } from '../components.js';

/** `cbase` is the campaign's API path. `shown` tells whether it has run once. */
export function healthPanel(cbase) {
  const panel = { shown: false };
  const body = h('div', { class: 'health-body' }, h('p', { class: 'muted' }, 'Check tracking preset, event type, primary link, status, first click, test conversion and webhook before you share the link.'));
  const btn = h('button', { type: 'button', class: 'btn btn-secondary', id: 'health-btn' }, 'Run health check');
  panel.run = async () => {
    panel.shown = true;
    body.setAttribute('aria-busy', 'true');
    try {
      const r = await GET(`${cbase}/health`);
      const checks = r.checks || [];
      clear(
        body,
        h('p', { class: 'readiness', id: 'readiness' }, badge(r.readiness, 'badge-lg'), ' ', r.readiness === 'READY' ? 'Ready to share.' : 'Not ready: fix the failing checks.'),
        h(
          'ul',
          { class: 'checks', 'aria-label': 'Health checks' },
          checks.map((ch) => h('li', { class: `check-${String(ch.status).toLowerCase()}`, dataset: { check: ch.name, status: ch.status } }, badge(ch.status), h('div', null, h('strong', null, humanize(ch.name)), h('span', { class: 'muted small' }, ch.detail)))),
        ),
        h('p', { class: 'muted small' }, `Checked ${new Date().toLocaleTimeString()}`),
      );
    } catch (e) {
      clear(body, errorNotice(e));
    } finally {
      body.removeAttribute('aria-busy');
    }
  };
  /** Run again only if the user has run it (keeps it current after changes). */
  panel.refresh = () => (panel.shown ? panel.run() : null);
  btn.addEventListener('click', () =>
    busy(btn, 'Checking…', async () => {
      await panel.run();
      announce('Health check complete');
    }),
  );
  panel.card = card('Health check', { id: 'health-card', actions: [btn] }, body);
  return panel;
}
