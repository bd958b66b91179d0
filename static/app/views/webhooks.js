// Webhooks: add an endpoint for some events (the signing secret is shown
// once), list (a disabled one shows why, with an Enable button), deliveries
// (each with a Redeliver button), delete.
import { GET, POST, DEL, seg } from '../api.js';
import { webhookEvents } from '../meta.js';
import { h, clear, field, checkbox, fmtInt, fmtTime, badge, notice, errorNotice, announce, busy, confirmButton, dataTable } from '../ui.js';
import { view, pageHead, card, secretBox } from '../components.js';
import { state, base } from '../state.js';

export async function render() {
  document.title = `Webhooks · @${state.handle} · edge-funnel`;
  const list = h('div');
  const out = h('div');
  const urlIn = h('input', { type: 'url', required: true, placeholder: 'https://example.com/hooks/edge-funnel', spellcheck: 'false' });
  const evCbs = webhookEvents().map((ev) => checkbox(ev, { value: ev, checked: ev.startsWith('conversion.') }));
  const formMsg = h('div', { class: 'form-msg' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add webhook');
  const form = h(
    'form',
    { class: 'form-grid', novalidate: true },
    h('div', { class: 'span-all' }, field('Endpoint URL (https)', urlIn)),
    h('fieldset', { class: 'fieldset span-all' }, h('legend', null, 'Events'), h('div', { class: 'checks-grid' }, evCbs.map((x) => x.el))),
    h('div', { class: 'span-all' }, formMsg),
    h('div', { class: 'span-all actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(formMsg);
    const events = evCbs.filter((x) => x.input.checked).map((x) => x.input.value);
    if (!urlIn.value.trim()) {
      clear(formMsg, notice('error', h('p', null, 'Enter the endpoint URL.')));
      return urlIn.focus();
    }
    if (!events.length) {
      clear(formMsg, notice('error', h('p', null, 'Pick at least one event.')));
      return evCbs[0].input.focus();
    }
    busy(submit, 'Adding…', async () => {
      try {
        const r = await POST(`${base()}/webhooks`, { url: urlIn.value.trim(), events });
        clear(out, secretBox('Webhook added', r.secret, 'Signing secret (Standard Webhooks, HMAC-SHA256): shown only once.'));
        announce('Webhook added', 'ok');
        form.reset();
        for (const x of evCbs) x.input.checked = x.input.value.startsWith('conversion.');
        await load();
      } catch (ex) {
        clear(formMsg, errorNotice(ex, 'Webhooks'));
      }
    });
  });
  const redeliver = async (w, d, box, btn) => {
    await busy(btn, 'Sending…', async () => {
      try {
        await POST(`${base()}/webhooks/${seg(w.id)}/deliveries/${seg(d.id)}/redeliver`, {});
        announce(`Event ${d.eventId} queued for redelivery`, 'ok');
      } catch (ex) {
        clear(box, errorNotice(ex, 'Redelivery'));
      }
    });
  };
  const deliveriesOf = async (w, box, btn) => {
    await busy(btn, 'Loading…', async () => {
      try {
        const r = await GET(`${base()}/webhooks/${seg(w.id)}/deliveries`);
        const ds = r.deliveries || [];
        const msg = h('div', { 'aria-live': 'polite' });
        clear(
          box,
          msg,
          dataTable(`Deliveries for ${w.url}`, [
            { label: 'Event', get: (d) => d.type || '—' },
            { label: 'Outcome', get: (d) => badge(d.outcome || '—') },
            { label: 'Try', get: (d) => (d.redeliveryOf ? 'redelivery' : fmtInt(d.attempt)), num: true },
            { label: 'HTTP', get: (d) => String(d.responseStatus ?? '—'), num: true },
            { label: 'Error', get: (d) => d.error || '' },
            { label: 'When', get: (d) => fmtTime(d.createdAt) },
            {
              label: 'Action',
              get: (d) => {
                const b = h('button', { type: 'button', class: 'btn btn-secondary btn-sm', 'aria-label': `Redeliver event ${d.eventId}` }, 'Redeliver');
                b.addEventListener('click', () => redeliver(w, d, msg, b));
                return b;
              },
            },
          ], ds, { empty: 'No deliveries yet.' }),
        );
      } catch (ex) {
        clear(box, errorNotice(ex, 'Webhook deliveries'));
      }
    });
  };
  const enable = async (w, btn) => {
    await busy(btn, 'Enabling…', async () => {
      try {
        await POST(`${base()}/webhooks/${seg(w.id)}/enable`, {});
        announce('Webhook enabled', 'ok');
        await load();
      } catch (ex) {
        clear(out, errorNotice(ex));
      }
    });
  };
  const load = async () => {
    clear(list, h('p', { class: 'loading' }, 'Loading webhooks…'));
    try {
      const r = await GET(`${base()}/webhooks`);
      const hooks = r.webhooks || [];
      if (!hooks.length) return clear(list, h('p', { class: 'muted empty' }, 'No webhooks yet.'));
      clear(
        list,
        h(
          'ul',
          { class: 'rule-list' },
          hooks.map((w) => {
            const box = h('div', { class: 'deliveries' });
            const dBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-sm' }, 'Deliveries');
            dBtn.addEventListener('click', () => deliveriesOf(w, box, dBtn));
            const delB = confirmButton('Delete', 'Confirm delete', async () => {
              try {
                await DEL(`${base()}/webhooks/${seg(w.id)}`);
                announce('Webhook deleted', 'ok');
                await load();
              } catch (ex) {
                clear(out, errorNotice(ex));
              }
            });
            delB.setAttribute('aria-label', `Delete webhook ${w.url}`);
            let enB = null;
            if (w.disabledAt) {
              enB = h('button', { type: 'button', class: 'btn btn-primary btn-sm', 'aria-label': `Enable webhook ${w.url}` }, 'Enable');
              enB.addEventListener('click', () => enable(w, enB));
            }
            return h(
              'li',
              { class: 'rule-item rule-item-wrap' },
              h(
                'div',
                null,
                h('div', { class: 'link-title' }, h('strong', null, h('span', { class: 'mono break' }, w.url)), ' ', badge(w.disabledAt ? 'DISABLED' : 'ENABLED')),
                h('div', { class: 'small' }, (w.events || []).join(', ')),
                w.disabledAt ? h('div', { class: 'small webhook-disabled' }, `Disabled ${fmtTime(w.disabledAt)}: ${w.disabledReason || ''} No events are sent until you enable it.`) : null,
                h('div', { class: 'muted small' }, `Added ${fmtTime(w.createdAt)}`),
              ),
              h('div', { class: 'link-actions' }, enB, dBtn, delB),
              box,
            );
          }),
        ),
      );
    } catch (ex) {
      clear(list, errorNotice(ex, 'Webhooks'));
    }
  };
  clear(
    view,
    pageHead('Webhooks', 'Signed POSTs to your endpoint when conversions arrive or campaigns change state.'),
    out,
    card('New webhook', { id: 'webhook-form-card' }, form),
    card('Webhooks', { id: 'webhooks-card' }, list),
  );
  await load();
}
