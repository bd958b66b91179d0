// The "Detail page structure" card: edit, validate, save (each save is a new
// version) and publish the campaign's login-gated detail page.
import { GET, PUT, POST, seg, session } from '../api.js';
import { structureLimit } from '../meta.js';
import { h, clear, field, fmtInt, notice, errorNotice, announce, busy } from '../ui.js';
import { card } from '../components.js';
import { state, base } from '../state.js';

/** `c` the campaign, `cbase` its API path, `onPublished` runs after a publish. */
export function structureCard(c, cbase, onPublished) {
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
    const limit = structureLimit();
    if (limit && bytes > limit) return { error: `Too large: ${fmtInt(bytes)} bytes (limit ${fmtInt(limit / 1024)} KiB).` };
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
        clear(msg, notice('info', h('p', { dataset: { structure: 'none' } }, 'No structure yet: edit the template below and save version 1.')));
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
        session.set(savedKey, '1');
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
  // A campaign without a structure is the normal start: the GET would answer
  // 404, which the browser logs as a console error. So the editor fetches only
  // when a structure is known to exist (published, or saved from this tab);
  // otherwise it says "No structure yet" and starts from the template. Load
  // still fetches on request (and treats a 404 as "none yet").
  const savedKey = `edge-funnel.structure.${state.handle}.${c.campaignId}`;
  const known = () => !!c.detailsPageSlug || session.get(savedKey) === '1';
  const none = () => {
    clear(msg, notice('info', h('p', { dataset: { structure: 'none' } }, 'No structure yet: edit the template below and save version 1.'), h('p', { class: 'small' }, 'Saved one earlier without publishing it? Press Load to fetch the latest version.')));
    if (!ta.value) ta.value = template();
    showValidity();
  };
  openBtn.addEventListener('click', async () => {
    const open = body.hidden;
    body.hidden = !open;
    openBtn.setAttribute('aria-expanded', String(open));
    openBtn.textContent = open ? 'Close editor' : 'Open editor';
    if (open && !ta.value) {
      if (known()) await busy(loadBtn, 'Loading…', load);
      else none();
    }
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
