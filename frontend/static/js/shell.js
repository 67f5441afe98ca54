// shell.js: the header every signed-in page shares. It asks the API who is
// signed in, renders the links that user's role may follow, the e-mail
// address, "Change password" and "Log out". A page module awaits shell() and
// gets the user back, or never resumes when the visitor is sent to /login.

import { api } from './api.js';
import { busy, clearErrors, formValues, showError } from './forms.js';

// Which sections each role may open; the server enforces the same rules.
const LINKS = {
  admin: [['/admin', 'Users'], ['/lead', 'Campaigns'], ['/annotate', 'Rate']],
  lead: [['/lead', 'Campaigns'], ['/annotate', 'Rate']],
  annotator: [['/annotate', 'Rate']],
};

/** shell renders the header and resolves to the signed-in user. */
export async function shell() {
  let user;
  try {
    // A 401 never comes back here: api() sends the browser to /login.
    user = await api('GET', '/api/v1/me');
  } catch (err) {
    renderFailure(err);
    throw err;
  }
  renderNav(user);
  renderAccount(user);
  return user;
}

function renderNav(user) {
  const nav = document.getElementById('mainnav');
  if (!nav) return;
  const list = document.createElement('ul');
  for (const [href, label] of LINKS[user.role] || []) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = href;
    a.textContent = label;
    if (window.location.pathname === href) a.setAttribute('aria-current', 'page');
    li.append(a);
    list.append(li);
  }
  nav.replaceChildren(list);
}

function renderAccount(user) {
  const box = document.getElementById('account');
  if (!box) return;
  const who = document.getElementById('account-email');
  who.textContent = user.email;
  who.title = `${user.name || user.email} (${user.role})`;
  const role = document.getElementById('account-role');
  if (role) role.textContent = user.role;
  box.hidden = false;
  document.getElementById('logout').addEventListener('click', logout);
  document.getElementById('change-password-open').addEventListener('click', openPasswordDialog);
}

async function logout(event) {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    await api('POST', '/api/v1/logout');
  } catch {
    // Leaving anyway is right: the login page works whatever state the
    // session was in, and staying would look like a broken button.
  }
  window.location.assign('/login?loggedout=1');
}

function openPasswordDialog() {
  const dialog = passwordDialog();
  const form = dialog.querySelector('form');
  form.reset();
  clearErrors(form);
  dialog.showModal();
  form.elements.namedItem('current_password').focus();
}

// passwordDialog builds the dialog on first use; building it here rather than
// in every page keeps the pages short and the markup in one place.
function passwordDialog() {
  let dialog = document.getElementById('password-dialog');
  if (dialog) return dialog;
  dialog = el('dialog', { id: 'password-dialog', class: 'dialog', 'aria-labelledby': 'password-dialog-title' });
  const form = el('form', { novalidate: '' });
  // Password managers pair a new password with the account it belongs to
  // through a username field; it is hidden because the header shows it.
  const username = el('input', { type: 'email', name: 'username', autocomplete: 'username', hidden: '', tabindex: '-1' });
  // The attribute, not the property, so that form.reset() keeps it.
  username.setAttribute('value', document.getElementById('account-email')?.textContent || '');
  form.append(
    el('h2', { id: 'password-dialog-title' }, 'Change password'),
    username,
    field('pw-current', 'current_password', 'Current password', 'current-password'),
    field('pw-new', 'new_password', 'New password', 'new-password'),
    field('pw-confirm', 'confirm_password', 'Repeat the new password', 'new-password'),
    el('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' }),
  );
  const cancel = el('button', { type: 'button', class: 'btn' }, 'Cancel');
  cancel.addEventListener('click', () => dialog.close());
  const actions = el('div', { class: 'actions' });
  actions.append(cancel, el('button', { type: 'submit', class: 'btn btn-primary' }, 'Change password'));
  form.append(actions);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    changePassword(form, dialog);
  });
  dialog.append(form);
  document.body.append(dialog);
  return dialog;
}

async function changePassword(form, dialog) {
  clearErrors(form);
  const v = formValues(form);
  if (!v.current_password) {
    showError(form, { message: 'Enter your current password.', field: 'current_password' });
    return;
  }
  if (!v.new_password) {
    showError(form, { message: 'Enter a new password.', field: 'new_password' });
    return;
  }
  if (v.new_password !== v.confirm_password) {
    showError(form, { message: 'The two new passwords differ.', field: 'confirm_password' });
    return;
  }
  await busy(form, async () => {
    try {
      await api('POST', '/api/v1/me/password', { current_password: v.current_password, new_password: v.new_password });
    } catch (err) {
      showError(form, err);
      return;
    }
    // A password change revokes older tokens; when the server does not
    // hand this browser a new one, the next step is signing in again.
    const check = await fetch('/api/v1/me', { credentials: 'same-origin' }).catch(() => null);
    if (!check || check.status === 401) {
      window.location.assign('/login?changed=1');
      return;
    }
    form.reset();
    dialog.close();
    announce('Password changed. Other sessions of this account have been signed out.');
  });
}

/** announce shows a short confirmation at the top of the page and reads it to screen readers. */
export function announce(text) {
  let box = document.getElementById('shell-notice');
  if (!box) {
    box = el('p', { id: 'shell-notice', class: 'notice notice-ok', role: 'status' });
    const main = document.getElementById('main');
    main.prepend(box);
  }
  box.textContent = text;
}

function field(id, name, label, autocomplete) {
  const wrap = el('div', { class: 'field' });
  wrap.append(
    el('label', { for: id }, label),
    el('input', { id, name, type: 'password', autocomplete, required: '' }),
  );
  return wrap;
}

function renderFailure(err) {
  const main = document.getElementById('main');
  if (!main) return;
  const box = el('div', { class: 'notice notice-error', role: 'alert' }, `Could not load your account: ${err.message}`);
  main.prepend(box);
}

/** el creates an element with attributes and optional text. */
export function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
