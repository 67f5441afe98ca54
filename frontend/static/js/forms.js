// forms.js: showing API errors on forms. The message goes to the form's live
// region; the field the server names is marked aria-invalid and gets its own
// message, linked with aria-describedby so screen readers read it on focus.

/** clearErrors removes every error mark and message from form. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) {
    el.removeAttribute('aria-invalid');
    const hint = el.dataset.hint || '';
    if (hint) {
      el.setAttribute('aria-describedby', hint);
    } else {
      el.removeAttribute('aria-describedby');
    }
  }
  for (const msg of form.querySelectorAll('.field-error')) {
    msg.remove();
  }
  const status = form.querySelector('.form-status');
  if (status) {
    status.textContent = '';
    status.classList.remove('is-error', 'is-ok');
  }
}

/** showStatus writes a message to the form's live region. */
export function showStatus(form, text, ok = false) {
  const status = form.querySelector('.form-status');
  if (!status) return;
  status.textContent = text;
  status.classList.toggle('is-ok', ok);
  status.classList.toggle('is-error', !ok);
}

/**
 * showError shows err (an ApiError or Error) on form and moves focus to the
 * field it names, or leaves focus where it is when no field is named.
 */
export function showError(form, err) {
  const message = err.message || 'Something went wrong.';
  const name = err.field;
  const input = name ? form.elements.namedItem(name) : null;
  if (!input || !(input instanceof HTMLElement)) {
    showStatus(form, message);
    return;
  }
  // The message goes next to the field only: focus moves there and screen
  // readers read it through aria-describedby, so a second copy in the live
  // region would only be read twice.
  input.setAttribute('aria-invalid', 'true');
  const msg = document.createElement('p');
  msg.className = 'field-error';
  msg.id = `${input.id || name}-error`;
  msg.textContent = message;
  (input.closest('.field') || input.parentElement).append(msg);
  if (input.hasAttribute('aria-describedby') && !input.dataset.hint) {
    input.dataset.hint = input.getAttribute('aria-describedby');
  }
  input.setAttribute('aria-describedby', [input.dataset.hint, msg.id].filter(Boolean).join(' '));
  input.focus();
}

/** formValues returns the named, non-button controls of form as an object. */
export function formValues(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) {
    out[k] = typeof v === 'string' ? v : '';
  }
  return out;
}

/** busy disables form's submit button while fn runs, so a double click sends once. */
export async function busy(form, fn) {
  const button = form.querySelector('[type="submit"]');
  if (button) button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    if (button) button.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

/**
 * showProblems shows an error that may list several problems
 * (err.problems, [{where, message}]): each problem whose where names a
 * control of form (controls are named by the API's field paths, such as
 * "images.count") is marked on that control, and the form's live region
 * lists them all. Focus moves to the first marked control. Without a list
 * it is showError.
 */
export function showProblems(form, err) {
  const problems = (err && err.problems) || [];
  if (problems.length <= 1) {
    showError(form, problems.length === 1 && !err.field ? { message: err.message, field: problems[0].where } : err);
    return;
  }
  let first = null;
  for (const p of problems) {
    const input = p.where ? form.elements.namedItem(p.where) : null;
    if (!(input instanceof HTMLElement) || input.getAttribute('aria-invalid') === 'true') continue;
    markField(input, p.where, capitalize(p.message));
    first = first || input;
  }
  const status = form.querySelector('.form-status');
  if (status) {
    status.replaceChildren(document.createTextNode(err.message), problemList(problems));
    status.classList.add('is-error');
    status.classList.remove('is-ok');
  }
  if (first) first.focus();
}

/** problemList renders [{where, message}] as a list, where first. */
export function problemList(problems) {
  const ul = document.createElement('ul');
  ul.className = 'problems';
  for (const p of problems) {
    const li = document.createElement('li');
    if (p.where) {
      const w = document.createElement('code');
      w.textContent = p.where;
      li.append(w, ': ');
    }
    li.append(p.message);
    ul.append(li);
  }
  return ul;
}

function markField(input, name, message) {
  input.setAttribute('aria-invalid', 'true');
  const msg = document.createElement('p');
  msg.className = 'field-error';
  msg.id = `${input.id || name.replace(/\W/g, '-')}-error`;
  msg.textContent = message;
  (input.closest('.field') || input.closest('td') || input.parentElement).append(msg);
  if (input.hasAttribute('aria-describedby') && !input.dataset.hint) {
    input.dataset.hint = input.getAttribute('aria-describedby');
  }
  input.setAttribute('aria-describedby', [input.dataset.hint, msg.id].filter(Boolean).join(' '));
}

function capitalize(text) {
  const t = String(text || '');
  return t.charAt(0).toUpperCase() + t.slice(1);
}
