// admin.js: the Users page. Lists every account, creates new ones and
// disables or re-enables them. All rendering uses textContent, so names and
// addresses are never interpreted as HTML.

import { api } from './api.js';
import { busy, clearErrors, formValues, showError, showStatus } from './forms.js';
import { el, shell } from './shell.js';

const me = await shell();
const body = document.getElementById('users-body');
const status = document.getElementById('users-status');
const form = document.getElementById('create-user');

async function load() {
  let data;
  try {
    data = await api('GET', '/api/v1/users');
  } catch (err) {
    body.replaceChildren(row([cell(`Could not load users: ${err.message}`, 'muted', 5)]));
    return;
  }
  const users = (data && data.users) || [];
  if (users.length === 0) {
    body.replaceChildren(row([cell('No users yet.', 'muted', 5)]));
    return;
  }
  body.replaceChildren(...users.map(userRow));
}

function userRow(u) {
  const name = cell(u.name || '—');
  if (u.id === me.id) name.append(' ', el('span', { class: 'muted' }, '(you)'));
  const state = el('span', { class: u.disabled ? 'badge badge-off' : 'badge badge-on' }, u.disabled ? 'Disabled' : 'Active');
  const actions = cell('');
  // An admin cannot lock themself out from here; another admin or the CLI can.
  if (u.id !== me.id) {
    const verb = u.disabled ? 'Enable' : 'Disable';
    const button = el('button', { type: 'button', class: u.disabled ? 'btn btn-small' : 'btn btn-small btn-danger' }, verb);
    button.setAttribute('aria-label', `${verb} ${u.email}`);
    button.addEventListener('click', () => toggle(u, button));
    actions.append(button);
  }
  const st = cell('');
  st.append(state);
  return row([name, cell(u.email), cell(u.role), st, actions], u.disabled ? 'is-disabled' : '');
}

async function toggle(u, button) {
  button.disabled = true;
  try {
    const updated = await api('PATCH', `/api/v1/users/${encodeURIComponent(u.id)}`, { disabled: !u.disabled });
    status.textContent = `${updated.email} is now ${updated.disabled ? 'disabled' : 'active'}.`;
    status.className = 'form-status is-ok';
    await load();
    // Keep keyboard users where they were: the row was re-rendered.
    const again = body.querySelector(`button[aria-label$=" ${CSS.escape(updated.email)}"]`);
    if (again) again.focus();
  } catch (err) {
    status.textContent = err.message;
    status.className = 'form-status is-error';
    button.disabled = false;
  }
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors(form);
  const v = formValues(form);
  const missing = [['email', 'Enter an email address.'], ['name', 'Enter a name.'], ['password', 'Enter an initial password.']]
    .find(([k]) => !v[k].trim());
  if (missing) {
    showError(form, { message: missing[1], field: missing[0] });
    return;
  }
  await busy(form, async () => {
    let created;
    try {
      created = await api('POST', '/api/v1/users', { email: v.email.trim(), name: v.name.trim(), role: v.role, password: v.password });
    } catch (err) {
      showError(form, err);
      return;
    }
    form.reset();
    showStatus(form, `Created ${created.email} (${created.role}).`, true);
    await load();
  });
});

function row(cells, cls = '') {
  const tr = document.createElement('tr');
  if (cls) tr.className = cls;
  tr.append(...cells);
  return tr;
}

function cell(text, cls = '', colspan = 0) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  if (colspan) td.colSpan = colspan;
  return td;
}

await load();
