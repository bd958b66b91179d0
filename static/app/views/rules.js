// Personalization rules: list, create/edit form, and "explain a click".
import { GET, PUT, POST, DEL, seg } from '../api.js';
import { devices } from '../meta.js';
import { h, clear, field, checkbox, badge, notice, errorNotice, announce, busy, confirmButton, splitList } from '../ui.js';
import { view, pageHead, card } from '../components.js';
import { state, base } from '../state.js';

export async function render() {
  document.title = `Rules · @${state.handle} · edge-funnel`;
  const list = h('div');
  const msg = h('div');
  const idIn = h('input', { type: 'text', required: true, spellcheck: 'false', autocomplete: 'off', placeholder: 'spring-mobile-variant' });
  const enabledCb = checkbox('Enabled', { checked: true });
  const prioIn = h('input', { type: 'number', step: '1', value: '100', inputmode: 'numeric' });
  const campIn = h('input', { type: 'text', spellcheck: 'false', placeholder: 'spring-launch' });
  const devCbs = devices().map((d) => checkbox(d[0] + d.slice(1).toLowerCase(), { value: d }));
  const countryIn = h('input', { type: 'text', spellcheck: 'false', placeholder: 'US, GB', class: 'upper' });
  const sourceIn = h('input', { type: 'text', spellcheck: 'false', placeholder: 'email, social' });
  const slugIn = h('input', { type: 'text', spellcheck: 'false', placeholder: 'spring-promo' });
  const varIdIn = h('input', { type: 'text', required: true, spellcheck: 'false', placeholder: 'mobile-optimized' });
  const varUrlIn = h('input', { type: 'url', required: true, spellcheck: 'false', placeholder: 'https://m.shop.example.com/spring' });
  const formMsg = h('div', { class: 'form-msg' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save rule');
  const formTitle = h('h2', { id: 'rule-form-title' }, 'New rule');
  const devGroup = h('fieldset', { class: 'fieldset' }, h('legend', null, 'Device in'), h('div', { class: 'checks-row' }, devCbs.map((d) => d.el)));
  const form = h(
    'form',
    { class: 'form-grid', novalidate: true },
    field('Rule ID', idIn),
    field('Priority', prioIn, 'Higher runs first; ties by rule ID.'),
    h('div', { class: 'field field-check' }, enabledCb.el),
    h('p', { class: 'span-all muted small' }, 'Conditions (all present ones must hold; leave everything empty to match every click). Lists are comma-separated.'),
    field('Campaign in', campIn),
    field('Country in', countryIn, 'ISO 3166-1 alpha-2'),
    field('Source in', sourceIn),
    field('Slug in', slugIn),
    h('div', { class: 'span-all' }, devGroup),
    field('Variant ID', varIdIn),
    field('Variant destination URL', varUrlIn),
    h('div', { class: 'span-all' }, formMsg),
    h('div', { class: 'span-all actions' }, submit),
  );
  const fill = (r) => {
    idIn.value = r.ruleId;
    enabledCb.input.checked = r.enabled !== false;
    prioIn.value = r.priority ?? 0;
    const w = r.when || {};
    campIn.value = (w.campaignIn || []).join(', ');
    countryIn.value = (w.countryIn || []).join(', ');
    sourceIn.value = (w.sourceIn || []).join(', ');
    slugIn.value = (w.slugIn || []).join(', ');
    for (const d of devCbs) d.input.checked = (w.deviceIn || []).includes(d.input.value);
    varIdIn.value = r.variant?.id || '';
    varUrlIn.value = r.variant?.destinationUrl || '';
    formTitle.textContent = `Edit rule ${r.ruleId}`;
    form.scrollIntoView({ block: 'nearest' });
    prioIn.focus();
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(formMsg);
    const id = idIn.value.trim();
    if (!id) {
      clear(formMsg, notice('error', h('p', null, 'Enter a rule ID.')));
      return idIn.focus();
    }
    const when = {};
    const put = (k, v) => v.length && (when[k] = v);
    put('campaignIn', splitList(campIn.value));
    put('countryIn', splitList(countryIn.value).map((x) => x.toUpperCase()));
    put('sourceIn', splitList(sourceIn.value));
    put('slugIn', splitList(slugIn.value));
    put('deviceIn', devCbs.filter((d) => d.input.checked).map((d) => d.input.value));
    const prio = Number(prioIn.value || 0);
    if (!Number.isInteger(prio)) {
      clear(formMsg, notice('error', h('p', null, 'Priority must be a whole number.')));
      return prioIn.focus();
    }
    const body = { enabled: enabledCb.input.checked, priority: prio, when, variant: { id: varIdIn.value.trim(), destinationUrl: varUrlIn.value.trim() } };
    busy(submit, 'Saving…', async () => {
      try {
        await PUT(`${base()}/rules/${seg(id)}`, body);
        announce(`Rule ${id} saved`, 'ok');
        form.reset();
        prioIn.value = '100';
        enabledCb.input.checked = true;
        formTitle.textContent = 'New rule';
        await load();
      } catch (ex) {
        clear(formMsg, errorNotice(ex));
      }
    });
  });

  const whenText = (w = {}) => {
    const parts = [];
    for (const [k, l] of [['campaignIn', 'campaign'], ['deviceIn', 'device'], ['countryIn', 'country'], ['sourceIn', 'source'], ['slugIn', 'slug']]) if (w[k]?.length) parts.push(`${l} ∈ {${w[k].join(', ')}}`);
    return parts.join(' and ') || 'every click';
  };
  const load = async () => {
    clear(list, h('p', { class: 'loading' }, 'Loading rules…'));
    try {
      const r = await GET(`${base()}/rules`, { limit: 100 });
      const rules = r.rules || [];
      if (!rules.length) return clear(list, h('p', { class: 'muted empty' }, 'No personalization rules yet: every link goes to its own destination.'));
      clear(
        list,
        h(
          'ul',
          { class: 'rule-list' },
          rules.map((rule) => {
            const editB = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': `Edit rule ${rule.ruleId}` }, 'Edit');
            editB.addEventListener('click', () => fill(rule));
            const delB = confirmButton('Delete', 'Confirm delete', async () => {
              try {
                await DEL(`${base()}/rules/${seg(rule.ruleId)}`);
                announce(`Rule ${rule.ruleId} deleted`, 'ok');
                await load();
              } catch (ex) {
                clear(msg, errorNotice(ex));
              }
            });
            delB.setAttribute('aria-label', `Delete rule ${rule.ruleId}`);
            return h(
              'li',
              { class: 'rule-item' },
              h('div', null,
                h('div', { class: 'link-title' }, h('strong', null, rule.ruleId), badge(rule.enabled === false ? 'DISABLED' : 'ENABLED'), h('span', { class: 'muted small' }, `priority ${rule.priority}`)),
                h('div', { class: 'small' }, 'When ', whenText(rule.when)),
                h('div', { class: 'muted small dest' }, `→ ${rule.variant?.id}: ${rule.variant?.destinationUrl}`),
              ),
              h('div', { class: 'link-actions' }, editB, delB),
            );
          }),
        ),
      );
    } catch (ex) {
      clear(list, errorNotice(ex));
    }
  };

  // explain
  const exSlug = h('input', { type: 'text', required: true, spellcheck: 'false', placeholder: 'spring-promo' });
  const exCountry = h('input', { type: 'text', maxlength: 2, spellcheck: 'false', placeholder: 'US', class: 'upper', size: 3 });
  const exDevice = h('select', null, devices().map((d) => h('option', { value: d }, d[0] + d.slice(1).toLowerCase())));
  const exSource = h('input', { type: 'text', spellcheck: 'false', placeholder: 'email' });
  const exOut = h('div', { 'aria-live': 'polite' });
  const exBtn = h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Explain');
  const exForm = h('form', { class: 'form-grid', novalidate: true }, field('Slug', exSlug), field('Country', exCountry), field('Device', exDevice), field('Source', exSource), h('div', { class: 'span-all actions' }, exBtn));
  exForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { slug: exSlug.value.trim(), device: exDevice.value };
    if (exCountry.value.trim()) body.country = exCountry.value.trim().toUpperCase();
    if (exSource.value.trim()) body.source = exSource.value.trim();
    busy(exBtn, 'Explaining…', async () => {
      try {
        const r = await POST(`${base()}/rules/explain`, body);
        clear(
          exOut,
          h('div', { class: 'explain-result' },
            h('p', null, r.ruleId ? ['Rule ', h('strong', null, r.ruleId), ` fires (variant ${r.variant?.id}).`] : 'No rule fires: the link’s own destination is used.'),
            h('p', null, 'Final URL: ', h('code', { class: 'break' }, r.finalUrl || '—')),
            (r.rules || []).length
              ? h('ul', { class: 'checks' }, r.rules.map((x) => h('li', null, badge(x.status), h('div', null, h('strong', null, x.ruleId), h('span', { class: 'muted small' }, x.reason)))))
              : null,
          ),
        );
      } catch (ex) {
        clear(exOut, errorNotice(ex));
      }
    });
  });

  clear(
    view,
    pageHead('Personalization rules', 'The first enabled matching rule (highest priority) sends the click to its variant.'),
    msg,
    card('Rules', { id: 'rules-card' }, list),
    h('section', { class: 'card', 'aria-labelledby': 'rule-form-title' }, formTitle, form),
    card('Explain a click', { id: 'explain-card' }, h('p', { class: 'muted small' }, 'Simulate a visitor to see which rule fires and why the others do not.'), exForm, exOut),
  );
  await load();
}
