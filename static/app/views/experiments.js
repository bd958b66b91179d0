// A/B experiments: list (status badges), create/edit form (2–5 weighted
// variants of one link), and per experiment a results panel — conversion
// rates with their 95 % intervals on one shared scale, the sample-ratio
// verdict, the winner and the server's decision sentence.
import { GET, PUT, DEL, seg } from '../api.js';
import { h, clear, field, checkbox, badge, notice, errorNotice, announce, busy, confirmButton, fmtInt, fmtMoney, fmtPct } from '../ui.js';
import { view, pageHead, card, freshnessLine } from '../components.js';
import { state, base } from '../state.js';

const MIN_VARIANTS = 2;
const MAX_VARIANTS = 5;

export async function render() {
  document.title = `Experiments · @${state.handle} · edge-funnel`;
  const list = h('div');
  const msg = h('div');
  const form = experimentForm(() => load());

  const load = async () => {
    clear(list, h('p', { class: 'loading' }, 'Loading experiments…'));
    try {
      const [r, links] = await Promise.all([GET(`${base()}/experiments`, { limit: 100 }), loadLinks()]);
      form.setLinks(links);
      const items = r.experiments || [];
      if (!items.length) return clear(list, h('p', { class: 'muted empty' }, 'No experiments yet: every link sends all its traffic to one destination.'));
      clear(list, h('ul', { class: 'rule-list exp-list' }, items.map((x) => item(x, form, msg, load))));
    } catch (ex) {
      clear(list, errorNotice(ex, 'Experiments'));
    }
  };

  clear(
    view,
    pageHead('Experiments', 'Split one link’s traffic between 2–5 destinations and see — with honest intervals — which converts better.'),
    msg,
    card('Experiments', { id: 'experiments-card' }, list),
    form.el,
  );
  await load();
}

/** The handle's links (up to 500), for the slug select. */
async function loadLinks() {
  const out = [];
  let cursor;
  for (let i = 0; i < 5; i++) {
    const r = await GET(`${base()}/links`, { limit: 100, ...(cursor ? { cursor } : {}) });
    out.push(...(r.links || []));
    cursor = r.nextCursor;
    if (!cursor) break;
  }
  return out;
}

function item(x, form, msg, reload) {
  const results = h('div', { class: 'exp-results', hidden: true, 'aria-live': 'polite' });
  const resB = h('button', { type: 'button', class: 'btn btn-secondary btn-sm', 'aria-expanded': 'false', 'aria-label': `Results of ${x.experimentId}` }, 'Results');
  resB.addEventListener('click', async () => {
    const open = results.hidden;
    results.hidden = !open;
    resB.setAttribute('aria-expanded', String(open));
    if (open) await showResults(results, x.experimentId);
  });
  const editB = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': `Edit experiment ${x.experimentId}` }, 'Edit');
  editB.addEventListener('click', () => form.fill(x));
  const delB = confirmButton('Delete', 'Confirm delete', async () => {
    try {
      await DEL(`${base()}/experiments/${seg(x.experimentId)}`);
      announce(`Experiment ${x.experimentId} deleted`, 'ok');
      await reload();
    } catch (ex) {
      clear(msg, errorNotice(ex));
    }
  });
  delB.setAttribute('aria-label', `Delete experiment ${x.experimentId}`);
  const split = (x.variants || []).map((v) => `${v.id} ${v.weight}%`).join(' · ');
  return h(
    'li',
    { class: 'rule-item rule-item-wrap', dataset: { experimentId: x.experimentId } },
    h('div', { class: 'link-main' },
      h('div', { class: 'link-title' }, h('strong', null, x.experimentId), badge(x.status), x.winner ? winnerBadge(x.winner) : null),
      h('div', { class: 'small' }, 'Link ', h('code', null, x.slug), ` · campaign ${x.campaignId}`),
      h('div', { class: 'muted small' }, split, ` · min ${fmtInt(x.minQualifiedClicksPerVariant)} qualified clicks per variant`, x.autoPromote ? ' · auto-promote' : ''),
    ),
    h('div', { class: 'link-actions' }, resB, editB, delB),
    results,
  );
}

// ---------------------------------------------------------------- results

/** "winner: b" (the variant id keeps its case, unlike badge()). */
const winnerBadge = (id) => h('span', { class: 'badge badge-info', dataset: { winner: id || '' } }, id ? `winner: ${id}` : 'winner');

async function showResults(box, id) {
  clear(box, h('p', { class: 'loading' }, 'Loading results…'));
  try {
    const r = await GET(`${base()}/experiments/${seg(id)}/results`);
    clear(box, resultsPanel(r));
  } catch (ex) {
    clear(box, errorNotice(ex));
  }
}

/** "split healthy (p = 0.42)" / "split broken — …". */
export function srmLine(srm) {
  if (!srm) return null;
  const p = fmtP(srm.pValue);
  if (srm.mismatch) {
    return h('p', { class: 'srm srm-bad', dataset: { srm: 'broken' } },
      `split broken — the qualified clicks do not follow the weights (χ² = ${Number(srm.chiSquare).toFixed(2)}, p = ${p}); do not trust the comparison until the cause is found.`);
  }
  return h('p', { class: 'srm srm-ok', dataset: { srm: 'healthy' } }, `split healthy (p = ${p})`);
}

