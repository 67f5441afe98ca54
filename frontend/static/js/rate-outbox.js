// rate-outbox.js: what the annotator did that the server has not yet
// acknowledged. Every rating, revision and skip is written to
// sessionStorage before it is sent, so a lost connection, a reload or an
// expired session (the login page comes back to this tab) loses nothing: it
// is sent again, with the same client id, until the server answers. Entries
// go out one at a time and in order, so a revision follows the rating it
// changes.

import { api } from './api.js';

const MAX_WAIT_MS = 30000;

/** retryable reports whether err is worth sending again: no answer at all, a timeout, a busy or failing server. */
export function retryable(err) {
  const s = err && typeof err.status === 'number' ? err.status : 0;
  return s === 0 || s === 408 || s === 429 || s >= 500;
}

/**
 * backoff is how long to wait before retry number attempt (0, 1, …): the
 * server's Retry-After when it sent one, otherwise 1, 2, 4 … up to 30
 * seconds with ±25 % jitter, so that the annotators of a server that
 * restarts do not all come back in the same second.
 */
export function backoff(attempt, retryAfter) {
  const ra = Number.parseInt(retryAfter || '', 10);
  if (Number.isFinite(ra) && ra > 0) return Math.min(ra * 1000, 120000);
  const base = Math.min(MAX_WAIT_MS, 1000 * 2 ** Math.min(attempt, 5));
  return Math.round(base * (0.75 + Math.random() * 0.5));
}

/**
 * newClientId returns a random UUID. crypto.randomUUID exists only in a
 * secure context (HTTPS or localhost); a server on a LAN address over plain
 * HTTP still gets one from getRandomValues, which exists everywhere.
 */
export function newClientId() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Store keeps JSON values in sessionStorage under one prefix (one per
 * user, so that another account signing in on the same tab never sends
 * the first one's answers). Where storage is refused (a private mode, a
 * full quota) it keeps them in memory: the page then still works, it only
 * cannot survive a reload.
 */
export class Store {
  constructor(prefix) {
    this.prefix = prefix;
    this.memory = new Map();
  }

  get(key) {
    let raw = this.memory.get(key);
    try {
      const s = sessionStorage.getItem(this.prefix + key);
      if (s !== null) raw = s;
    } catch {
      // storage unavailable: memory only
    }
    if (raw === undefined || raw === null) return null;
    try {
      return JSON.parse(raw);
    } catch {
      return null;
    }
  }

  set(key, value) {
    const raw = JSON.stringify(value);
    this.memory.set(key, raw);
    try {
      sessionStorage.setItem(this.prefix + key, raw);
    } catch {
      // memory only
    }
  }

  del(key) {
    this.memory.delete(key);
    try {
      sessionStorage.removeItem(this.prefix + key);
    } catch {
      // memory only
    }
  }
}

/**
 * Outbox sends entries {kind: "rate"|"revise"|"skip", task_id, body, …} in
 * order. hooks: sent(entry, answer), failed(entry, err) for an answer that
 * retrying cannot change (a 4xx), trouble(err, waitMs) before each retry,
 * ok() after a success, idle() when nothing is left to send.
 */
export class Outbox {
  constructor(store, hooks) {
    this.store = store;
    this.hooks = hooks;
    this.entries = store.get('outbox') || [];
    this.running = false;
    this.wake = null;
    // A browser that knows it is back online need not wait out the backoff.
    window.addEventListener('online', () => this.poke());
  }

  get size() {
    return this.entries.length;
  }

  /** has reports whether an entry for taskId is still waiting. */
  has(taskId) {
    return this.entries.some((e) => e.task_id === taskId);
  }

  /** add stores entry, then starts sending. */
  add(entry) {
    this.entries.push(entry);
    this.save();
    this.flush();
  }

  save() {
    this.store.set('outbox', this.entries);
  }

  /** poke ends a backoff wait early. */
  poke() {
    if (this.wake) this.wake();
  }

  async flush() {
    if (this.running) return;
    this.running = true;
    let attempt = 0;
    try {
      while (this.entries.length > 0) {
        const e = this.entries[0];
        let answer;
        try {
          answer = await this.send(e);
        } catch (err) {
          if (retryable(err)) {
            const wait = backoff(attempt, err.retryAfter);
            attempt += 1;
            this.hooks.trouble(err, wait);
            await this.sleep(wait);
            continue;
          }
          this.entries.shift();
          this.save();
          attempt = 0;
          this.hooks.failed(e, err);
          continue;
        }
        this.entries.shift();
        this.save();
        // A revision needs the rating's id, which only this answer gives;
        // kept here, since the page may have left the campaign meanwhile.
        if (e.kind === 'rate' && answer && answer.id) this.store.set(`rating.${e.client_id}`, answer.id);
        attempt = 0;
        this.hooks.ok();
        this.hooks.sent(e, answer);
      }
    } finally {
      this.running = false;
    }
    this.hooks.idle();
  }

  send(e) {
    switch (e.kind) {
      case 'rate':
        return api('POST', `/api/v1/tasks/${encodeURIComponent(e.task_id)}/ratings`, e.body);
      case 'skip':
        return api('POST', `/api/v1/tasks/${encodeURIComponent(e.task_id)}/skip`, e.body);
      case 'revise': {
        // The rating's id is known once its POST was answered; the POST
        // is ahead in the queue, so by now it was, or it failed.
        const id = e.rating_id || this.store.get(`rating.${e.of}`);
        if (!id) {
          return Promise.reject(Object.assign(new Error('The rating this change was for was not saved, so there is nothing to change.'), { status: 409 }));
        }
        return api('PUT', `/api/v1/ratings/${encodeURIComponent(id)}`, e.body);
      }
      default:
        return Promise.reject(Object.assign(new Error(`unknown entry kind ${e.kind}`), { status: 400 }));
    }
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}
