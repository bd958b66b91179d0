// A link's QR code (GET …/links/{slug}/qr): shown on demand under the link,
// with a download of the SVG. The route needs the bearer token, so the image
// is fetched through the API client and shown from an object URL (an <img>,
// so nothing in the document can run script).
import { FILE, seg } from '../api.js';
import { h, clear, errorNotice, announce, busy, saveFile } from '../ui.js';
import { base } from '../state.js';

const SIZE = 256;

/** → {button, figure}: the toggle for the link's row and the figure it fills. */
export function qrToggle(link) {
  const figure = h('figure', { class: 'qr', hidden: true, dataset: { qr: link.slug } });
  const button = h('button', { type: 'button', class: 'btn btn-ghost btn-sm', 'aria-expanded': 'false', 'aria-label': `QR code of ${link.shortUrl}` }, 'QR');
  let file = null;
  let url = null;
  const show = async () => {
    clear(figure, h('p', { class: 'loading small' }, 'Loading QR code…'));
    try {
      file = await FILE(`${base()}/links/${seg(link.slug)}/qr`, { size: SIZE }, `${link.slug}-qr.svg`);
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(file.blob);
      const save = h('button', { type: 'button', class: 'btn btn-secondary btn-sm' }, 'Download SVG');
      save.addEventListener('click', () => {
        saveFile(file.blob, `${link.slug}-qr.svg`);
        announce(`Downloading ${link.slug}-qr.svg`, 'ok');
      });
      clear(
        figure,
        h('img', { src: url, width: SIZE, height: SIZE, alt: `QR code of ${link.shortUrl} (scans count as source “qr”)` }),
        h('figcaption', { class: 'small muted' }, 'Scans open ', h('span', { class: 'mono' }, link.shortUrl), ' and count as source “qr”. ', save),
      );
    } catch (e) {
      clear(figure, errorNotice(e, 'QR codes'));
    }
  };
  button.addEventListener('click', () =>
    busy(button, null, async () => {
      const open = figure.hidden;
      figure.hidden = !open;
      button.setAttribute('aria-expanded', String(open));
      if (open) await show();
    }),
  );
  return { button, figure };
}
