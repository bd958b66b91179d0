// edge-funnel dashboard: sign-in, campaigns, links, analytics, rules,
// tokens, webhooks and the detail-page structure editor. Plain ES modules,
// no framework, no build step; everything talks to the same-origin /v2 API.
import { request, decodeJwt, session, seg } from './api.js';
import {
  h, clear, field, checkbox, fmtInt, fmtMoney, fmtPct, fmtTime, fmtRelative, badge, notice, errorNotice,
  announce, busy, copyText, confirmButton, splitList, dataTable,
} from './ui.js';
import { barChart, funnelChart, lineChart, meter } from './charts.js';

// ---------------------------------------------------------------- constants

const GOALS = [
  { type: 'PRODUCT_SALE', label: 'Product sale', preset: 'ga4_purchase', event: 'purchase' },
  { type: 'LEAD_CAPTURE', label: 'Lead capture', preset: 'ga4_lead', event: 'lead' },
  { type: 'NEWSLETTER', label: 'Newsletter signup', preset: 'ga4_sign_up', event: 'newsletter_signup' },
  { type: 'AFFILIATE_CLICKOUT', label: 'Affiliate clickout', preset: 'custom_webhook', event: 'affiliate_click' },
  { type: 'APP_INSTALL', label: 'App install', preset: 'ga4_app_install', event: 'app_install' },
];
const goalOf = (t) => GOALS.find((g) => g.type === t);

const SCOPES = [
  'campaigns.read', 'campaigns.write', 'links.read', 'links.write', 'analytics.read', 'analytics.*',
  'conversions.write', 'pages.read', 'pages.write', 'webhooks.read', 'webhooks.write', '*',
];
const WEBHOOK_EVENTS = ['conversion.tested', 'conversion.created', 'campaign.activated', 'campaign.paused'];
const DEVICES = ['MOBILE', 'DESKTOP', 'TABLET'];
const MAX_STRUCTURE_BYTES = 256 * 1024;

// ---------------------------------------------------------------- state

const state = {
  auth: null, // {token, claims, handles}
  handle: null,
  devSignIn: null, // null unknown, true/false after probing
  flash: null, // message carried to the next view
  navigated: false,
};
const view = document.getElementById('view');
const base = () => `/v2/handles/${seg(state.handle)}`;
const role = () => state.auth?.handles?.[state.handle] || '';
const ROLE_RANK = { VIEWER: 0, CREATOR: 1, ADMIN: 2, OWNER: 3 };
const atLeast = (r) => (ROLE_RANK[String(role()).toUpperCase()] ?? -1) >= ROLE_RANK[r];

/** API call that signs out on 401 (expired or rejected token). */
async function call(method, path, opts) {
  try {
    return await request(method, path, opts);
  } catch (e) {
    if (e.status === 401 && state.auth) {
      signOut(`Signed out: ${e.message}`);
    }
    throw e;
  }
}
const GET = (p, query) => call('GET', p, { query });
const POST = (p, body) => call('POST', p, { body });
const PUT = (p, body) => call('PUT', p, { body });
const PATCH = (p, body) => call('PATCH', p, { body });
const DEL = (p) => call('DELETE', p);

// ---------------------------------------------------------------- session

function signIn(token, preferredHandle) {
  const auth = decodeJwt(token);
  session.token = auth.token;
  state.auth = auth;
  const hs = Object.keys(auth.handles);
  const stored = preferredHandle || session.handle;
  state.handle = hs.includes(stored) ? stored : hs[0];
  session.handle = state.handle;
  renderSession();
}

function signOut(message) {
  session.token = null;
  state.auth = null;
  state.handle = null;
  renderSession();
  state.flash = message ? { kind: 'error', text: message } : null;
  if (location.hash && location.hash !== '#/') history.replaceState(null, '', location.pathname);
  render();
}

function renderSession() {
  const signedIn = !!state.auth;
  document.getElementById('session').hidden = !signedIn;
  document.getElementById('mainnav').hidden = !signedIn;
  if (!signedIn) return;
  const sel = document.getElementById('handle-select');
  clear(sel, Object.entries(state.auth.handles).map(([hd, r]) => h('option', { value: hd, selected: hd === state.handle }, `@${hd}`)));
  document.getElementById('role-chip').textContent = role();
  const exp = state.auth.claims.exp;
  document.getElementById('role-chip').title = exp ? `Signed in as ${state.auth.claims.sub || 'unknown'} · token expires ${fmtTime(new Date(exp * 1000).toISOString())}` : '';
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

// ---------------------------------------------------------------- router

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  try {
    return parts.map(decodeURIComponent);
  } catch {
    return parts;
  }
}

