// Personal access tokens: create (scopes from the server's catalog; the
// secret is shown once), list, revoke.
import { GET, POST, DEL, seg } from '../api.js';
import { scopes } from '../meta.js';
import { h, clear, field, checkbox, fmtTime, fmtRelative, notice, errorNotice, announce, busy, confirmButton, dataTable } from '../ui.js';
import { view, pageHead, card, secretBox } from '../components.js';
import { state, base } from '../state.js';

export async function render() {
  document.title = `Tokens · @${state.handle} · edge-funnel`;
  const list = h('div');
  const out = h('div');
  const nameIn = h('input', { type: 'text', required: true, maxlength: 80, placeholder: 'CI analytics' });
  const scopeCbs = scopes().map((sc) => checkbox(sc, { value: sc }));
  const expIn = h('input', { type: 'datetime-local' });
  const formMsg = h('div', { class: 'form-msg' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token');
  const form = h(
    'form',
    { class: 'form-grid', novalidate: true },
    field('Name', nameIn),
    field('Expires (optional, your local time)', expIn),
    h('fieldset', { class: 'fieldset span-all' }, h('legend', null, 'Scopes'), h('div', { class: 'checks-grid' }, scopeCbs.map((x) => x.el))),
    h('div', { class: 'span-all' }, formMsg),
    h('div', { class: 'span-all actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(formMsg);
    const scopes = scopeCbs.filter((x) => x.input.checked).map((x) => x.input.value);
    if (!nameIn.value.trim()) {
      clear(formMsg, notice('error', h('p', null, 'Give the token a name.')));
      return nameIn.focus();
    }
    if (!scopes.length) {
      clear(formMsg, notice('error', h('p', null, 'Pick at least one scope.')));
      return scopeCbs[0].input.focus();
    }
    const body = { name: nameIn.value.trim(), scopes };
    if (expIn.value) {
      const d = new Date(expIn.value);
      if (Number.isNaN(d.getTime())) {
        clear(formMsg, notice('error', h('p', null, 'The expiry date is not valid.')));
        return expIn.focus();
      }
      body.expiresAt = d.toISOString();
    }
    busy(submit, 'Creating…', async () => {
      try {
        const r = await POST(`${base()}/tokens`, body);
        clear(out, secretBox(`Token “${r.token?.name}” created`, r.secret, 'This secret is shown only once. Use it as "Authorization: Bearer …".'));
        announce('Token created', 'ok');
        form.reset();
        await load();
      } catch (ex) {
        clear(formMsg, errorNotice(ex, 'Personal access tokens'));
      }
    });
  });
  const load = async () => {
    clear(list, h('p', { class: 'loading' }, 'Loading tokens…'));
    try {
      const r = await GET(`${base()}/tokens`);
      const tokens = r.tokens || [];
      if (!tokens.length) return clear(list, h('p', { class: 'muted empty' }, 'No personal access tokens.'));
      clear(
        list,
        dataTable('Tokens', [
          { label: 'Name', get: (t) => t.name },
          { label: 'Scopes', get: (t) => (t.scopes || []).join(', ') },
          { label: 'Created', get: (t) => fmtTime(t.createdAt) },
          { label: 'Expires', get: (t) => (t.expiresAt ? fmtTime(t.expiresAt) : 'never') },
          { label: 'Last used', get: (t) => fmtRelative(t.lastUsedAt) },
          {
            label: 'Actions',
            get: (t) => {
              const b = confirmButton('Revoke', 'Confirm revoke', async () => {
                try {
                  await DEL(`${base()}/tokens/${seg(t.id)}`);
                  announce(`Token ${t.name} revoked`, 'ok');
                  await load();
                } catch (ex) {
                  clear(out, errorNotice(ex));
                }
              });
              b.setAttribute('aria-label', `Revoke token ${t.name}`);
              return b;
            },
          },
        ], tokens),
      );
    } catch (ex) {
      clear(list, errorNotice(ex, 'Personal access tokens'));
    }
  };
  clear(
    view,
    pageHead('Personal access tokens', `For automation on @${state.handle}: scoped, revocable, shown once.`),
    out,
    card('New token', { id: 'token-form-card' }, form),
    card('Tokens', { id: 'tokens-card' }, list),
  );
  await load();
}
