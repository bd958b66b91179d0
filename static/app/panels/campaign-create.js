// The "New campaign" card: the goal type fills in its tracking defaults
// (from the server's catalog), which the user may override.
import { POST } from '../api.js';
import { goalTypes, goalOf } from '../meta.js';
import { h, clear, field, errorNotice, announce, busy } from '../ui.js';
import { card } from '../components.js';
import { state, base } from '../state.js';

export function campaignCreateCard() {
  const idIn = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'auto: cmp_…', maxlength: 64 });
  const nameIn = h('input', { type: 'text', maxlength: 120, placeholder: 'Spring launch' });
  const goalSel = h('select', { required: true }, goalTypes().map((g) => h('option', { value: g.goalType }, `${g.label} — ${g.trackingPreset} / ${g.conversionEventType}`)));
  const presetIn = h('input', { type: 'text', spellcheck: 'false', autocomplete: 'off' });
  const eventIn = h('input', { type: 'text', spellcheck: 'false', autocomplete: 'off' });
  const currencyIn = h('input', { type: 'text', value: 'USD', maxlength: 3, autocomplete: 'off', class: 'upper', size: 4 });
  const statusSel = h('select', null, h('option', { value: 'DRAFT' }, 'Draft (not tracking yet)'), h('option', { value: 'ACTIVE' }, 'Active (tracking now)'));
  const slugIn = h('input', { type: 'text', spellcheck: 'false', autocomplete: 'off', placeholder: 'e.g. spring-promo' });
  const defaults = h('p', { class: 'hint', 'aria-live': 'polite' });
  let lastGoal = goalOf(goalSel.value);
  const syncGoal = () => {
    const g = goalOf(goalSel.value);
    // Follow the goal's defaults unless the user typed an override.
    if (!presetIn.value || presetIn.value === lastGoal.trackingPreset) presetIn.value = g.trackingPreset;
    if (!eventIn.value || eventIn.value === lastGoal.conversionEventType) eventIn.value = g.conversionEventType;
    presetIn.placeholder = g.trackingPreset;
    eventIn.placeholder = g.conversionEventType;
    defaults.textContent = `Default for ${g.label}: tracking preset ${g.trackingPreset}, event type ${g.conversionEventType}. Both can be overridden.`;
    lastGoal = g;
  };
  goalSel.addEventListener('change', syncGoal);
  syncGoal();
  const msg = h('div', { class: 'form-msg' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create campaign');
  const form = h(
    'form',
    { class: 'form-grid', novalidate: true },
    Object.assign(field('Goal type', goalSel), { className: 'field span-2' }),
    field('Name (optional)', nameIn),
    field('Campaign ID (optional)', idIn, 'Lowercase letters, digits, - and _ (3–64). Leave empty to generate one.'),
    field('Tracking preset', presetIn),
    field('Conversion event type', eventIn),
    field('Currency', currencyIn, 'ISO 4217, e.g. USD'),
    field('Initial status', statusSel),
    field('Primary link slug (optional)', slugIn),
    h('div', { class: 'span-all' }, defaults),
    h('div', { class: 'span-all actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(submit, 'Creating…', async () => {
      clear(msg);
      const g = goalOf(goalSel.value);
      const body = { goalType: g.goalType, status: statusSel.value };
      if (idIn.value.trim()) body.campaignId = idIn.value.trim();
      if (nameIn.value.trim()) body.name = nameIn.value.trim();
      if (presetIn.value.trim() && presetIn.value.trim() !== g.trackingPreset) body.trackingPreset = presetIn.value.trim();
      if (eventIn.value.trim() && eventIn.value.trim() !== g.conversionEventType) body.conversionEventType = eventIn.value.trim();
      if (currencyIn.value.trim()) body.currency = currencyIn.value.trim().toUpperCase();
      if (slugIn.value.trim()) body.primarySlug = slugIn.value.trim();
      try {
        const r = await POST(`${base()}/campaigns`, body);
        const c = r.campaign;
        state.flash = {
          kind: 'ok',
          content: [
            h('p', null, h('strong', null, `Campaign ${c.campaignId} created`), ` (${c.status}). Quick start:`),
            h('ol', { class: 'quickstart' }, (r.quickStart || []).map((s) => h('li', null, s))),
          ],
        };
        announce(`Campaign ${c.campaignId} created`, 'ok');
        location.hash = `#/campaigns/${encodeURIComponent(c.campaignId)}`;
      } catch (ex) {
        clear(msg, errorNotice(ex));
      }
    });
  });
  return card('New campaign', { id: 'new-campaign' }, msg, form);
}
