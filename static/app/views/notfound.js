// Any hash route the router does not know.
import { h, clear } from '../ui.js';
import { view, pageHead } from '../components.js';

export function render() {
  clear(view, pageHead('Not found', 'There is no such page in the dashboard.'), h('p', null, h('a', { href: '#/campaigns' }, 'Go to campaigns')));
}
