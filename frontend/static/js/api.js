// api.js: the one place that talks to the JSON API. The session lives in an
// HttpOnly cookie, so every request goes same-origin with credentials and no
// token ever reaches JavaScript.

/**
 * ApiError carries the server's {"error":{"code","message","field","problems"}}
 * body; problems lists every problem of an invalid input as {where, message}.
 */
export class ApiError extends Error {
  constructor(status, code, message, field = '', retryAfter = null, problems = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
    this.problems = problems;
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
    throw errorOf(res.status, data, res.headers.get('Retry-After'));
  }
  return data;
}

function errorOf(status, data, retryAfter) {
  const e = (data && data.error) || {};
  const problems = Array.isArray(e.problems) ? e.problems : [];
  // With a list of problems the message repeats them all on one line;
  // the list is what the page shows, so the message becomes a summary.
  const counted = /(\d+) problems/.exec(typeof e.message === 'string' ? e.message : '');
  const n = Math.max(problems.length, counted ? Number(counted[1]) : 0);
  let message = sentence(e.message) || fallbackMessage(status);
  if (problems.length > 1) {
    message = n > problems.length
      ? `${n} problems (the first ${problems.length} are listed); nothing was changed.`
      : `${n} problems; nothing was changed.`;
  }
  return new ApiError(status, e.code || `http_${status}`, message, e.field || '', retryAfter, problems);
}

/**
 * upload POSTs a FormData body with XMLHttpRequest, whose upload events
 * (unlike fetch's) report progress: onProgress(sentBytes, totalBytes) is
 * called as the bytes go out. It resolves to the decoded JSON answer and
 * rejects with an ApiError as api() does.
 */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded, event.total);
    });
    xhr.addEventListener('error', () => reject(new ApiError(0, 'network', 'Could not reach the server. Check the connection and try again.')));
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'aborted', 'The upload was cancelled.')));
    xhr.addEventListener('load', () => {
      let data = null;
      if ((xhr.getResponseHeader('Content-Type') || '').includes('json')) {
        try {
          data = JSON.parse(xhr.responseText);
        } catch {
          data = null;
        }
      }
      if (xhr.status === 401) {
        window.location.replace(loginURL());
        return; // the page is being replaced
      }
      if (xhr.status < 200 || xhr.status > 299) {
        reject(errorOf(xhr.status, data, xhr.getResponseHeader('Retry-After')));
        return;
      }
      resolve(data);
    });
    xhr.send(form);
  });
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
  if (status === 413) return 'The upload is larger than the server accepts.';
  if (status === 429) return 'Too many attempts. Please wait and try again.';
  if (status >= 500) return 'The server had a problem. Please try again.';
  return `Request failed (${status}).`;
}
