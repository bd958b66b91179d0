// Personalization rules: list, create/edit form, and "explain a click".
import { GET, PUT, POST, DEL, seg } from '../api.js';
import { devices, daysOfWeek } from '../meta.js';
import { h, clear, field, checkbox, badge, notice, errorNotice, announce, busy, confirmButton, splitList } from '../ui.js';
import { view, pageHead, card } from '../components.js';
import { state, base } from '../state.js';

/** `vip, tier=gold` → {vip: null, tier: 'gold'} (the shape of `queryHas`). */
const queryObject = (s) => Object.fromEntries(splitList(s).map((p) => (p.includes('=') ? [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)] : [p, null])));
/** A `datetime-local` value read as UTC. */
const utc = (v) => `${v.length === 16 ? `${v}:00` : v}Z`;

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
  const langIn = h('input', { type: 'text', spellcheck: 'false', placeholder: 'de, fr' });
  const queryIn = h('input', { type: 'text', spellcheck: 'false', placeholder: 'vip, tier=gold' });
  const refIn = h('input', { type: 'text', spellcheck: 'false', maxlength: 256, placeholder: '(?i)newsletter\\.example' });
  const uaIn = h('input', { type: 'text', spellcheck: 'false', maxlength: 256, placeholder: '(?i)\\bExampleApp/' });
  const fromIn = h('input', { type: 'datetime-local' });
  const untilIn = h('input', { type: 'datetime-local' });
  const hourFrom = h('input', { type: 'number', min: 0, max: 23, step: 1, inputmode: 'numeric', placeholder: '22', 'aria-label': 'From hour (UTC)' });
  const hourTo = h('input', { type: 'number', min: 1, max: 24, step: 1, inputmode: 'numeric', placeholder: '2', 'aria-label': 'Until hour (UTC, exclusive)' });
  const dayCbs = daysOfWeek().map((d) => checkbox(d[0] + d.slice(1).toLowerCase(), { value: d }));
  const varIdIn = h('input', { type: 'text', required: true, spellcheck: 'false', placeholder: 'mobile-optimized' });
  const varUrlIn = h('input', { type: 'url', required: true, spellcheck: 'false', placeholder: 'https://m.shop.example.com/spring' });
  const formMsg = h('div', { class: 'form-msg' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save rule');
  const formTitle = h('h2', { id: 'rule-form-title' }, 'New rule');
  const devGroup = h('fieldset', { class: 'fieldset' }, h('legend', null, 'Device in'), h('div', { class: 'checks-row' }, devCbs.map((d) => d.el)));
  const dayGroup = h('fieldset', { class: 'fieldset' }, h('legend', null, 'Days of week (UTC)'), h('div', { class: 'checks-row' }, dayCbs.map((d) => d.el)));
  const hours = h('fieldset', { class: 'fieldset' }, h('legend', null, 'Hours (UTC): from – until, 22–2 wraps past midnight'), h('div', { class: 'checks-row' }, hourFrom, h('span', null, '–'), hourTo));
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
    field('Language in', langIn, 'First language of the browser: en, de, …'),
    field('Query has', queryIn, 'name (present) or name=value (equal)'),
    field('Referrer matches', refIn, 'Regular expression (regex-lite syntax, ASCII; at most 4 enabled rules of a handle use patterns)'),
    field('User-Agent matches', uaIn, 'Regular expression (regex-lite syntax, ASCII; at most 4 enabled rules of a handle use patterns)'),
    field('Active from (UTC)', fromIn),
    field('Active until (UTC)', untilIn),
    h('div', { class: 'span-all' }, dayGroup),
    h('div', { class: 'span-all' }, hours),
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
    langIn.value = (w.languageIn || []).join(', ');
    queryIn.value = Object.entries(w.queryHas || {}).map(([k, v]) => (v === null ? k : `${k}=${v}`)).join(', ');
    refIn.value = w.referrerMatches || '';
    uaIn.value = w.userAgentMatches || '';
    fromIn.value = (w.activeFrom || '').slice(0, 16);
    untilIn.value = (w.activeUntil || '').slice(0, 16);
    for (const d of dayCbs) d.input.checked = (w.daysOfWeek || []).includes(d.input.value);
    [hourFrom.value, hourTo.value] = (w.hoursUtc || ['', '']).map(String);
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
    put('languageIn', splitList(langIn.value).map((x) => x.toLowerCase()));
    put('daysOfWeek', dayCbs.filter((d) => d.input.checked).map((d) => d.input.value));
    const query = queryObject(queryIn.value);
    if (Object.keys(query).length) when.queryHas = query;
    if (refIn.value.trim()) when.referrerMatches = refIn.value.trim();
    if (uaIn.value.trim()) when.userAgentMatches = uaIn.value.trim();
    if (fromIn.value) when.activeFrom = utc(fromIn.value);
    if (untilIn.value) when.activeUntil = utc(untilIn.value);
    if (hourFrom.value !== '' || hourTo.value !== '') when.hoursUtc = [Number(hourFrom.value), Number(hourTo.value)];
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
    for (const [k, l] of [['campaignIn', 'campaign'], ['deviceIn', 'device'], ['countryIn', 'country'], ['sourceIn', 'source'], ['slugIn', 'slug'], ['languageIn', 'language'], ['daysOfWeek', 'day']]) if (w[k]?.length) parts.push(`${l} ∈ {${w[k].join(', ')}}`);
    for (const [k, v] of Object.entries(w.queryHas || {})) parts.push(v === null ? `query has ${k}` : `query ${k} = ${v}`);
    if (w.referrerMatches) parts.push(`referrer ~ /${w.referrerMatches}/`);
    if (w.userAgentMatches) parts.push(`user agent ~ /${w.userAgentMatches}/`);
    if (w.activeFrom) parts.push(`from ${w.activeFrom}`);
    if (w.activeUntil) parts.push(`until ${w.activeUntil}`);
    if (w.hoursUtc) parts.push(`${w.hoursUtc[0]}:00–${w.hoursUtc[1]}:00 UTC`);
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
  const exLang = h('input', { type: 'text', spellcheck: 'false', placeholder: 'de-CH' });
  const exQuery = h('input', { type: 'text', spellcheck: 'false', placeholder: 'vip, tier=gold' });
  const exRef = h('input', { type: 'text', spellcheck: 'false', placeholder: 'https://newsletter.example/' });
  const exUa = h('input', { type: 'text', spellcheck: 'false', placeholder: 'Mozilla/5.0 …' });
  const exAt = h('input', { type: 'datetime-local' });
  const exOut = h('div', { 'aria-live': 'polite' });
  const exBtn = h('button', { type: 'submit', class: 'btn btn-secondary' }, 'Explain');
  const exForm = h('form', { class: 'form-grid', novalidate: true }, field('Slug', exSlug), field('Country', exCountry), field('Device', exDevice), field('Source', exSource), field('Language', exLang), field('Query', exQuery), field('Referrer', exRef), field('User-Agent', exUa), field('At (UTC)', exAt, 'Empty: now'), h('div', { class: 'span-all actions' }, exBtn));
  exForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { slug: exSlug.value.trim(), device: exDevice.value };
    if (exCountry.value.trim()) body.country = exCountry.value.trim().toUpperCase();
    if (exSource.value.trim()) body.source = exSource.value.trim();
    if (exLang.value.trim()) body.language = exLang.value.trim();
    if (exQuery.value.trim()) body.query = queryObject(exQuery.value);
    if (exRef.value.trim()) body.referrer = exRef.value.trim();
    if (exUa.value.trim()) body.userAgent = exUa.value.trim();
    if (exAt.value) body.at = utc(exAt.value);
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
