// Small DOM helpers: element builder, formatting, status announcements.

/**
 * h('button', {class:'btn', onclick: fn, type:'button'}, 'Text', child, [more])
 * Strings become text nodes (never HTML); null/false children are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  let value;
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value' && (tag === 'input' || tag === 'textarea' || tag === 'select')) value = v;
      else if (k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden' || k === 'required' || k === 'readOnly' || k === 'multiple') el[k] = !!v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  if (value !== undefined) el.value = value;
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
export const nextId = (p = 'f') => `${p}-${++uid}`;

/** A labelled form field. `control` is an element; returns the wrapper. */
export function field(label, control, hint) {
  if (!control.id) control.id = nextId('in');
  const hintEl = hint ? h('span', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

export function checkbox(label, attrs = {}) {
  const input = h('input', { type: 'checkbox', ...attrs });
  return { input, el: h('label', { class: 'check' }, input, h('span', null, label)) };
}

const nf = new Intl.NumberFormat('en-US');
export const fmtInt = (n) => (typeof n === 'number' && Number.isFinite(n) ? nf.format(n) : '—');

export function fmtMoney(v, currency = 'USD') {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  try {
    // The currency's own minor units, always shown: $32,415.80, ¥3,200, KWD 1.500.
    const cur = currency || 'USD';
    const digits = new Intl.NumberFormat('en-US', { style: 'currency', currency: cur }).resolvedOptions().maximumFractionDigits;
    return new Intl.NumberFormat('en-US', { style: 'currency', currency: cur, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  } catch {
    return `${v.toFixed(2)} ${currency || ''}`.trim();
  }
}

export function fmtPct(r, digits = 1) {
  if (typeof r !== 'number' || !Number.isFinite(r)) return '—';
  return `${(r * 100).toFixed(digits)}%`;
}

export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString('en-GB', { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }) + ' UTC';
}

export function fmtRelative(iso) {
  if (!iso) return 'never';
  const ms = Date.now() - new Date(iso).getTime();
  if (!Number.isFinite(ms)) return String(iso);
  const s = Math.round(ms / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** Badge for a status word (ACTIVE, PAUSED, PASS, FAIL, READY…). */
export function badge(word, extra = '') {
  const w = String(word || '').toUpperCase();
  const tone =
    {
      ACTIVE: 'ok', RUNNING: 'ok', ENABLED: 'ok', PASS: 'ok', READY: 'ok', FIRED: 'ok', DELIVERED: 'ok', SUCCESS: 'ok', SUCCEEDED: 'ok',
      DRAFT: 'neutral', DISABLED: 'neutral', SKIPPED: 'neutral', SHADOWED: 'neutral', PENDING: 'neutral',
      PAUSED: 'warn', STOPPED: 'warn', WARN: 'warn', CONCLUDED: 'info', NO_MATCH: 'neutral', RETRYING: 'warn',
      FAIL: 'bad', NOT_READY: 'bad', FAILED: 'bad', ERROR: 'bad',
    }[w] || 'neutral';
  return h('span', { class: `badge badge-${tone} ${extra}`.trim() }, w.replace(/_/g, ' '));
}

/** An inline message box; kind: error | ok | info. */
export function notice(kind, ...content) {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...content);
}

/** The API's error message, with a hint for routes not on this server yet. */
export function errorNotice(err, what) {
  if (err?.name === 'AbortError') return null;
  const code = err?.code ? h('code', { class: 'err-code' }, err.code) : null;
  const msg = err?.message || String(err);
  const extra = err?.missingRoute ? h('p', { class: 'muted small' }, `${what ? what + ' is' : 'This feature is'} not available on this server yet.`) : null;
  return notice('error', h('p', null, code, code ? ' ' : null, msg), extra);
}

let toastTimer;
/** Announce a short status message (aria-live region). */
export function announce(message, kind = 'info') {
  const t = document.getElementById('toast');
  if (!t) return;
  t.textContent = message;
  t.dataset.kind = kind;
  t.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove('show'), kind === 'error' ? 7000 : 3500);
}

/** Disable a button with a busy label while `fn` runs. */
export async function busy(button, label, fn) {
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (label) button.textContent = label;
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    button.textContent = old;
  }
}

/** Copy text to the clipboard; falls back to a hidden textarea + execCommand. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall through */
  }
  const ta = h('textarea', { readonly: true, class: 'offscreen', 'aria-hidden': 'true' });
  ta.value = text;
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

/** A button that asks for a second click before running a destructive action. */
export function confirmButton(label, confirmLabel, onConfirm, cls = 'btn btn-danger btn-sm') {
  let armed = false;
  let timer;
  const b = h('button', { type: 'button', class: cls }, label);
  b.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      b.textContent = confirmLabel;
      b.classList.add('armed');
      timer = setTimeout(() => {
        armed = false;
        b.textContent = label;
        b.classList.remove('armed');
      }, 4000);
      return;
    }
    clearTimeout(timer);
    armed = false;
    b.classList.remove('armed');
    b.textContent = label;
    await onConfirm(b);
  });
  return b;
}

/** Split "a, b c" into ["a","b","c"]. */
export const splitList = (s) =>
  String(s || '')
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * A small data table. cols: [{label, get(row) → string|Node, num?, short?}];
 * null columns are left out; `short` is the header phones show (screen
 * readers still read `label`).
 */
export function dataTable(caption, allCols, rows, { empty = 'No data yet.' } = {}) {
  const cols = allCols.filter(Boolean);
  if (!rows.length) return h('p', { class: 'muted small empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'data' },
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.short ? [h('span', { class: 'th-long' }, c.label), h('span', { class: 'th-short', 'aria-hidden': 'true' }, c.short)] : c.label)))),
      h('tbody', null, rows.map((r) => h('tr', null, cols.map((c, i) => h(i === 0 ? 'th' : 'td', { scope: i === 0 ? 'row' : null, class: c.num ? 'num' : null }, c.get(r)))))),
    ),
  );
}

/** "click_seen" → "Click seen". */
export const humanize = (s) => String(s).replace(/_/g, ' ').replace(/^./, (x) => x.toUpperCase());

/** Hand a Blob to the browser as a download named `filename` (an object URL on a temporary link). */
export function saveFile(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: filename, class: 'offscreen', 'aria-hidden': 'true' });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