function setNav(section) {
  for (const a of document.querySelectorAll('#mainnav a')) {
    if (a.dataset.nav === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function render() {
  view.setAttribute('aria-busy', 'true');
  try {
    if (!state.auth) {
      setNav('');
      document.title = 'Sign in · edge-funnel';
      await signInView();
      return;
    }
    const [section = 'campaigns', id] = route();
    setNav(section);
    const views = { campaigns: id ? () => campaignView(id) : campaignsView, links: linksView, rules: rulesView, tokens: tokensView, webhooks: webhooksView };
    const fn = views[section] || notFoundView;
    await fn();
  } finally {
    view.setAttribute('aria-busy', 'false');
    if (state.navigated) view.querySelector('h1')?.focus({ preventScroll: false });
  }
}

window.addEventListener('hashchange', () => {
  state.navigated = true;
  window.scrollTo(0, 0);
  render();
});

function pageHead(title, subtitle, ...actions) {
  return h(
    'div',
    { class: 'page-head' },
    h('div', null, h('h1', { tabindex: '-1' }, title), subtitle ? h('p', { class: 'muted' }, subtitle) : null),
    actions.length ? h('div', { class: 'actions' }, actions) : null,
  );
}

function card(title, { id, actions = [], cls = '' } = {}, ...body) {
  const hid = id ? `${id}-title` : undefined;
  return h(
    'section',
    { class: `card ${cls}`.trim(), id, 'aria-labelledby': hid },
    h('div', { class: 'card-head' }, h('h2', { id: hid }, title), actions.length ? h('div', { class: 'actions' }, actions) : null),
    ...body,
  );
}

function takeFlash() {
  const f = state.flash;
  state.flash = null;
  if (!f) return null;
  return notice(f.kind, ...(Array.isArray(f.content) ? f.content : [h('p', null, f.text)]));
}

function notFoundView() {
  clear(view, pageHead('Not found', 'There is no such page in the dashboard.'), h('p', null, h('a', { href: '#/campaigns' }, 'Go to campaigns')));
}

// ---------------------------------------------------------------- sign-in

async function signInView() {
  const jwt = h('textarea', { rows: 4, spellcheck: 'false', autocomplete: 'off', placeholder: 'eyJhbGciOiJIUzI1NiIs…', class: 'mono', required: true });
  const err = h('div', { class: 'form-msg' });
  const devBtn = h('button', { type: 'button', class: 'btn btn-primary btn-block', id: 'dev-sign-in' }, 'Dev sign-in (demo)');
  const devBox = h('div', { class: 'dev-box', hidden: state.devSignIn !== true }, h('div', { class: 'or' }, h('span', null, 'or')), devBtn, h('p', { class: 'hint' }, 'Local development only: signs you in as the owner of @demo.'));

  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    field('JWT (bearer token)', jwt, 'Kept in this tab only (sessionStorage). The handles you can manage come from its "handles" claim.'),
    h('button', { type: 'submit', class: 'btn btn-secondary btn-block' }, 'Sign in with token'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(err);
    try {
      signIn(jwt.value);
      announce(`Signed in as @${state.handle}`, 'ok');
      if (!location.hash) location.hash = '#/campaigns';
      else render();
    } catch (ex) {
      clear(err, notice('error', h('p', null, ex.message)));
      jwt.focus();
    }
  });
  devBtn.addEventListener('click', () =>
    busy(devBtn, 'Signing in…', async () => {
      clear(err);
      try {
        const r = await request('POST', '/v2/dev/token', { body: {}, auth: false });
        signIn(r.token, r.handle);
        announce(`Signed in as @${state.handle} (${r.role})`, 'ok');
        if (location.hash !== '#/campaigns') location.hash = '#/campaigns';
        else render();
      } catch (ex) {
        if (ex.status === 404) {
          state.devSignIn = false;
          devBox.hidden = true;
        }
        clear(err, errorNotice(ex));
      }
    }),
  );

  clear(
    view,
    h(
      'div',
      { class: 'signin' },
      h(
        'section',
        { class: 'card signin-card', 'aria-labelledby': 'signin-title' },
        h('h1', { id: 'signin-title', tabindex: '-1' }, 'Sign in'),
        h('p', { class: 'muted' }, 'Manage campaigns, short links and funnel analytics for your handles.'),
        takeFlash(),
        err,
        form,
        devBox,
      ),
    ),
  );

  if (state.devSignIn === null) {
    // The dev route exists only when DEV_SIGN_IN is set; probe it once.
    try {
      await request('POST', '/v2/dev/token', { body: {}, auth: false });
      state.devSignIn = true;
    } catch {
      state.devSignIn = false;
    }
    devBox.hidden = !state.devSignIn;
  }
}

// ---------------------------------------------------------------- campaigns list

async function campaignsView() {
  document.title = `Campaigns · @${state.handle} · edge-funnel`;
  const canWrite = atLeast('CREATOR');
  const newBtn = h('button', { type: 'button', class: 'btn btn-primary', 'aria-expanded': 'false', 'aria-controls': 'new-campaign', hidden: !canWrite }, 'New campaign');
  const kpis = h('div', { class: 'kpis', 'aria-label': 'All campaigns' });
  const statusSel = h('select', null, h('option', { value: '' }, 'All statuses'), ['DRAFT', 'ACTIVE', 'PAUSED'].map((s) => h('option', { value: s }, s[0] + s.slice(1).toLowerCase())));
  const listMsg = h('div');
  const list = h('ul', { class: 'campaign-list', 'aria-label': 'Campaigns' });
  const more = h('button', { type: 'button', class: 'btn btn-secondary', hidden: true }, 'Load more');
  const createCard = campaignCreateCard();
  createCard.hidden = true;
  const toggleCreate = (open) => {
    createCard.hidden = !open;
    newBtn.setAttribute('aria-expanded', String(open));
    if (open) createCard.querySelector('select, input')?.focus();
  };
  newBtn.addEventListener('click', () => toggleCreate(createCard.hidden));

  clear(
    view,
    pageHead('Campaigns', `@${state.handle} · ${role()}`, newBtn),
    takeFlash(),
    kpis,
    createCard,
    card(
      'All campaigns',
      { id: 'campaign-list-card', actions: [h('label', { class: 'inline-field' }, h('span', { class: 'visually-hidden' }, 'Filter by status'), statusSel)] },
      listMsg,
      list,
      h('div', { class: 'center' }, more),
    ),
  );

  let funnels = null; // campaignId → funnel entry
  let analyticsDenied = false;
  const loadFunnels = async () => {
    try {
      const r = await GET(`${base()}/analytics`, { funnel: 'true' });
      funnels = new Map((r.funnel || []).map((f) => [f.campaignId, f]));
      renderKpis(kpis, r.aggregate);
    } catch (e) {
      funnels = new Map();
      analyticsDenied = e.status === 403;
      clear(kpis);
      if (analyticsDenied) clear(kpis, h('div', { class: 'span-all' }, notice('info', h('p', null, `Analytics need the CREATOR role or above; you are ${role()} on @${state.handle}.`))));
    }
  };

  let cursor = null;
  const load = async (append) => {
    more.hidden = true;
    if (!append) {
      clear(list);
      clear(listMsg, h('p', { class: 'loading' }, 'Loading campaigns…'));
    }
    try {
      const [r] = await Promise.all([GET(`${base()}/campaigns`, { limit: 25, status: statusSel.value, cursor: append ? cursor : undefined }), funnels ? null : loadFunnels()]);
      clear(listMsg);
      cursor = r.nextCursor;
      more.hidden = !cursor;
      const items = r.campaigns || [];
      if (!append && items.length === 0) {
        clear(listMsg, h('div', { class: 'empty-state' }, h('p', null, statusSel.value ? `No ${statusSel.value.toLowerCase()} campaigns.` : 'No campaigns yet.'), statusSel.value ? null : h('p', { class: 'muted' }, 'Create one with a goal type to start tracking clicks → conversions.')));
        if (!statusSel.value && canWrite) toggleCreate(true);
      }
      const missing = [];
      for (const c of items) {
        const stats = h('dl', { class: 'cc-stats' });
        const f = funnels.get(c.campaignId);
        if (f) renderCardStats(stats, f);
        else if (analyticsDenied) renderCardStats(stats, null, '—');
        else {
          renderCardStats(stats, null);
          missing.push([c, stats]);
        }
        list.appendChild(campaignCard(c, stats));
      }
      // Campaigns outside the aggregate's 50 most recent: one funnel call each (a few at a time).
      for (let i = 0; i < missing.length; i += 6) {
        await Promise.all(
          missing.slice(i, i + 6).map(async ([c, stats]) => {
            try {
              const fr = await GET(`${base()}/analytics`, { funnel: 'true', campaignId: c.campaignId });
              renderCardStats(stats, fr.funnel?.[0] || {});
            } catch {
              renderCardStats(stats, {});
            }
          }),
        );
      }
    } catch (e) {
      clear(listMsg, errorNotice(e));
    }
  };
  statusSel.addEventListener('change', () => load(false));
  more.addEventListener('click', () => busy(more, 'Loading…', () => load(true)));
  await load(false);
}

function renderKpis(el, a) {
  if (!a) return clear(el);
  const rev = a.currency ? fmtMoney(a.revenue, a.currency) : Object.entries(a.revenueByCurrency || {}).map(([c, v]) => fmtMoney(v, c)).join(' + ') || '—';
  clear(
    el,
    kpi('Campaigns', fmtInt(a.campaigns)),
    kpi('Clicks', fmtInt(a.clicks), a.botClicks ? `${fmtInt(a.botClicks)} bot` : null),
    kpi('Qualified', fmtInt(a.qualifiedClicks)),
    kpi('Conversions', fmtInt(a.conversions), a.qualifiedClicks ? `${fmtPct(a.conversionRate)} rate` : null),
    kpi('Revenue', rev),
  );
}

function kpi(label, value, sub, attrs = {}) {
  return h('div', { class: 'kpi', ...attrs }, h('div', { class: 'kpi-label' }, label), h('div', { class: 'kpi-value' }, value), sub ? h('div', { class: 'kpi-sub' }, sub) : null);
}

function renderCardStats(dl, f, placeholder = '…') {
  const v = (x) => (f ? x : placeholder);
  clear(
    dl,
    h('div', null, h('dt', null, 'Clicks'), h('dd', null, v(fmtInt(f?.clicks ?? 0)))),
    h('div', null, h('dt', null, 'Conversions'), h('dd', null, v(fmtInt(f?.conversions ?? 0)))),
    h('div', null, h('dt', null, 'Revenue'), h('dd', null, v(fmtMoney(f?.revenue ?? 0, f?.currency || 'USD')))),
  );
}

function campaignCard(c, stats) {
  const g = goalOf(c.goalType);
  return h(
    'li',
    { class: 'campaign-card', dataset: { campaignId: c.campaignId } },
    h('div', { class: 'cc-head' }, h('a', { class: 'cc-title', href: `#/campaigns/${encodeURIComponent(c.campaignId)}` }, c.name || c.campaignId), badge(c.status)),
    h('div', { class: 'cc-sub muted small' }, h('code', null, c.campaignId), ` · ${g?.label || c.goalType} · ${c.conversionEventType}`),
    stats,
  );
}

function campaignCreateCard() {
  const idIn = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'auto: cmp_…', maxlength: 64 });
  const nameIn = h('input', { type: 'text', maxlength: 120, placeholder: 'Spring launch' });
  const goalSel = h('select', { required: true }, GOALS.map((g) => h('option', { value: g.type }, `${g.label} — ${g.preset} / ${g.event}`)));
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
    if (!presetIn.value || presetIn.value === lastGoal.preset) presetIn.value = g.preset;
    if (!eventIn.value || eventIn.value === lastGoal.event) eventIn.value = g.event;
    presetIn.placeholder = g.preset;
    eventIn.placeholder = g.event;
    defaults.textContent = `Default for ${g.label}: tracking preset ${g.preset}, event type ${g.event}. Both can be overridden.`;
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
      const body = { goalType: g.type, status: statusSel.value };
      if (idIn.value.trim()) body.campaignId = idIn.value.trim();
      if (nameIn.value.trim()) body.name = nameIn.value.trim();
      if (presetIn.value.trim() && presetIn.value.trim() !== g.preset) body.trackingPreset = presetIn.value.trim();
      if (eventIn.value.trim() && eventIn.value.trim() !== g.event) body.conversionEventType = eventIn.value.trim();
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

// ---------------------------------------------------------------- campaign page

async function campaignView(id) {
  document.title = `${id} · edge-funnel`;
  clear(view, h('p', { class: 'loading' }, 'Loading campaign…'));
  let c;
  try {
    c = (await GET(`${base()}/campaigns/${seg(id)}`)).campaign;
  } catch (e) {
    clear(view, pageHead('Campaign', id), errorNotice(e), h('p', null, h('a', { href: '#/campaigns' }, '← All campaigns')));
    return;
  }
  const cbase = `${base()}/campaigns/${seg(c.campaignId)}`;

  // --- head
  const headEl = h('div');
  const renderHead = () => {
    document.title = `${c.name || c.campaignId} · edge-funnel`;
    const g = goalOf(c.goalType);
    const statusBtn =
      c.status === 'ACTIVE'
        ? h('button', { type: 'button', class: 'btn btn-secondary', id: 'pause-btn' }, 'Pause')
        : h('button', { type: 'button', class: 'btn btn-primary', id: 'activate-btn' }, c.status === 'PAUSED' ? 'Resume' : 'Activate');
    statusBtn.addEventListener('click', () =>
      busy(statusBtn, c.status === 'ACTIVE' ? 'Pausing…' : 'Activating…', async () => {
        const to = c.status === 'ACTIVE' ? 'PAUSED' : 'ACTIVE';
        try {
          c = (await PATCH(cbase, { status: to })).campaign;
          announce(to === 'ACTIVE' ? `Campaign ${c.campaignId} is active and tracking` : `Campaign ${c.campaignId} paused`, 'ok');
          renderHead();
          if (healthShown) runHealth();
          headEl.querySelector('#pause-btn, #activate-btn')?.focus();
        } catch (e) {
          announce(e.message, 'error');
          clear(headMsg, errorNotice(e));
        }
      }),
    );
    const refreshBtn = h('button', { type: 'button', class: 'btn btn-secondary', id: 'refresh-btn' }, 'Refresh');
    refreshBtn.addEventListener('click', () =>
      busy(refreshBtn, 'Refreshing…', async () => {
        try {
          c = (await GET(cbase)).campaign;
          renderHead();
        } catch (e) {
          clear(headMsg, errorNotice(e));
        }
        await Promise.all([loadFunnel(), loadSeries(), links.reload(), healthShown ? runHealth() : null]);
        announce('Campaign data refreshed');
      }),
    );
    clear(
      headEl,
      h('p', { class: 'crumb' }, h('a', { href: '#/campaigns' }, '← Campaigns')),
      pageHead(
        c.name || c.campaignId,
        null,
        statusBtn,
        refreshBtn,
      ),
      h(
        'div',
        { class: 'meta-row' },
        h('span', { id: 'campaign-status' }, badge(c.status)),
        h('span', null, g?.label || c.goalType),
        h('span', null, h('code', null, c.campaignId)),
        h('span', null, `${c.trackingPreset} / ${c.conversionEventType}`),
        h('span', null, c.currency),
        c.primarySlug ? h('span', null, 'Primary link ', h('code', null, c.primarySlug)) : h('span', { class: 'muted' }, 'No primary link'),
        c.detailsPageSlug ? h('span', null, 'Detail page ', h('a', { href: `/${encodeURIComponent(state.handle)}/p/${encodeURIComponent(c.detailsPageSlug)}`, target: '_blank', rel: 'noopener' }, c.detailsPageSlug)) : null,
        c.activatedAt ? h('span', { class: 'muted' }, `Activated ${fmtTime(c.activatedAt)}`) : null,
      ),
    );
  };
  const headMsg = h('div', { class: 'form-msg' });

  // --- health
  let healthShown = false;
  const healthBody = h('div', { class: 'health-body' }, h('p', { class: 'muted' }, 'Check tracking preset, event type, primary link, status, first click, test conversion and webhook before you share the link.'));
  const healthBtn = h('button', { type: 'button', class: 'btn btn-secondary', id: 'health-btn' }, 'Run health check');
  const runHealth = async () => {
    healthShown = true;
    healthBody.setAttribute('aria-busy', 'true');
    try {
      const r = await GET(`${cbase}/health`);
      const checks = r.checks || [];
      clear(
        healthBody,
        h('p', { class: 'readiness', id: 'readiness' }, badge(r.readiness, 'badge-lg'), ' ', r.readiness === 'READY' ? 'Ready to share.' : 'Not ready: fix the failing checks.'),
        h(
          'ul',
          { class: 'checks', 'aria-label': 'Health checks' },
          checks.map((ch) => h('li', { class: `check-${String(ch.status).toLowerCase()}`, dataset: { check: ch.name, status: ch.status } }, badge(ch.status), h('div', null, h('strong', null, humanize(ch.name)), h('span', { class: 'muted small' }, ch.detail)))),
        ),
        h('p', { class: 'muted small' }, `Checked ${new Date().toLocaleTimeString()}`),
      );
    } catch (e) {
      clear(healthBody, errorNotice(e));
    } finally {
      healthBody.removeAttribute('aria-busy');
    }
  };
  healthBtn.addEventListener('click', () => busy(healthBtn, 'Checking…', async () => {
    await runHealth();
    announce('Health check complete');
  }));

  // --- funnel + breakdowns
  const funnelBody = h('div', { class: 'funnel-body', 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading funnel…'));
  const bdGrid = h('div', { class: 'bd-grid' });
  const bdCharts = {};
  for (const [key, title] of [['source', 'Source'], ['country', 'Country'], ['device', 'Device'], ['segment', 'Segment'], ['rule', 'Rule']]) {
    const chart = h('div', { class: 'chart-box', id: `bd-${key}` });
    const table = h('div');
    bdCharts[key] = { chart, table, title };
    bdGrid.appendChild(h('section', { class: 'bd', 'aria-labelledby': `bd-${key}-title` }, h('h3', { id: `bd-${key}-title` }, title), chart, table));
  }
  const renderBreakdown = (key, rows, currency) => {
    const { chart, table, title } = bdCharts[key];
    const label = (r) => (r[key] === '' || r[key] == null ? `(no ${key})` : String(r[key]));
    const data = rows.map((r) => ({ label: label(r), value: r.qualifiedClicks ?? r.count ?? 0, title: `${label(r)}: ${fmtInt(r.qualifiedClicks ?? r.count ?? 0)} qualified clicks, ${fmtInt(r.conversions ?? 0)} conversions` }));
    barChart(chart, data, {
      ariaLabel: `Qualified clicks by ${key}: ${data.map((d) => `${d.label} ${d.value}`).join(', ') || 'none'}`,
      tone: { source: 'c1', country: 'c2', device: 'c3', segment: 'c4', rule: 'c5' }[key],
      empty: `No ${title.toLowerCase()} data yet.`,
    });
    clear(
      table,
      rows.length
        ? dataTable(`${title} breakdown`, [
            { label: title, get: label },
            { label: 'Clicks', get: (r) => fmtInt(r.clicks ?? r.count ?? 0), num: true },
            { label: 'Qualified', get: (r) => fmtInt(r.qualifiedClicks ?? r.count ?? 0), num: true },
            { label: 'Conv.', get: (r) => fmtInt(r.conversions ?? 0), num: true },
            { label: 'Revenue', get: (r) => fmtMoney(r.revenue ?? 0, currency), num: true },
          ], rows)
        : null,
    );
  };
  const loadFunnel = async () => {
    funnelBody.setAttribute('aria-busy', 'true');
    const [fr, seg_, rule_] = await Promise.allSettled([
      GET(`${base()}/analytics`, { funnel: 'true', campaignId: c.campaignId }),
      GET(`${base()}/analytics`, { groupBy: 'segment', campaignId: c.campaignId }),
      GET(`${base()}/analytics`, { groupBy: 'rule', campaignId: c.campaignId }),
    ]);
    funnelBody.removeAttribute('aria-busy');
    if (fr.status === 'rejected') {
      clear(funnelBody, errorNotice(fr.reason));
    } else {
      const f = fr.value.funnel?.[0] || { campaignId: c.campaignId, clicks: 0, botClicks: 0, qualifiedClicks: 0, conversions: 0, revenue: 0, currency: c.currency, testConversions: 0, conversionRate: 0, confidence: 0, breakdown: {} };
      renderFunnel(funnelBody, f);
      const bd = f.breakdown || {};
      for (const k of ['source', 'country', 'device']) renderBreakdown(k, bd[k] || [], f.currency);
    }
    for (const [k, res, prop] of [['segment', seg_, 'segments'], ['rule', rule_, 'rules']]) {
      if (res.status === 'fulfilled') renderBreakdown(k, res.value[prop] || [], res.value.currency || c.currency);
      else {
        clear(bdCharts[k].chart, errorNotice(res.reason));
        clear(bdCharts[k].table);
      }
    }
  };

  // --- time series
  let interval = 'hour';
  const seriesChart = h('div', { class: 'chart-box', id: 'series-chart' });
  const seriesTable = h('div');
  const seriesMsg = h('div');
  const ivBtns = ['hour', 'day'].map((iv) => {
    const b = h('button', { type: 'button', class: 'seg-btn', 'aria-pressed': String(iv === interval), dataset: { interval: iv } }, iv === 'hour' ? 'Hourly · 24 h' : 'Daily · 30 d');
    b.addEventListener('click', () => {
      interval = iv;
      for (const x of ivBtns) x.setAttribute('aria-pressed', String(x.dataset.interval === iv));
      loadSeries();
    });
    return b;
  });
  const loadSeries = async () => {
    const now = Date.now();
    const step = interval === 'hour' ? 3600_000 : 86_400_000;
    const buckets = interval === 'hour' ? 24 : 30;
    const to = Math.floor(now / step) * step + step; // end of the current bucket
    const from = to - buckets * step; // aligned to bucket starts
    seriesChart.setAttribute('aria-busy', 'true');
    try {
      const r = await GET(`${base()}/analytics`, { campaignId: c.campaignId, from: new Date(from).toISOString(), to: new Date(to).toISOString(), interval });
      const pts = r.timeseries || [];
      clear(seriesMsg);
      const totals = pts.reduce((a, p) => ({ clicks: a.clicks + (p.clicks || 0), conv: a.conv + (p.conversions || 0) }), { clicks: 0, conv: 0 });
      const tick = (t) => {
        const d = new Date(t);
        return interval === 'hour' ? `${String(d.getUTCHours()).padStart(2, '0')}:00` : d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
      };
      const full = (t) => (interval === 'hour' ? fmtTime(t) : new Date(t).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }));
      lineChart(seriesChart, pts, [
        { key: 'clicks', label: 'Clicks', tone: 'c1' },
        { key: 'qualifiedClicks', label: 'Qualified', tone: 'c2' },
        { key: 'conversions', label: 'Conversions', tone: 'c3' },
      ], {
        ariaLabel: `${interval === 'hour' ? 'Hourly, last 24 hours' : 'Daily, last 30 days'}: ${fmtInt(totals.clicks)} clicks and ${fmtInt(totals.conv)} conversions in total.`,
        formatTick: tick,
        formatFull: full,
      });
      const active = pts.filter((p) => p.clicks || p.conversions || p.qualifiedClicks);
      clear(
        seriesTable,
        dataTable('Time series', [
          { label: interval === 'hour' ? 'Hour (UTC)' : 'Day (UTC)', get: (p) => full(p.t) },
          { label: 'Clicks', get: (p) => fmtInt(p.clicks), num: true },
          { label: 'Qualified', get: (p) => fmtInt(p.qualifiedClicks), num: true },
          { label: 'Conv.', get: (p) => fmtInt(p.conversions), num: true },
          { label: 'Revenue', get: (p) => fmtMoney(p.revenue ?? 0, r.currency || c.currency), num: true },
        ], active.slice(-8).reverse(), { empty: 'No activity in this range yet.' }),
        active.length > 8 ? h('p', { class: 'muted small' }, `Showing the 8 most recent of ${active.length} active ${interval}s.`) : null,
      );
    } catch (e) {
      clear(seriesMsg, errorNotice(e));
      clear(seriesChart);
      clear(seriesTable);
    } finally {
      seriesChart.removeAttribute('aria-busy');
    }
  };

  // --- links, test conversion, structure
  const links = linksPanel({
    campaign: () => c,
    onPrimary: async (slug) => {
      c = (await PATCH(cbase, { primarySlug: slug })).campaign;
      renderHead();
    },
  });
  const testCard = testConversionCard(c, cbase, async () => {
    await loadFunnel();
    if (healthShown) await runHealth();
  });
  const structure = structureCard(c, cbase, async () => {
    try {
      c = (await GET(cbase)).campaign;
      renderHead();
    } catch {}
  });

  renderHead();
  clear(
    view,
    headEl,
    headMsg,
    takeFlash(),
    h(
      'div',
      { class: 'grid-2' },
      card('Funnel', { id: 'funnel-card', cls: 'span-wide' }, funnelBody),
      card('Health check', { id: 'health-card', actions: [healthBtn] }, healthBody),
    ),
    card(
      'Over time',
      { id: 'series-card', actions: [h('div', { class: 'seg', role: 'group', 'aria-label': 'Interval' }, ivBtns)] },
      h('div', { class: 'legend', 'aria-hidden': 'true' }, legend('c1', 'Clicks'), legend('c2', 'Qualified'), legend('c3', 'Conversions')),
      seriesMsg,
      seriesChart,
      seriesTable,
    ),
    card('Breakdowns', { id: 'breakdowns-card' }, h('p', { class: 'muted small' }, 'Qualified clicks (bots excluded) per dimension; the table adds conversions and revenue.'), bdGrid),
    h('div', { class: 'grid-2' }, links.card, testCard),
    structure,
  );
  await Promise.all([loadFunnel(), loadSeries(), links.reload()]);
}

const legend = (tone, label) => h('span', { class: 'legend-item' }, h('span', { class: `swatch tone-bg-${tone}` }), label);
const humanize = (s) => String(s).replace(/_/g, ' ').replace(/^./, (x) => x.toUpperCase());

function wilson(k, n) {
  const z = 1.959963984540054;
  const p = Math.min(1, k / n);
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { p, lo: Math.max(0, center - half), hi: Math.min(1, center + half) };
}

function confidenceWords(f) {
  const n = f.qualifiedClicks || 0;
  const k = f.conversions || 0;
  const conf = f.confidence ?? 0;
  if (!n || !k) {
    return `Confidence is 0/100: it measures how tight the conversion-rate estimate is, and with ${k ? 'no qualified clicks' : 'no conversions yet'} there is no rate to estimate. It rises as qualified clicks and conversions accumulate.`;
  }
  const { p, lo, hi } = wilson(k, n);
  const level = conf >= 70 ? 'high' : conf >= 30 ? 'moderate' : 'low';
  return (
    `Confidence ${conf}/100 (${level}). From ${fmtInt(n)} qualified click${n === 1 ? '' : 's'} and ${fmtInt(k)} conversion${k === 1 ? '' : 's'} the observed rate is ${fmtPct(p)}; ` +
    `the 95% Wilson interval puts the true rate between ${fmtPct(lo)} and ${fmtPct(hi)}. ` +
    `The score is 100 × (1 − interval width ÷ (2 × rate)), floored at 0: the narrower the interval relative to the rate, the closer to 100.`
  );
}

function renderFunnel(el, f) {
  const chart = h('div', { class: 'chart-box', id: 'funnel-chart' });
  const byCur = Object.entries(f.revenueByCurrency || {}).filter(([cur]) => cur !== f.currency);
  const conf = f.confidence ?? 0;
  clear(
    el,
    h(
      'div',
      { class: 'kpis kpis-tight', id: 'funnel-kpis' },
      kpi('Clicks', fmtInt(f.clicks), f.botClicks ? `${fmtInt(f.botClicks)} bot` : 'no bots', { dataset: { kpi: 'clicks' } }),
      kpi('Qualified', fmtInt(f.qualifiedClicks), null, { dataset: { kpi: 'qualified' } }),
      kpi('Conversions', fmtInt(f.conversions), `${fmtPct(f.conversionRate ?? 0)} rate`, { dataset: { kpi: 'conversions' } }),
      kpi('Revenue', fmtMoney(f.revenue ?? 0, f.currency), f.testConversions ? `${fmtInt(f.testConversions)} test conv.` : null, { dataset: { kpi: 'revenue' } }),
      h('div', { class: 'kpi', dataset: { kpi: 'confidence' } }, h('div', { class: 'kpi-label' }, 'Confidence'), h('div', { class: 'kpi-value' }, `${conf}`, h('span', { class: 'kpi-unit' }, '/100')), meter(conf, `Confidence ${conf} out of 100`)),
    ),
    chart,
    h('p', { class: 'explain', id: 'confidence-explain' }, confidenceWords(f)),
    byCur.length ? h('p', { class: 'muted small' }, `Also received (not converted, not in revenue): ${byCur.map(([cur, v]) => fmtMoney(v, cur)).join(', ')}.`) : null,
    dataTable('Funnel', [
      { label: 'Stage', get: (r) => r[0] },
      { label: 'Count', get: (r) => r[1], num: true },
      { label: 'Rate', get: (r) => r[2], num: true },
    ], [
      ['Clicks', fmtInt(f.clicks), f.botClicks ? `${fmtInt(f.botClicks)} bot` : '—'],
      ['Qualified clicks', fmtInt(f.qualifiedClicks), f.clicks ? `${fmtPct(f.qualifiedClicks / f.clicks)} of clicks` : '—'],
      ['Conversions', fmtInt(f.conversions), f.qualifiedClicks ? `${fmtPct(f.conversionRate ?? 0)} of qualified` : '—'],
      ['Revenue', fmtMoney(f.revenue ?? 0, f.currency), f.conversions ? `${fmtMoney((f.revenue ?? 0) / f.conversions, f.currency)} / conv.` : '—'],
      ['Test conversions', fmtInt(f.testConversions ?? 0), 'not counted'],
    ]),
    h('p', { class: 'muted small' }, `Last activity: ${f.lastSeenAt ? `${fmtRelative(f.lastSeenAt)} (${fmtTime(f.lastSeenAt)})` : 'none yet'}`),
  );
  funnelChart(chart, f, { fmtInt, fmtMoney, fmtPct });
}

function testConversionCard(c, cbase, after) {
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

// ---------------------------------------------------------------- links

/**
 * Link list + create/edit form. With `campaign` (a getter), scoped to that
 * campaign; otherwise with a campaign filter.
 */
function linksPanel({ campaign, onPrimary } = {}) {
  const scoped = !!campaign;
  const msg = h('div', { class: 'form-msg' });
  const list = h('div', { class: 'link-list' });
  const filterSel = h('select', { 'aria-label': 'Filter by campaign' }, h('option', { value: '' }, 'All campaigns'));
  let campaigns = [];

  // form
  const slugIn = h('input', { type: 'text', required: true, spellcheck: 'false', autocomplete: 'off', placeholder: 'spring-promo', maxlength: 64 });
  const destIn = h('input', { type: 'url', required: true, placeholder: 'https://shop.example.com/spring', spellcheck: 'false' });
  const campSel = h('select', null, h('option', { value: '' }, '— none —'));
  const modeSel = h('select', null, [['DIRECT', 'Direct — full click record'], ['AGGREGATE_ONLY', 'Aggregate only — counters, no per-click row'], ['OFF', 'Off — nothing recorded']].map(([v, l]) => h('option', { value: v }, l)));
  const appendCb = checkbox('Append context (click-id) parameter', { checked: true });
  const paramIn = h('input', { type: 'text', value: 'ctx', maxlength: 32, spellcheck: 'false', autocomplete: 'off', size: 8 });
  const fwdCb = checkbox("Forward the visitor's query parameters", { checked: true });
  const primaryCb = checkbox("Make this the campaign's primary link", {});
  const formMsg = h('div', { class: 'form-msg' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'save-link-btn' }, 'Save link');
  const cancel = h('button', { type: 'button', class: 'btn btn-ghost', hidden: true }, 'Cancel edit');
  const formTitle = h('h3', null, 'Add a link');
  const syncPrimary = () => {
    const c = campaign?.();
    primaryCb.el.hidden = !c;
    if (c) primaryCb.input.checked = !c.primarySlug || c.primarySlug === slugIn.value.trim();
  };
  slugIn.addEventListener('input', () => {
    const c = campaign?.();
    if (c && c.primarySlug && c.primarySlug === slugIn.value.trim()) primaryCb.input.checked = true;
  });
  const form = h(
    'form',
    { class: 'form-grid', novalidate: true, id: scoped ? 'campaign-link-form' : 'link-form' },
    h('div', { class: 'span-all' }, formTitle),
    field('Slug', slugIn, 'Lowercase letters, digits, - and _.'),
    field('Destination URL', destIn),
    scoped ? null : field('Campaign', campSel),
    field('Tracking mode', modeSel),
    field('Context parameter name', paramIn),
    h('div', { class: 'span-all checks-row' }, appendCb.el, fwdCb.el, scoped ? primaryCb.el : null),
    h('div', { class: 'span-all' }, formMsg),
    h('div', { class: 'span-all actions' }, submit, cancel),
  );
  const resetForm = () => {
    form.reset();
    slugIn.readOnly = false;
    appendCb.input.checked = true;
    fwdCb.input.checked = true;
    paramIn.value = 'ctx';
    formTitle.textContent = 'Add a link';
    cancel.hidden = true;
    if (!scoped) campSel.value = filterSel.value;
    syncPrimary();
  };
  cancel.addEventListener('click', () => {
    resetForm();
    slugIn.focus();
  });
  const edit = (l) => {
    slugIn.value = l.slug;
    destIn.value = l.destinationUrl;
    if (!scoped) campSel.value = l.campaignId || '';
    const tp = l.trackingPolicy || {};
    modeSel.value = tp.mode || 'DIRECT';
    appendCb.input.checked = !!tp.appendContextParam;
    paramIn.value = tp.contextParamName || 'ctx';
    fwdCb.input.checked = tp.forwardQuery !== false;
    formTitle.textContent = `Edit /${l.slug}`;
    cancel.hidden = false;
    syncPrimary();
    form.scrollIntoView({ block: 'nearest' });
    destIn.focus();
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clear(formMsg);
    const slug = slugIn.value.trim();
    if (!slug) {
      clear(formMsg, notice('error', h('p', null, 'Enter a slug.')));
      return slugIn.focus();
    }
    if (!destIn.value.trim()) {
      clear(formMsg, notice('error', h('p', null, 'Enter a destination URL.')));
      return destIn.focus();
    }
    const body = {
      destinationUrl: destIn.value.trim(),
      trackingPolicy: { mode: modeSel.value, appendContextParam: appendCb.input.checked, contextParamName: paramIn.value.trim() || 'ctx', forwardQuery: fwdCb.input.checked },
    };
    const cid = scoped ? campaign().campaignId : campSel.value;
    if (cid) body.campaignId = cid;
    busy(submit, 'Saving…', async () => {
      try {
        const r = await PUT(`${base()}/links/${seg(slug)}`, body);
        const l = r.link;
        const c = campaign?.();
        let extra = '';
        if (c && primaryCb.input.checked && c.primarySlug !== l.slug) {
          try {
            await onPrimary(l.slug);
            extra = ' It is now the primary link.';
          } catch (ex) {
            clear(formMsg, errorNotice(ex));
          }
        }
        announce(`Link /${l.slug} saved`, 'ok');
        clear(msg, notice('ok', h('p', null, 'Saved ', h('a', { href: l.shortUrl, target: '_blank', rel: 'noopener' }, l.shortUrl), ` → ${l.destinationUrl}.${extra}`)));
        resetForm();
        await reload();
      } catch (ex) {
        clear(formMsg, errorNotice(ex));
      }
    });
  });

  const renderLink = (l) => {
    const copyBtn = h('button', { type: 'button', class: 'btn btn-secondary btn-sm', 'aria-label': `Copy short URL ${l.shortUrl}` }, 'Copy');
    copyBtn.addEventListener('click', async () => {
      const ok = await copyText(l.shortUrl);
      copyBtn.textContent = ok ? 'Copied ✓' : 'Copy failed';
      announce(ok ? `Copied ${l.shortUrl}` : 'Could not copy: select the URL and copy it manually', ok ? 'ok' : 'error');
      setTimeout(() => (copyBtn.textContent = 'Copy'), 2000);
    });
    const editBtn = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-label': `Edit link ${l.slug}` }, 'Edit');
    editBtn.addEventListener('click', () => edit(l));
    const delBtn = confirmButton('Delete', 'Confirm delete', async (b) => {
      try {
        await DEL(`${base()}/links/${seg(l.slug)}`);
        announce(`Link /${l.slug} deleted`, 'ok');
        clear(msg, notice('ok', h('p', null, `Deleted /${l.slug}.`)));
        await reload();
      } catch (ex) {
        clear(msg, errorNotice(ex));
      }
    });
    delBtn.setAttribute('aria-label', `Delete link ${l.slug}`);
    const tp = l.trackingPolicy || {};
    const c = campaign?.();
    return h(
      'li',
      { class: 'link-item', dataset: { slug: l.slug } },
      h(
        'div',
        { class: 'link-main' },
        h('div', { class: 'link-title' }, h('strong', null, `/${l.slug}`), c && c.primarySlug === l.slug ? h('span', { class: 'badge badge-info' }, 'PRIMARY') : null, h('span', { class: 'badge badge-neutral' }, (tp.mode || 'DIRECT').replace('_', ' '))),
        h('div', { class: 'short-url' }, h('a', { href: l.shortUrl, target: '_blank', rel: 'noopener', class: 'mono' }, l.shortUrl)),
        h('div', { class: 'muted small dest', title: l.destinationUrl }, '→ ', l.destinationUrl),
        !scoped && l.campaignId ? h('div', { class: 'small' }, 'Campaign ', h('a', { href: `#/campaigns/${encodeURIComponent(l.campaignId)}` }, l.campaignId)) : null,
      ),
      h('div', { class: 'link-actions' }, copyBtn, editBtn, delBtn),
    );
  };

  let cursor = null;
  const more = h('button', { type: 'button', class: 'btn btn-secondary btn-sm', hidden: true }, 'Load more');
  const ul = h('ul', { class: 'links', 'aria-label': 'Links' });
  const reload = async (append = false) => {
    more.hidden = true;
    if (!append) clear(list, h('p', { class: 'loading' }, 'Loading links…'));
    try {
      const cid = scoped ? campaign().campaignId : filterSel.value;
      const r = await GET(`${base()}/links`, { campaignId: cid || undefined, limit: 50, cursor: append ? cursor : undefined });
      cursor = r.nextCursor;
      if (!append) {
        clear(ul);
        clear(list, ul);
      }
      for (const l of r.links || []) ul.appendChild(renderLink(l));
      if (!ul.children.length) clear(list, h('p', { class: 'muted empty' }, scoped ? 'No links in this campaign yet. Add one below, then share its short URL.' : 'No links yet.'));
      more.hidden = !cursor;
    } catch (ex) {
      clear(list, errorNotice(ex));
    }
  };
  more.addEventListener('click', () => busy(more, 'Loading…', () => reload(true)));

  if (!scoped) {
    const loadCampaigns = async () => {
      try {
        const r = await GET(`${base()}/campaigns`, { limit: 100 });
        campaigns = r.campaigns || [];
        for (const sel of [filterSel, campSel]) {
          for (const c of campaigns) sel.appendChild(h('option', { value: c.campaignId }, c.name ? `${c.name} (${c.campaignId})` : c.campaignId));
        }
      } catch {
        /* the selects stay with "none" */
      }
    };
    filterSel.addEventListener('change', () => {
      campSel.value = filterSel.value;
      reload();
    });
    loadCampaigns();
  }
  syncPrimary();

  const cardEl = card(
    scoped ? 'Links' : 'Short links',
    { id: scoped ? 'links-card' : 'all-links-card', actions: scoped ? [] : [filterSel] },
    msg,
    list,
    h('div', { class: 'center' }, more),
    h('hr'),
    form,
  );
  return { card: cardEl, reload };
}

async function linksView() {
  document.title = `Links · @${state.handle} · edge-funnel`;
  const panel = linksPanel();
  clear(view, pageHead('Links', `Short links of @${state.handle}: ${location.origin}/${state.handle}/{slug}`), panel.card);
  await panel.reload();
}

// ---------------------------------------------------------------- rules

async function rulesView() {
  document.title = `Rules · @${state.handle} · edge-funnel`;
  const list = h('div');
  const msg = h('div');
  const idIn = h('input', { type: 'text', required: true, spellcheck: 'false', autocomplete: 'off', placeholder: 'spring-mobile-variant' });
  const enabledCb = checkbox('Enabled', { checked: true });
  const prioIn = h('input', { type: 'number', step: '1', value: '100', inputmode: 'numeric' });
  const campIn = h('input', { type: 'text', spellcheck: 'false', placeholder: 'spring-launch' });
  const devCbs = DEVICES.map((d) => checkbox(d[0] + d.slice(1).toLowerCase(), { value: d }));
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
  const exDevice = h('select', null, DEVICES.map((d) => h('option', { value: d }, d[0] + d.slice(1).toLowerCase())));
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

// ---------------------------------------------------------------- tokens

function secretBox(title, secret, note) {
  const copyB = h('button', { type: 'button', class: 'btn btn-secondary btn-sm' }, 'Copy');
  copyB.addEventListener('click', async () => {
    const ok = await copyText(secret);
    announce(ok ? 'Secret copied' : 'Could not copy: select it and copy manually', ok ? 'ok' : 'error');
  });
  return notice('ok', h('p', null, h('strong', null, title)), h('div', { class: 'secret' }, h('code', { class: 'break' }, secret), copyB), h('p', { class: 'small' }, note));
}

async function tokensView() {
  document.title = `Tokens · @${state.handle} · edge-funnel`;
  const list = h('div');
  const out = h('div');
  const nameIn = h('input', { type: 'text', required: true, maxlength: 80, placeholder: 'CI analytics' });
  const scopeCbs = SCOPES.map((sc) => checkbox(sc, { value: sc }));
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

// ---------------------------------------------------------------- webhooks

async function webhooksView() {
  document.title = `Webhooks · @${state.handle} · edge-funnel`;
  const list = h('div');
  const out = h('div');
  const urlIn = h('input', { type: 'url', required: true, placeholder: 'https://example.com/hooks/edge-funnel', spellcheck: 'false' });
  const evCbs = WEBHOOK_EVENTS.map((ev) => checkbox(ev, { value: ev, checked: ev.startsWith('conversion.') }));
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
  const deliveriesOf = async (w, box, btn) => {
    await busy(btn, 'Loading…', async () => {
      try {
        const r = await GET(`${base()}/webhooks/${seg(w.id)}/deliveries`);
        const ds = r.deliveries || [];
        clear(
          box,
          dataTable(`Deliveries for ${w.url}`, [
            { label: 'Event', get: (d) => d.type || d.event || d.eventType || '—' },
            { label: 'Status', get: (d) => badge(d.status || (d.delivered ? 'DELIVERED' : '—')) },
            { label: 'Tries', get: (d) => fmtInt(d.attempts ?? d.attempt ?? (d.tries || []).length), num: true },
            { label: 'HTTP', get: (d) => String(d.responseStatus ?? d.lastStatus ?? d.statusCode ?? '—'), num: true },
            { label: 'When', get: (d) => fmtTime(d.createdAt || d.lastAttemptAt) },
          ], ds, { empty: 'No deliveries yet.' }),
        );
      } catch (ex) {
        clear(box, errorNotice(ex, 'Webhook deliveries'));
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
            return h(
              'li',
              { class: 'rule-item rule-item-wrap' },
              h('div', null, h('div', { class: 'link-title' }, h('strong', { class: 'break' }, w.url)), h('div', { class: 'small' }, (w.events || []).join(', ')), h('div', { class: 'muted small' }, `Added ${fmtTime(w.createdAt)}`)),
              h('div', { class: 'link-actions' }, dBtn, delB),
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

// ---------------------------------------------------------------- structure editor

function structureCard(c, cbase, onPublished) {
  const sbase = `${base()}/site-structure/campaigns/${seg(c.campaignId)}`;
  const template = () =>
    JSON.stringify(
      {
        page: { slug: c.primarySlug ? `${c.primarySlug}-details` : `${c.campaignId}-details`, title: c.name || c.campaignId, description: '' },
        schema: { sections: [{ type: 'hero', heading: c.name || c.campaignId }] },
      },
      null,
      2,
    );
  const ta = h('textarea', { rows: 14, class: 'mono', spellcheck: 'false', 'aria-describedby': 'structure-status' });
  const status = h('p', { class: 'hint', id: 'structure-status', 'aria-live': 'polite' });
  const msg = h('div', { class: 'form-msg' });
  const verIn = h('input', { type: 'number', min: '1', step: '1', placeholder: 'latest', size: 6 });
  const loadBtn = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Load');
  const saveBtn = h('button', { type: 'button', class: 'btn btn-primary' }, 'Save new version');
  const pubBtn = h('button', { type: 'button', class: 'btn btn-secondary' }, 'Publish latest');
  const body = h('div', { class: 'structure', hidden: true });
  const openBtn = h('button', { type: 'button', class: 'btn btn-secondary', 'aria-expanded': 'false' }, 'Open editor');

  const validate = () => {
    const text = ta.value;
    const bytes = new TextEncoder().encode(text).length;
    let v;
    try {
      v = JSON.parse(text);
    } catch (e) {
      return { error: `Invalid JSON: ${e.message}` };
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) return { error: 'The body must be a JSON object {page, schema}.' };
    if (!v.page || typeof v.page !== 'object' || Array.isArray(v.page)) return { error: '"page" must be an object.' };
    if (typeof v.page.slug !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(v.page.slug)) return { error: '"page.slug" must be a slug (lowercase letters, digits, - and _).' };
    if (typeof v.page.title !== 'string' || !v.page.title.trim()) return { error: '"page.title" must be a non-empty string.' };
    if (!v.schema || typeof v.schema !== 'object' || Array.isArray(v.schema)) return { error: '"schema" must be an object.' };
    if (bytes > MAX_STRUCTURE_BYTES) return { error: `Too large: ${fmtInt(bytes)} bytes (limit 256 KiB).` };
    return { value: v, bytes };
  };
  const showValidity = () => {
    const r = validate();
    ta.setAttribute('aria-invalid', String(!!r.error));
    status.textContent = r.error || `Valid JSON · ${fmtInt(r.bytes)} bytes`;
    status.classList.toggle('hint-error', !!r.error);
    saveBtn.disabled = !!r.error;
    return r;
  };
  let t;
  ta.addEventListener('input', () => {
    clearTimeout(t);
    t = setTimeout(showValidity, 200);
  });
  const load = async () => {
    clear(msg);
    try {
      const r = await GET(sbase, verIn.value ? { version: verIn.value } : undefined);
      const doc = r.page || r.schema ? { page: r.page, schema: r.schema } : r.structure || r;
      ta.value = JSON.stringify(doc, null, 2);
      const pub = r.published && typeof r.published === 'object' ? r.published : null;
      clear(
        msg,
        notice(
          'info',
          h('p', null, `Loaded version ${r.version ?? '?'}${r.latestVersion && r.latestVersion !== r.version ? ` (latest is ${r.latestVersion})` : ''}`, r.key ? [' · ', h('code', null, r.key)] : null, '.'),
          h('p', { class: 'small' }, pub ? [`Published: version ${pub.version} at `, h('a', { href: `/${encodeURIComponent(state.handle)}/p/${encodeURIComponent(pub.slug)}`, target: '_blank', rel: 'noopener' }, `/${state.handle}/p/${pub.slug}`), ` (${String(pub.access || 'FREE_WITH_LOGIN').replace(/_/g, ' ').toLowerCase()}).`] : 'Not published yet.'),
        ),
      );
    } catch (e) {
      if (e.status === 404 && !e.missingRoute) {
        clear(msg, notice('info', h('p', null, 'No structure saved yet: edit the template below and save version 1.')));
      } else clear(msg, errorNotice(e, 'The detail-page structure editor'));
      if (!ta.value) ta.value = template();
    }
    showValidity();
  };
  loadBtn.addEventListener('click', () => busy(loadBtn, 'Loading…', load));
  saveBtn.addEventListener('click', () => {
    const r = showValidity();
    if (r.error) return ta.focus();
    busy(saveBtn, 'Saving…', async () => {
      clear(msg);
      try {
        const out = await PUT(sbase, r.value);
        clear(msg, notice('ok', h('p', null, `Saved version ${out.version}`, out.key ? [' at ', h('code', null, out.key)] : '', '.')));
        announce(`Structure version ${out.version} saved`, 'ok');
      } catch (e) {
        clear(msg, errorNotice(e, 'The detail-page structure editor'));
      }
    });
  });
  pubBtn.addEventListener('click', () =>
    busy(pubBtn, 'Publishing…', async () => {
      clear(msg);
      try {
        const out = await POST(`${sbase}/publish`, {});
        const slug = out?.detailsPageSlug || out?.page?.slug || out?.slug;
        const url = out?.url || (slug ? `/${state.handle}/p/${slug}` : null);
        clear(msg, notice('ok', h('p', null, `Published${out?.version ? ` version ${out.version}` : ''}`, url ? [' at ', h('a', { href: url, target: '_blank', rel: 'noopener' }, url)] : null, ' — visible to signed-in visitors only.')));
        announce('Detail page published', 'ok');
        await onPublished();
      } catch (e) {
        clear(msg, errorNotice(e, 'Publishing'));
      }
    }),
  );
  openBtn.addEventListener('click', async () => {
    const open = body.hidden;
    body.hidden = !open;
    openBtn.setAttribute('aria-expanded', String(open));
    openBtn.textContent = open ? 'Close editor' : 'Open editor';
    if (open && !ta.value) await busy(loadBtn, 'Loading…', load);
  });
  body.append(
    msg,
    field('Structure JSON ({page, schema})', ta),
    status,
    h('div', { class: 'actions wrap' }, h('label', { class: 'inline-field' }, h('span', null, 'Version'), verIn), loadBtn, saveBtn, pubBtn),
  );
  return card(
    'Detail page structure',
    { id: 'structure-card', actions: [openBtn] },
    h('p', { class: 'muted small' }, 'A login-gated detail page for this campaign: every save is a new version; publishing makes the latest one live.'),
    body,
  );
}

// ---------------------------------------------------------------- boot

(function boot() {
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
})();
