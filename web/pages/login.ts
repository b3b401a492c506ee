/** The login form (a 401 from any call shows it) and the header's "Log out" button. */
import { api } from '../api';
import { h, replace, toast } from '../dom';
import { breadcrumbs, errorText, leaveView, main } from '../page';

/** Shows the login form; `next` shows the view the hash names once logged in. */
export function loginPage(next: () => Promise<void>): void {
  leaveView();
  breadcrumbs(['Log in', undefined]);
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'message', role: 'alert' });
  const form = h(
    'form',
    {
      class: 'login',
      onsubmit: (e: Event) => {
        e.preventDefault();
        api('POST /api/login', { body: { token: input.value } })
          .then(() => {
            offerLogout(next);
            return next();
          })
          .catch((error: unknown) => {
            message.className = 'message error';
            message.textContent = errorText(error);
            input.setAttribute('aria-invalid', 'true');
          });
      },
    },
    h('h1', {}, 'Log in'),
    h('p', {}, 'This dashboard needs its access token (the --token given to tailslide ui).'),
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Log in'),
    message,
  );
  replace(main, form);
  input.focus();
}

/** With a token, a "Log out" button in the header (asked beside the first view, not before it). */
export function offerLogout(next: () => Promise<void>): void {
  api('GET /api/session')
    .then((session) => {
      document.getElementById('logout')?.remove();
      if (!session.tokenRequired || !session.authenticated) return;
      const button = h(
        'button',
        {
          type: 'button',
          id: 'logout',
          class: 'logout',
          onclick: () => {
            api('POST /api/logout')
              .then(() => {
                button.remove();
                loginPage(next);
              })
              .catch((error: unknown) => toast(errorText(error)));
          },
        },
        'Log out',
      );
      document.querySelector('header.top')?.append(button);
    })
    .catch(() => undefined);
}
