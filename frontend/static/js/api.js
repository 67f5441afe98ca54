// api.js: the one place that talks to the JSON API. The session lives in an
// HttpOnly cookie, so every request goes same-origin with credentials and no
// token ever reaches JavaScript.

/** ApiError carries the server's {"error":{"code","message","field"}} body. */
export class ApiError extends Error {
  constructor(status, code, message, field = '', retryAfter = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

/**
 * api sends one JSON request and returns the decoded body (null for 204).
 * Any non-2xx answer becomes an ApiError with the server's message, or a
 * plain-language one when the body is not the API's error shape.
 */
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'Could not reach the server. Check the connection and try again.');
  }
  let data = null;
  if (res.status !== 204 && (res.headers.get('Content-Type') || '').includes('json')) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (res.status === 401 && path !== '/api/v1/login') {
    // The session ended (expired, revoked by a password change elsewhere,
    // account disabled): every page's only way on is signing in again.
    window.location.replace(loginURL());
    return new Promise(() => {}); // the page is being replaced
  }
  if (!res.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(res.status, e.code || `http_${res.status}`, sentence(e.message) || fallbackMessage(res.status),
      e.field || '', res.headers.get('Retry-After'));
  }
  return data;
}

/** loginURL is the sign-in page that comes back to the current page. */
export function loginURL() {
  const here = window.location.pathname + window.location.search;
  return `/login?next=${encodeURIComponent(here)}`;
}

// sentence shows a server message ("wrong email or password", written for
// logs and API clients) as a sentence on the page.
function sentence(message) {
  if (typeof message !== 'string' || message === '') return '';
  const text = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function fallbackMessage(status) {
  if (status === 401) return 'Your session has ended. Please sign in again.';
  if (status === 403) return 'You do not have permission to do that.';
  if (status === 404) return 'Not found.';
  if (status === 429) return 'Too many attempts. Please wait and try again.';
  if (status >= 500) return 'The server had a problem. Please try again.';
  return `Request failed (${status}).`;
}
