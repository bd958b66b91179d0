// The "Test conversion" card: post one test event for the campaign (counted
// apart from real conversions and revenue).
import { POST } from '../api.js';
import { h, clear, field, fmtMoney, notice, errorNotice, announce, busy } from '../ui.js';
import { card } from '../components.js';

/** `c` the campaign, `cbase` its API path, `after` runs once a test is recorded. */
export function testConversionCard(c, cbase, after) {
  const eventIn = h('input', { type: 'text', value: c.conversionEventType, spellcheck: 'false', autocomplete: 'off' });
  const valueIn = h('input', { type: 'number', min: '0', step: '0.01', inputmode: 'decimal', placeholder: '0.00' });
  const curIn = h('input', { type: 'text', maxlength: 3, placeholder: c.currency, class: 'upper', autocomplete: 'off', size: 4 });
  const metaIn = h('textarea', { rows: 3, class: 'mono', spellcheck: 'false', placeholder: '{"orderId": "12345", "items": 3}' });
  const msg = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'test-conversion-btn' }, 'Send test conversion');
  const form = h(
    'form',
    { class: 'form-grid', novalidate: true },
    field('Event type', eventIn),
    field('Value (optional)', valueIn),
    field('Currency (optional)', curIn),
    h('div', { class: 'span-all' }, field('Metadata JSON (optional)', metaIn, 'Stored with test: true. Test conversions never count as conversions or revenue.')),
    h('div', { class: 'span-all actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(msg);
    const body = {};
    if (eventIn.value.trim()) body.eventType = eventIn.value.trim();
    if (valueIn.value !== '') {
      const v = Number(valueIn.value);
      if (!Number.isFinite(v) || v < 0) {
        clear(msg, notice('error', h('p', null, 'Value must be a number ≥ 0.')));
        return valueIn.focus();
      }
      body.value = v;
    }
    if (curIn.value.trim()) body.currency = curIn.value.trim().toUpperCase();
    if (metaIn.value.trim()) {
      try {
        const m = JSON.parse(metaIn.value);
        if (!m || typeof m !== 'object' || Array.isArray(m)) throw new Error('Metadata must be a JSON object.');
        body.metadata = m;
      } catch (ex) {
        clear(msg, notice('error', h('p', null, `Metadata: ${ex.message}`)));
        return metaIn.focus();
      }
    }
    busy(submit, 'Sending…', async () => {
      try {
        const r = await POST(`${cbase}/test-conversion`, body);
        const conv = r?.conversion || r || {};
        const cid = conv.conversionId || conv.id;
        clear(msg, notice('ok', h('p', null, h('strong', null, 'Test conversion recorded'), cid ? ` (${cid})` : '', body.value !== undefined ? ` · ${fmtMoney(body.value, body.currency || c.currency)}` : '', '. It shows as a test conversion in the funnel.')));
        announce('Test conversion recorded', 'ok');
        await after();
      } catch (ex) {
        clear(msg, errorNotice(ex));
      }
    });
  });
  return card('Test conversion', { id: 'test-card' }, h('p', { class: 'muted small' }, 'Post one test event to verify your conversion wiring (works in any status, including Draft).'), msg, form);
}
