// The signed-in session: the decoded token, the handle being managed, a
// message carried to the next view, and sign-in / sign-out.
import { decodeJwt, session, seg } from './api.js';
import { roleAtLeast } from './meta.js';
import { h, notice } from './ui.js';

export const state = {
  auth: null, // {token, claims, handles}
  handle: null,
  devSignIn: null, // null unknown, true/false after probing
  flash: null, // message carried to the next view
  navigated: false,
};

/** The API path of the current handle. */
export const base = () => `/v2/handles/${seg(state.handle)}`;
/** The signed-in role on the current handle. */
export const role = () => state.auth?.handles?.[state.handle] || '';
export const atLeast = (min) => roleAtLeast(role(), min);

// The router and the top bar register themselves here (see main.js).
const hooks = { session: () => {}, render: () => {} };
export function bindShell({ session: s, render: r }) {
  if (s) hooks.session = s;
  if (r) hooks.render = r;
}
/** Render the current route again. */
export const rerender = () => hooks.render();

export function signIn(token, preferredHandle) {
  const auth = decodeJwt(token);
  session.token = auth.token;
  state.auth = auth;
  const hs = Object.keys(auth.handles);
  const stored = preferredHandle || session.handle;
  state.handle = hs.includes(stored) ? stored : hs[0];
  session.handle = state.handle;
  hooks.session();
}

export function signOut(message) {
  session.token = null;
  state.auth = null;
  state.handle = null;
  hooks.session();
  state.flash = message ? { kind: 'error', text: message } : null;
  if (location.hash && location.hash !== '#/') history.replaceState(null, '', location.pathname);
  hooks.render();
}

/** The message left for this view by the previous one, as a notice (once). */
export function takeFlash() {
  const f = state.flash;
  state.flash = null;
  if (!f) return null;
  return notice(f.kind, ...(Array.isArray(f.content) ? f.content : [h('p', null, f.text)]));
}
