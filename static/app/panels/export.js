// The campaign's export card: its click and conversion ledgers as CSV
// (GET …/clicks.csv, …/conversions.csv), optionally limited to a time range.
// The routes need the bearer token, so the file is fetched through the API
// client and handed to the browser from an object URL.
import { FILE } from '../api.js';
import { h, clear, field, errorNotice, announce, busy, saveFile } from '../ui.js';
import { card } from '../components.js';

/** "2026-12-07T10:00" (a datetime-local value, read as UTC) → RFC 3339, or undefined. */
const utc = (v) => (v ? new Date(`${v}:00Z`).toISOString() : undefined);

/** `cbase` is the campaign's API path, `campaignId` its id (for fallback file names). */
export function exportCard(cbase, campaignId) {
  const from = h('input', { type: 'datetime-local', step: 60 });
  const to = h('input', { type: 'datetime-local', step: 60 });
  const msg = h('div', { class: 'form-msg', 'aria-live': 'polite' });
  const button = (what, label) => {
    const b = h('button', { type: 'button', class: 'btn btn-secondary', dataset: { export: what } }, label);
    b.addEventListener('click', () =>
      busy(b, 'Preparing…', async () => {
        clear(msg);
        try {
          const { blob, filename } = await FILE(`${cbase}/${what}.csv`, { from: utc(from.value), to: utc(to.value) }, `${campaignId}-${what}.csv`);
          saveFile(blob, filename);
          announce(`Downloading ${filename}`, 'ok');
        } catch (e) {
          clear(msg, errorNotice(e, 'CSV export'));
          announce(`Export failed: ${e.message}`, 'error');
        }
      }),
    );
    return b;
  };
  return card(
    'Export',
    { id: 'export-card' },
    h('p', { class: 'muted small' }, 'The raw ledger as CSV: one row per click (bots included and marked; links that keep only hourly counts have no rows) or per conversion (test ones marked). Leave the range empty for everything.'),
    h('div', { class: 'export-range' }, field('From (UTC, optional)', from), field('To (UTC, optional)', to)),
    h('div', { class: 'actions' }, button('clicks', 'Export clicks (CSV)'), button('conversions', 'Export conversions (CSV)')),
    msg,
  );
}
