// Sign in with a JWT, or (local development only) with the dev button.
import { request } from '../api.js';
import { h, clear, field, notice, errorNotice, announce, busy } from '../ui.js';
import { view } from '../components.js';
import { state, signIn, takeFlash, rerender } from '../state.js';

export async function render() {
  document.title = 'Sign in · edge-funnel';
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
      else rerender();
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
        else rerender();
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
