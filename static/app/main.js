// edge-funnel dashboard: boot and router. Plain ES modules, no framework, no
// build step; everything talks to the same-origin /v2 API (see api.js).
//
// To add a section: write views/<name>.js exporting render(), and add one
// row to ROUTES below (the nav link is made from it).
import { onUnauthorized, session } from './api.js';
import { loadMeta } from './meta.js';
import { h, clear, fmtTime, announce, errorNotice } from './ui.js';
import { view, pageHead } from './components.js';
import { state, role, signIn, signOut, bindShell } from './state.js';
import * as signin from './views/signin.js';
import * as campaigns from './views/campaigns.js';
import * as campaign from './views/campaign.js';
import * as links from './views/links.js';
import * as rules from './views/rules.js';
import * as experiments from './views/experiments.js';
import * as tokens from './views/tokens.js';
import * as webhooks from './views/webhooks.js';
import * as hosts from './views/hosts.js';
import * as notfound from './views/notfound.js';

/**
 * Hash routes: #/<path> renders `view`; #/<path>/<id> renders `detail` with
 * the id (where the route has one). `nav` is the section's label in the top bar. The first row is the
 * default section.
 */
const ROUTES = [
  { path: 'campaigns', nav: 'Campaigns', view: campaigns, detail: campaign },
  { path: 'links', nav: 'Links', view: links },
  { path: 'rules', nav: 'Rules', view: rules },
  { path: 'experiments', nav: 'Experiments', view: experiments },
  { path: 'tokens', nav: 'Tokens', view: tokens },
  { path: 'webhooks', nav: 'Webhooks', view: webhooks },
  { path: 'hosts', nav: 'Hosts', view: hosts },
];

const nav = document.getElementById('mainnav');
clear(nav, ROUTES.map((r) => h('a', { href: `#/${r.path}`, dataset: { nav: r.path } }, r.nav)));

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  try {
    return parts.map(decodeURIComponent);
  } catch {
    return parts;
  }
}

function setNav(section) {
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.nav === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function render() {
  view.setAttribute('aria-busy', 'true');
  try {
    try {
      await loadMeta();
    } catch (e) {
      return metaFailed(e);
    }
    if (!state.auth) {
      setNav('');
      await signin.render();
      return;
    }
    const [section = ROUTES[0].path, id] = route();
    setNav(section);
    const r = ROUTES.find((x) => x.path === section);
    if (!r) return await notfound.render();
    await (id && r.detail ? r.detail.render(id) : r.view.render());
  } finally {
    view.setAttribute('aria-busy', 'false');
    if (state.navigated) view.querySelector('h1')?.focus({ preventScroll: false });
  }
}

/** Without the server's catalog no form can be built: say so, offer a retry. */
function metaFailed(e) {
  const retry = h('button', { type: 'button', class: 'btn btn-primary' }, 'Try again');
  retry.addEventListener('click', render);
  clear(view, pageHead('Dashboard unavailable', 'The server’s catalog (/v2/meta) could not be loaded.', retry), errorNotice(e));
}

// ---------------------------------------------------------------- top bar

function renderSession() {
  const signedIn = !!state.auth;
  document.getElementById('session').hidden = !signedIn;
  nav.hidden = !signedIn;
  if (!signedIn) return;
  const sel = document.getElementById('handle-select');
  clear(sel, Object.entries(state.auth.handles).map(([hd]) => h('option', { value: hd, selected: hd === state.handle }, `@${hd}`)));
  const chip = document.getElementById('role-chip');
  chip.textContent = role();
  const exp = state.auth.claims.exp;
  chip.title = exp ? `Signed in as ${state.auth.claims.sub || 'unknown'} · token expires ${fmtTime(new Date(exp * 1000).toISOString())}` : '';
}

document.getElementById('handle-select').addEventListener('change', (e) => {
  state.handle = e.target.value;
  session.handle = state.handle;
  renderSession();
  announce(`Switched to @${state.handle}`);
  if (location.hash.startsWith('#/campaigns/')) location.hash = '#/campaigns';
  else render();
});
document.getElementById('sign-out').addEventListener('click', () => {
  signOut();
  announce('Signed out');
});

window.addEventListener('hashchange', () => {
  state.navigated = true;
  window.scrollTo(0, 0);
  render();
});

// ---------------------------------------------------------------- boot

bindShell({ session: renderSession, render });
onUnauthorized((e) => {
  if (state.auth) signOut(`Signed out: ${e.message}`);
});

const tok = session.token;
if (tok) {
  try {
    signIn(tok);
  } catch (e) {
    session.token = null;
    state.flash = { kind: 'error', text: e.message };
  }
}
render();
