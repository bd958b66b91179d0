// The links card: list (copy, edit, delete) and the create/edit form. On a
// campaign page it is scoped to that campaign and can set its primary link;
// on the Links page it has a campaign filter.
import { GET, PUT, DEL, seg } from '../api.js';
import { trackingModes } from '../meta.js';
import { h, clear, field, checkbox, notice, errorNotice, announce, busy, copyText, confirmButton } from '../ui.js';
import { card } from '../components.js';
import { base } from '../state.js';
import { qrToggle } from './qr.js';

const MODE_LABELS = {
  DIRECT: 'Direct — full click record',
  AGGREGATE_ONLY: 'Aggregate only — counters, no per-click row',
  OFF: 'Off — nothing recorded',
};

/**
 * Link list + create/edit form. With `campaign` (a getter), scoped to that
 * campaign; otherwise with a campaign filter.
 */
export function linksPanel({ campaign, onPrimary } = {}) {
  const scoped = !!campaign;
  const msg = h('div', { class: 'form-msg' });
  const list = h('div', { class: 'link-list' });
  const filterSel = h('select', { 'aria-label': 'Filter by campaign' }, h('option', { value: '' }, 'All campaigns'));
  let campaigns = [];

  // form
  const slugIn = h('input', { type: 'text', required: true, spellcheck: 'false', autocomplete: 'off', placeholder: 'spring-promo', maxlength: 64 });
  const destIn = h('input', { type: 'url', required: true, placeholder: 'https://shop.example.com/spring', spellcheck: 'false' });
  const campSel = h('select', null, h('option', { value: '' }, '— none —'));
  const modeSel = h('select', null, trackingModes().map((v) => h('option', { value: v }, MODE_LABELS[v] || v)));
  const appendCb = checkbox('Append context (click-id) parameter', { checked: true });
  const paramIn = h('input', { type: 'text', value: 'ctx', maxlength: 32, spellcheck: 'false', autocomplete: 'off', size: 8 });
  const fwdCb = checkbox("Forward the visitor's query parameters", { checked: true });
  const primaryCb = checkbox("Make this the campaign's primary link", {});
  // Link controls: expiry (local time in the form, UTC on the wire) and a write-only password.
  const expIn = h('input', { type: 'datetime-local', step: 60 });
  const expUrlIn = h('input', { type: 'url', placeholder: 'https://shop.example.com/sold-out', spellcheck: 'false' });
  const pwIn = h('input', { type: 'password', autocomplete: 'new-password', minlength: 4, maxlength: 128 });
  const pwRemove = checkbox('Remove the password', {});
  pwRemove.el.hidden = true;
  const localInput = (iso) => {
    if (!iso) return '';
    const d = new Date(iso);
    return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  };
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
    field('Expires (your local time)', expIn, 'Optional. After it the link stops redirecting to its destination.'),
    field('After expiry, send visitors to', expUrlIn, 'Optional; without it an expired link shows "expired" (410).'),
    field('Password', pwIn, 'Optional, 4–128 characters. Visitors must enter it (their browser is then let through for a day, until the password changes); it is stored only as a salted hash. Leave empty to keep the current one.'),
    h('div', { class: 'span-all checks-row' }, appendCb.el, fwdCb.el, pwRemove.el, scoped ? primaryCb.el : null),
    h('div', { class: 'span-all' }, formMsg),
    h('div', { class: 'span-all actions' }, submit, cancel),
  );
  const resetForm = () => {
    form.reset();
    slugIn.readOnly = false;
    appendCb.input.checked = true;
    fwdCb.input.checked = true;
    paramIn.value = 'ctx';
    pwRemove.el.hidden = true;
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
    expIn.value = localInput(l.expiresAt);
    expUrlIn.value = l.expiredUrl || '';
    pwIn.value = '';
    pwRemove.input.checked = false;
    pwRemove.el.hidden = !l.passwordProtected;
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
    if (expIn.value) body.expiresAt = new Date(expIn.value).toISOString();
    if (expUrlIn.value.trim()) body.expiredUrl = expUrlIn.value.trim();
    if (pwIn.value) body.password = pwIn.value;
    else if (!pwRemove.el.hidden && pwRemove.input.checked) body.password = null;
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
    const qr = qrToggle(l);
    const tp = l.trackingPolicy || {};
    const c = campaign?.();
    const notTracking = notTrackingReason(l);
    return h(
      'li',
      { class: 'link-item', dataset: { slug: l.slug } },
      h(
        'div',
        { class: 'link-main' },
        h('div', { class: 'link-title' }, h('strong', null, `/${l.slug}`), c && c.primarySlug === l.slug ? h('span', { class: 'badge badge-info' }, 'PRIMARY') : null, h('span', { class: 'badge badge-neutral' }, (tp.mode || 'DIRECT').replace('_', ' ')), notTracking ? h('span', { class: 'badge badge-warn', title: notTracking }, 'NOT TRACKING') : null, ...controlBadges(l)),
        notTracking ? h('div', { class: 'small not-tracking', dataset: { notTracking: '' } }, notTracking) : null,
        h('div', { class: 'short-url' }, h('a', { href: l.shortUrl, target: '_blank', rel: 'noopener', class: 'mono' }, l.shortUrl)),
        h('div', { class: 'muted small dest', title: l.destinationUrl }, '→ ', l.destinationUrl),
        !scoped && l.campaignId ? h('div', { class: 'small' }, 'Campaign ', h('a', { href: `#/campaigns/${encodeURIComponent(l.campaignId)}` }, l.campaignId)) : null,
        qr.figure,
      ),
      h('div', { class: 'link-actions' }, copyBtn, qr.button, editBtn, delBtn),
    );
  };

  /**
   * Why a link records nothing, or null: tracking mode OFF, or its campaign is
   * not ACTIVE (the campaign from the page, or from the loaded campaign list).
   */
  const notTrackingReason = (l) => {
    if ((l.trackingPolicy || {}).mode === 'OFF') return 'Tracking mode OFF: clicks are not recorded and no click id is added.';
    if (!l.campaignId) return null;
    const c = scoped ? campaign() : campaigns.find((x) => x.campaignId === l.campaignId);
    if (!c || !c.status || c.status === 'ACTIVE') return null;
    return `Campaign ${c.status}: clicks are not recorded and no click id is added.`;
  };

  /** PASSWORD, and EXPIRES/EXPIRED with the time (the fallback URL in the tooltip). */
  const controlBadges = (l) => {
    const out = [];
    if (l.passwordProtected) out.push(h('span', { class: 'badge badge-info', title: 'Visitors enter a password first' }, 'PASSWORD'));
    if (l.expiresAt) {
      const past = new Date(l.expiresAt).getTime() <= Date.now();
      const when = new Date(l.expiresAt).toLocaleString();
      const then = l.expiredUrl ? `then → ${l.expiredUrl}` : 'then "expired" (410)';
      out.push(h('span', { class: `badge ${past ? 'badge-warn' : 'badge-neutral'}`, title: `${past ? 'Expired' : 'Expires'} ${when}, ${then}` }, past ? 'EXPIRED' : `EXPIRES ${when}`));
    }
    return out;
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
        if (campaigns.some((c) => c.status && c.status !== 'ACTIVE') && ul.children.length) await reload(); // the NOT TRACKING badges
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