const fmtP = (p) => (typeof p !== 'number' || !Number.isFinite(p) ? '—' : p < 0.0001 ? '< 0.0001' : p.toFixed(p < 0.01 ? 4 : 2));

function resultsPanel(r) {
  const vs = r.variants || [];
  const max = Math.max(0, ...vs.map((v) => Number(v.interval?.hi) || 0));
  const scale = max > 0 ? max : 1;
  const pos = (x) => `${Math.min(100, Math.max(0, ((Number(x) || 0) / scale) * 100)).toFixed(2)}%`;
  const rows = vs.map((v) => {
    const lo = v.interval?.lo ?? 0;
    const hi = v.interval?.hi ?? 0;
    const label = `${v.id}: ${fmtPct(v.conversionRate)} (95 % interval ${fmtPct(lo)}–${fmtPct(hi)})`;
    return h(
      'li',
      { class: `ci-row${r.winner === v.id ? ' ci-winner' : ''}`, dataset: { variant: v.id } },
      h('div', { class: 'ci-name' }, h('strong', { class: 'mono' }, v.id), h('span', { class: 'muted small' }, ` ${v.weight}%`), r.winner === v.id ? winnerBadge() : null),
      h('div', { class: 'ci-track', role: 'img', 'aria-label': label, title: label },
        h('span', { class: 'ci-bar', style: `left:${pos(lo)};width:calc(${pos(hi)} - ${pos(lo)})`, dataset: { lo, hi } }),
        h('span', { class: 'ci-tick', style: `left:${pos(v.conversionRate)}`, dataset: { rate: v.conversionRate } }),
      ),
      h('div', { class: 'ci-nums small' },
        h('strong', null, fmtPct(v.conversionRate)), h('span', { class: 'muted' }, ` ${fmtPct(lo)}–${fmtPct(hi)}`),
        h('br'),
        h('span', { class: 'muted' }, `${fmtInt(v.conversions)} / ${fmtInt(v.qualifiedClicks)} qualified · ${fmtMoney(v.revenue, r.currency)}`),
      ),
    );
  });
  return h(
    'div',
    { class: 'exp-panel', dataset: { results: r.experimentId } },
    h('div', { class: 'link-title' }, h('h3', null, `Results of ${r.experimentId}`), badge(r.status), r.winner ? winnerBadge(r.winner) : h('span', { class: 'muted small', dataset: { winner: '' } }, 'no winner yet')),
    h('p', { class: 'decision', dataset: { decision: '' } }, r.decision || ''),
    srmLine(r.srm),
    vs.length
      ? h('div', { class: 'ci-chart' },
          h('ul', { class: 'ci-list', 'aria-label': 'Conversion rate per variant with its 95 % interval' }, rows),
          h('div', { class: 'ci-row ci-axis-row', 'aria-hidden': 'true' }, h('span'), h('div', { class: 'ci-axis small muted' }, h('span', null, '0%'), h('span', null, fmtPct(scale))), h('span')),
          h('p', { class: 'muted small' }, 'Bar: the 95 % interval of the conversion rate (qualified clicks); tick: the observed rate. One scale for all variants.'))
      : h('p', { class: 'muted empty' }, 'No variants.'),
    freshnessLine(r),
  );
}

// ---------------------------------------------------------------- form

