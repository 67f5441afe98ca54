// login.js: the sign-in form. On success the server sets the session cookie
// and the browser goes to ?next= (same-origin paths only) or to "/", which
// the server redirects to the home page of the user's role.

import { api } from './api.js';
import { busy, clearErrors, formValues, showError } from './forms.js';
import { safeNext } from './next.js';

const form = document.getElementById('login-form');
const params = new URLSearchParams(window.location.search);

const notices = {
  loggedout: 'You have been logged out.',
  changed: 'Your password was changed. Sign in with the new one.',
};
for (const [key, text] of Object.entries(notices)) {
  if (params.has(key)) {
    const notice = document.getElementById('login-notice');
    notice.textContent = text;
    notice.hidden = false;
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors(form);
  const { email, password } = formValues(form);
  if (!email.trim()) {
    showError(form, { message: 'Enter your email address.', field: 'email' });
    return;
  }
  if (!password) {
    showError(form, { message: 'Enter your password.', field: 'password' });
    return;
  }
  await busy(form, async () => {
    try {
      await api('POST', '/api/v1/login', { email: email.trim(), password });
    } catch (err) {
      if (err.status === 429) {
        const wait = Number.parseInt(err.retryAfter || '', 10);
        err.message = Number.isFinite(wait) && wait > 0
          ? `Too many sign-in attempts. Try again in ${wait} second${wait === 1 ? '' : 's'}.`
          : 'Too many sign-in attempts. Try again in a minute.';
        err.field = '';
      } else if (err.status === 401) {
        // Name no field: saying which of the two was wrong would tell an
        // attacker which addresses have accounts.
        err.message = err.message || 'Email or password is incorrect.';
        err.field = '';
      }
      showError(form, err);
      form.elements.namedItem('password').select();
      return;
    }
    window.location.assign(safeNext(params.get('next')));
  });
});

// Marks the form as handled by this script: a submit before this point would
// be a plain form post, so browser tests wait for it before typing.
form.dataset.ready = 'true';
