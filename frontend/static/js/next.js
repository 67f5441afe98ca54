// next.js: where to go after signing in. Only a path on this origin is
// accepted, so a crafted ?next= link cannot send a user to another site.

/** safeNext returns raw when it is a same-origin path, otherwise "/". */
export function safeNext(raw) {
  // "//host" and "/\host" are protocol-relative to browsers; refuse them
  // before URL parsing, which would also accept them.
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//') || raw.includes('\\')) {
    return '/';
  }
  let url;
  try {
    url = new URL(raw, window.location.origin);
  } catch {
    return '/';
  }
  // The parser drops tabs and newlines, so "/\t/evil" can still change origin.
  if (url.origin !== window.location.origin || url.pathname === '/login') {
    return '/';
  }
  return url.pathname + url.search + url.hash;
}
