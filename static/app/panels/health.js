// The campaign's health check card: readiness and one badge per check, with
// its detail (its RFC 3339 times shown as readable UTC times).
import { GET } from '../api.js';
import { h, clear, badge, errorNotice, announce, busy, humanize, fmtTime, fmtRelative } from '../ui.js';
import { card } from '../components.js';

const RFC3339 = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g;

/** A check's detail text, its RFC 3339 times as "07 Dec 2026, 03:00 UTC" (how long ago on hover). */
function detail(text) {
  const s = String(text ?? '');
  const out = [];
  let at = 0;
  for (const m of s.matchAll(RFC3339)) {
    out.push(s.slice(at, m.index), h('time', { datetime: m[0], title: fmtRelative(m[0]) }, fmtTime(m[0])));
    at = m.index + m[0].length;
  }
  out.push(s.slice(at));
  return out;
}

/** What to do about a check that did not pass, where the detail does not say how. */
const HINTS = {
  rollup_consistency: (cbase) => [
    'Pending events settle on their own: check again in a minute. If the drift stays, an ADMIN can rebuild the rollup from the ledger (signed in with a JWT):',
    h('code', null, `POST ${cbase}/rollup/rebuild`),
  ],
};

/** `cbase` is the campaign's API path. `shown` tells whether it has run once. */
export function healthPanel(cbase) {
  const panel = { shown: false };
  const body = h('div', { class: 'health-body' }, h('p', { class: 'muted' }, 'Check tracking preset, event type, primary link, status, first click, test conversion, webhooks (and whether any is disabled) and that the rollup matches the ledger before you share the link.'));
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
          checks.map((ch) =>
            h(
              'li',
              { class: `check-${String(ch.status).toLowerCase()}`, dataset: { check: ch.name, status: ch.status } },
              badge(ch.status),
              h(
                'div',
                null,
                h('strong', null, humanize(ch.name)),
                h('span', { class: 'muted small check-detail' }, detail(ch.detail)),
                ch.status !== 'PASS' && HINTS[ch.name] ? h('span', { class: 'small check-hint' }, HINTS[ch.name](cbase)) : null,
              ),
            ),
          ),
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