function experimentForm(onSaved) {
  const idIn = h('input', { type: 'text', required: true, spellcheck: 'false', autocomplete: 'off', placeholder: 'spring-cta-test', maxlength: 64 });
  const slugSel = h('select', { required: true });
  const statusSel = h('select', null, ['DRAFT', 'RUNNING', 'STOPPED'].map((s) => h('option', { value: s }, s[0] + s.slice(1).toLowerCase())));
  const minIn = h('input', { type: 'number', min: '1', step: '1', value: '100', inputmode: 'numeric' });
  const autoCb = checkbox('Auto-promote the winner (all traffic goes to it once declared)');
  const rowsBox = h('div', { class: 'variant-rows' });
  const sum = h('p', { class: 'sum-hint small', 'aria-live': 'polite', dataset: { sum: '' } });
  const addB = h('button', { type: 'button', class: 'btn btn-ghost btn-sm' }, 'Add variant');
  const formMsg = h('div', { class: 'form-msg' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save experiment');
  const title = h('h2', { id: 'experiment-form-title' }, 'New experiment');
  const rows = [];

  const updateSum = () => {
    const total = rows.reduce((s, r) => s + (Number(r.weight.value) || 0), 0);
    sum.textContent = `sum: ${total}${total === 100 ? '' : ' (must be 100)'}`;
    sum.dataset.ok = String(total === 100);
    addB.disabled = rows.length >= MAX_VARIANTS;
    for (const r of rows) r.remove.disabled = rows.length <= MIN_VARIANTS;
  };
  const addRow = (v = {}) => {
    const n = rows.length + 1;
    const id = h('input', { type: 'text', spellcheck: 'false', autocomplete: 'off', maxlength: 32, value: v.id ?? '', placeholder: `v${n}` });
    const dest = h('input', { type: 'url', spellcheck: 'false', value: v.destinationUrl ?? '', placeholder: `https://shop.example.com/${String.fromCharCode(96 + Math.min(n, 26))}` });
    const weight = h('input', { type: 'number', min: '1', max: '100', step: '1', inputmode: 'numeric', value: v.weight ?? '' });
    const remove = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': `Remove variant ${n}` }, 'Remove');
    const el = h('fieldset', { class: 'variant-row', dataset: { variantRow: '' } }, h('legend', { class: 'visually-hidden' }, `Variant ${n}`),
      field(`Variant ${n} ID`, id), field(`Variant ${n} destination URL`, dest), field(`Variant ${n} weight (%)`, weight), h('div', { class: 'variant-remove' }, remove));
    const row = { el, id, dest, weight, remove };
    weight.addEventListener('input', updateSum);
    remove.addEventListener('click', () => {
      if (rows.length <= MIN_VARIANTS) return;
      rows.splice(rows.indexOf(row), 1);
      el.remove();
      updateSum();
    });
    rows.push(row);
    rowsBox.append(el);
    updateSum();
  };
  const setRows = (vs) => {
    rows.length = 0;
    clear(rowsBox);
    for (const v of vs) addRow(v);
  };
  const reset = () => {
    idIn.readOnly = false;
    idIn.value = '';
    statusSel.value = 'DRAFT';
    minIn.value = '100';
    autoCb.input.checked = false;
    title.textContent = 'New experiment';
    setRows([{ id: 'a', weight: 50 }, { id: 'b', weight: 50 }]);
  };
  addB.addEventListener('click', () => rows.length < MAX_VARIANTS && addRow({ id: '', weight: '' }));

  const el = h(
    'section',
    { class: 'card', id: 'experiment-form', 'aria-labelledby': 'experiment-form-title' },
    title,
    h('form', { class: 'form-grid', novalidate: true },
      field('Experiment ID', idIn, 'Lower-case letters, digits, - and _; 3–64 characters.'),
      field('Link', slugSel, 'A link that belongs to a campaign.'),
      field('Status', statusSel, 'One RUNNING experiment per link.'),
      field('Min. qualified clicks per variant', minIn, 'Before a winner can be declared.'),
      h('div', { class: 'field field-check span-all' }, autoCb.el),
      h('div', { class: 'span-all' }, h('p', { class: 'muted small' }, `Variants (${MIN_VARIANTS}–${MAX_VARIANTS}); weights are percentages and must add up to 100.`), rowsBox,
        h('div', { class: 'variant-foot' }, addB, sum)),
      h('div', { class: 'span-all' }, formMsg),
      h('div', { class: 'span-all actions' }, submit),
    ),
  );
  const form = el.querySelector('form');
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(formMsg);
    const id = idIn.value.trim();
    if (!id) {
      clear(formMsg, notice('error', h('p', null, 'Enter an experiment ID.')));
      return idIn.focus();
    }
    // The server validates the rest (slug, 2–5 variants, weights summing to 100) and its error envelope is shown.
    const num = (s) => (s.trim() === '' ? null : Number(s));
    const body = {
      slug: slugSel.value,
      status: statusSel.value,
      variants: rows.map((r) => ({ id: r.id.value.trim(), destinationUrl: r.dest.value.trim(), weight: num(r.weight.value) })),
      minQualifiedClicksPerVariant: num(minIn.value),
      autoPromote: autoCb.input.checked,
    };
    busy(submit, 'Saving…', async () => {
      try {
        await PUT(`${base()}/experiments/${seg(id)}`, body);
        announce(`Experiment ${id} saved`, 'ok');
        reset();
        await onSaved();
      } catch (ex) {
        clear(formMsg, errorNotice(ex));
      }
    });
  });
  reset();

  return {
    el,
    setLinks(links) {
      const keep = slugSel.value;
      const opts = links.map((l) =>
        h('option', { value: l.slug, disabled: !l.campaignId, selected: l.slug === keep }, l.campaignId ? `${l.slug} (${l.campaignId})` : `${l.slug} — no campaign`));
      clear(slugSel, links.length ? opts : h('option', { value: '' }, '— no links yet —'));
      if (!keep) slugSel.value = links.find((l) => l.campaignId)?.slug ?? '';
    },
    fill(x) {
      idIn.value = x.experimentId;
      idIn.readOnly = true;
      slugSel.value = x.slug;
      statusSel.value = ['DRAFT', 'RUNNING', 'STOPPED'].includes(x.status) ? x.status : 'STOPPED';
      minIn.value = x.minQualifiedClicksPerVariant ?? 100;
      autoCb.input.checked = !!x.autoPromote;
      setRows(x.variants || []);
      title.textContent = `Edit experiment ${x.experimentId}`;
      el.scrollIntoView({ block: 'nearest' });
      statusSel.focus();
    },
  };
}
