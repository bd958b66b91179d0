// Shared page pieces: page head, cards, KPI tiles, chart legends, one-time secrets.
import { h, notice, announce, copyText } from './ui.js';

/** The view's main element. */
export const view = document.getElementById('view');

export function pageHead(title, subtitle, ...actions) {
  return h(
    'div',
    { class: 'page-head' },
    h('div', null, h('h1', { tabindex: '-1' }, title), subtitle ? h('p', { class: 'muted' }, subtitle) : null),
    actions.length ? h('div', { class: 'actions' }, actions) : null,
  );
}

export function card(title, { id, actions = [], cls = '' } = {}, ...body) {
  const hid = id ? `${id}-title` : undefined;
  return h(
    'section',
    { class: `card ${cls}`.trim(), id, 'aria-labelledby': hid },
    h('div', { class: 'card-head' }, h('h2', { id: hid }, title), actions.length ? h('div', { class: 'actions' }, actions) : null),
    ...body,
  );
}

export function kpi(label, value, sub, attrs = {}) {
  return h('div', { class: 'kpi', ...attrs }, h('div', { class: 'kpi-label' }, label), h('div', { class: 'kpi-value' }, value), sub ? h('div', { class: 'kpi-sub' }, sub) : null);
}

export const legend = (tone, label) => h('span', { class: 'legend-item' }, h('span', { class: `swatch tone-bg-${tone}` }), label);

/** A secret shown once, with a copy button. */
export function secretBox(title, secret, note) {
  const copyB = h('button', { type: 'button', class: 'btn btn-secondary btn-sm' }, 'Copy');
  copyB.addEventListener('click', async () => {
    const ok = await copyText(secret);
    announce(ok ? 'Secret copied' : 'Could not copy: select it and copy manually', ok ? 'ok' : 'error');
  });
  return notice('ok', h('p', null, h('strong', null, title)), h('div', { class: 'secret' }, h('code', { class: 'break' }, secret), copyB), h('p', { class: 'small' }, note));
}
