// The Links page: every short link of the handle, with a campaign filter.
import { clear } from '../ui.js';
import { view, pageHead } from '../components.js';
import { state } from '../state.js';
import { linksPanel } from '../panels/links.js';

export async function render() {
  document.title = `Links · @${state.handle} · edge-funnel`;
  const panel = linksPanel();
  clear(view, pageHead('Links', `Short links of @${state.handle}: ${location.origin}/${state.handle}/{slug}, or https://{host}/{slug} on a branded host (Hosts).`), panel.card);
  await panel.reload();
}
