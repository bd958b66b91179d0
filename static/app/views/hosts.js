// Branded hosts: the DNS names whose /{slug} serves this handle's links
// (list for everyone who reads links; claim and release for owners). A claim
// only routes the host here: it must also be attached to the Worker (README,
// "Deploy").
import { GET, PUT, DEL, seg } from '../api.js';
import { h, clear, field, fmtTime, notice, errorNotice, announce, busy, confirmButton, dataTable } from '../ui.js';
import { view, pageHead, card } from '../components.js';
import { state, base, atLeast } from '../state.js';

export async function render() {
  document.title = `Hosts · @${state.handle} · edge-funnel`;
  const owner = atLeast('OWNER');
  const list = h('div');
  const msg = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const hostIn = h('input', { type: 'text', required: true, spellcheck: 'false', autocomplete: 'off', placeholder: 'go.brand.example', maxlength: 253 });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Claim host');
  const form = h(
    'form',
    { class: 'form-grid', novalidate: true, id: 'host-form' },
    field('Host name', hostIn, 'A DNS name you control, e.g. go.brand.example (no IP address, no scheme or path).'),
    h('div', { class: 'span-all actions' }, submit),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(msg);
    const host = hostIn.value.trim().toLowerCase();
    if (!host) {
      clear(msg, notice('error', h('p', null, 'Enter a host name.')));
      return hostIn.focus();
    }
    busy(submit, 'Claiming…', async () => {
      try {
        await PUT(`${base()}/hosts/${seg(host)}`);
        announce(`Host ${host} claimed`, 'ok');
        clear(msg, notice('ok', h('p', null, `${host} now serves the links of @${state.handle} as https://${host}/{slug}.`)));
        form.reset();
        await load();
      } catch (ex) {
        clear(msg, errorNotice(ex, 'Branded hosts'));
      }
    });
  });
  const releaseButton = (x) => {
    const b = confirmButton('Release', 'Confirm release', async () => {
      try {
        await DEL(`${base()}/hosts/${seg(x.host)}`);
        announce(`Host ${x.host} released`, 'ok');
        await load();
      } catch (ex) {
        clear(msg, errorNotice(ex));
      }
    });
    b.setAttribute('aria-label', `Release host ${x.host}`);
    return b;
  };
  const load = async () => {
    clear(list, h('p', { class: 'loading' }, 'Loading hosts…'));
    try {
      const r = await GET(`${base()}/hosts`);
      const hosts = r.hosts || [];
      clear(
        list,
        dataTable(
          'Hosts',
          [
            { label: 'Host', get: (x) => h('span', { class: 'mono' }, x.host) },
            { label: 'Short links', get: (x) => h('span', { class: 'mono' }, `https://${x.host}/{slug}`) },
            { label: 'Claimed', get: (x) => fmtTime(x.createdAt) },
            owner ? { label: 'Actions', get: releaseButton } : null,
          ],
          hosts,
          { empty: `No branded host: short links are ${location.origin}/${state.handle}/{slug}.` },
        ),
        hosts.length > 1 ? h('p', { class: 'muted small' }, `Short URLs use the earliest claim, ${hosts[0].host}; every host listed serves the links.`) : null,
      );
    } catch (ex) {
      clear(list, errorNotice(ex, 'Branded hosts'));
    }
  };
  clear(
    view,
    pageHead('Branded hosts', `Your own domain for @${state.handle}'s short links: https://{host}/{slug}.`),
    msg,
    card('Hosts', { id: 'hosts-card' }, list),
    owner
      ? card('Claim a host', { id: 'host-form-card' }, h('p', { class: 'muted small' }, 'Point the host at this service first (README, “Deploy”): a claim only tells it which handle the host belongs to.'), form)
      : h('p', { class: 'muted small' }, 'Only owners of the handle claim or release hosts.'),
  );
  await load();
}
