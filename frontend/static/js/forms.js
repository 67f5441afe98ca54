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
