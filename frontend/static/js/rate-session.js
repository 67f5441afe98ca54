// rate-session.js: rating one campaign. The task on screen and the next one,
// fetched ahead with its image so that it shows the moment the current one
// is submitted; each held lease renewed at a third of its time to live while
// the page is open; time on a task measured (visible time only); answers
// kept in sessionStorage as they are typed and handed to the outbox, which
// sends them until the server has them; U reopens the last rating for a
// revision; and the keys of the rating screen.

import { ApiError, api } from './api.js';
import { backoff, newClientId, retryable } from './rate-outbox.js';
import { CHOICES, TaskView, instructionNodes, keyRows, rubricNodes } from './rate-view.js';
import { el } from './shell.js';

// The server keeps a rating open for revision this long after it was
// created (undo_until says exactly when, once the rating is acknowledged).
const UNDO_WINDOW_MS = 5 * 60 * 1000;
const HEARTBEAT_MIN_MS = 5000;
const REFRESH_MS = 60000;

const $ = (id) => document.getElementById(id);

/** Stopwatch adds up the time it runs; paused while the page is hidden. */
class Stopwatch {
  constructor(ms = 0) {
    this.base = ms;
    this.since = null;
  }

  start() {
    if (this.since === null) this.since = performance.now();
  }

  stop() {
    if (this.since !== null) {
      this.base += performance.now() - this.since;
      this.since = null;
    }
  }

  get ms() {
    return Math.round(this.base + (this.since === null ? 0 : performance.now() - this.since));
  }
}

/** clock formats milliseconds as m:ss, or h:mm:ss from an hour on. */
export function clock(ms) {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** heartbeatDelay is a third of the time the lease has left; 30 s when the clocks disagree too much to tell. */
export function heartbeatDelay(expiresAt, now = Date.now()) {
  const left = Date.parse(expiresAt) - now;
  if (!Number.isFinite(left) || left <= 0 || left > 24 * 3600 * 1000) return 30000;
  return Math.max(HEARTBEAT_MIN_MS, Math.floor(left / 3));
}

function sleep(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    window.addEventListener('online', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

// nextTask is api('GET', path) for the queue, which also needs the header
// that says why a 204 has no task.
async function nextTask(path) {
  let res;
  try {
    res = await fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  } catch {
    throw new ApiError(0, 'network', 'Could not reach the server. Check the connection and try again.');
  }
  if (res.status === 204) {
    let reason = res.headers.get('Capeval-Queue-Reason') || '';
    try {
      reason = decodeURIComponent(reason);
    } catch {
      // shown as sent
    }
    return { task: null, reason };
  }
  if (res.ok) {
    const task = await res.json().catch(() => null);
    if (task && task.task_id) return { task, reason: '' };
    throw new ApiError(res.status, 'bad_answer', 'The server sent a task the page cannot read.');
  }
  // Any other answer is what api() makes of it: the sign-in page for a
  // 401, an ApiError with the server's message otherwise.
  return { task: await api('GET', path), reason: '' };
}

function answerOf(state, pairwise) {
  return pairwise ? { choice: state.choice } : { answers: state.answers };
}

function valuesOf(body) {
  return { answers: body.answers || {}, choice: body.choice || '', comment: body.comment || '' };
}

/** NetStatus shows whether the server answers, and how many answers wait. */
export class NetStatus {
  constructor(pending) {
    this.box = $('rate-net');
    this.text = $('rate-net-text');
    this.wait = $('rate-net-wait');
    this.pending = pending;
    this.down = false;
    this.countdown = null;
    this.hide = null;
  }

  trouble(err, waitMs) {
    this.down = true;
    clearTimeout(this.hide);
    const n = this.pending();
    const kept = n === 0 ? 'Nothing you entered is lost.'
      : `${n === 1 ? 'One answer is' : `${n} answers are`} kept on this device and will be sent.`;
    const what = err.status === 0 ? 'Offline' : `The server is not answering (${err.status >= 500 ? 'error ' + err.status : err.status})`;
    this.say(`${what} — retrying. ${kept}`, 'is-offline');
    const until = Date.now() + waitMs;
    clearInterval(this.countdown);
    const tick = () => {
      const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      this.wait.textContent = s > 0 ? `Next try in ${s} s.` : 'Trying…';
    };
    tick();
    this.countdown = setInterval(tick, 1000);
  }

  ok() {
    if (!this.down) return;
    this.down = false;
    clearInterval(this.countdown);
    this.wait.textContent = '';
    this.say('Back online. Everything you entered has been sent.', 'is-ok');
    if (this.pending() > 0) this.text.textContent = 'Back online. Sending what was kept…';
    this.hide = setTimeout(() => {
      this.box.hidden = true;
    }, 4000);
  }

  say(text, cls) {
    this.box.hidden = false;
    this.box.className = `rate-net ${cls}`;
    // Writing the same text again would make some screen readers repeat it.
    if (this.text.textContent !== text) this.text.textContent = text;
  }
}

/** Session is one campaign on the rating screen. */
export class Session {
  constructor({ campaign, outbox, store, net, onExit }) {
    this.camp = campaign;
    this.outbox = outbox;
    this.store = store;
    this.net = net;
    this.onExit = onExit;
    this.current = null; // {task, draft, watch}
    this.next = null; // the task fetched ahead
    this.nextEmpty = false; // the queue had nothing besides the current task
    this.revising = null; // {watch} while U's change is open
    this.view = null;
    this.images = new Map();
    this.beats = new Map();
    this.last = store.get(`last.${campaign.id}`);
    this.closed = false;
    this.begun = false;
    this.filling = false;
    this.refill = false;
    this.shown = 0;
    this.started = performance.now();
    this.listeners = [];
    this.form = $('rate-form');
  }

  /** open shows the campaign: its instructions first, unless this tab has started it already. */
  open() {
    document.body.classList.add('is-rating');
    $('queue').hidden = true;
    $('rater').hidden = false;
    $('rater-title').textContent = this.camp.name;
    this.progress();
    this.listen(document, 'keydown', (e) => this.key(e));
    this.listen(document, 'visibilitychange', () => this.visibility());
    this.listen(window, 'pagehide', () => this.saveDraft());
    this.listen(this.form, 'submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.listen(this.form, 'change', (e) => this.changed(e));
    this.listen(this.form, 'input', (e) => {
      if (e.target === $('rate-comment')) this.changed(e);
    });
    this.listen(this.form, 'focusin', (e) => {
      const i = this.view ? this.view.indexOf(e.target) : -1;
      if (i >= 0) this.view.current = i;
    });
    this.listen($('rate-skip'), 'click', () => this.openSkip());
    this.listen($('rate-undo'), 'click', () => this.undo());
    this.listen($('rate-zoom-open'), 'click', () => this.zoom());
    this.listen($('rate-help-open'), 'click', () => this.help());
    this.listen($('rate-start'), 'click', () => this.begin());
    this.ticker = setInterval(() => this.tick(), 1000);
    this.refresher = setInterval(() => this.refresh(), REFRESH_MS);
    if (this.store.get(`started.${this.camp.id}`)) {
      this.begin();
    } else {
      this.intro();
    }
  }

  /** close leaves the campaign; leases not renewed run out on their own. */
  close() {
    this.closed = true;
    this.saveDraft();
    for (const [target, type, fn] of this.listeners) target.removeEventListener(type, fn);
    for (const t of this.beats.values()) clearTimeout(t);
    this.beats.clear();
    clearInterval(this.ticker);
    clearInterval(this.refresher);
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    document.body.classList.remove('is-rating');
    $('rater').hidden = true;
    $('rate-screen').hidden = true;
  }

  listen(target, type, fn) {
    target.addEventListener(type, fn);
    this.listeners.push([target, type, fn]);
  }

  intro() {
    this.screen('rate-intro');
    const pairwise = this.camp.mode === 'pairwise';
    $('rate-intro-text').replaceChildren(...instructionNodes(this.camp.instructions));
    const keys = el('p', { class: 'muted' });
    keys.append('Work with the keyboard: ', el('kbd', {}, pairwise ? 'A' : '1'), pairwise ? ' / B / T / X to choose, ' : '–5 to rate, ',
      el('kbd', {}, 'Enter'), ' to submit, ', el('kbd', {}, '?'), ' for every key and these instructions again.');
    $('rate-intro-rubric').replaceChildren(...rubricNodes(this.camp.rubric, pairwise), keys);
    $('rate-start').focus();
    this.announce(`${this.camp.name}: instructions. Press Start rating when you are ready.`);
  }

  begin() {
    this.begun = true;
    this.store.set(`started.${this.camp.id}`, true);
    this.screen('rate-wait');
    this.wait('Loading the first task…', '');
    this.outbox.flush();
    this.fill();
  }

  /** screen shows one of the rater's panes. */
  screen(id) {
    for (const pane of ['rate-intro', 'rate-wait', 'rate-screen']) $(pane).hidden = pane !== id;
  }

  wait(title, text, actions = []) {
    this.view = null;
    this.screen('rate-wait');
    $('rate-wait-title').textContent = title;
    $('rate-wait-text').textContent = text;
    $('rate-wait-actions').replaceChildren(...actions);
  }

  // fill keeps a task on screen and one fetched ahead. Nothing is asked of
  // the queue while answers are waiting in the outbox: the server returns
  // the oldest task this annotator holds, and that could be the one whose
  // rating has not arrived yet.
  async fill() {
    if (!this.begun) return; // the instructions are on screen
    if (this.filling) {
      this.refill = true;
      return;
    }
    this.filling = true;
    try {
      do {
        this.refill = false;
        await this.fillOnce();
      } while (this.refill && !this.closed);
    } catch (err) {
      this.fetchFailed(err);
    } finally {
      this.filling = false;
    }
  }

  async fillOnce() {
    if (this.closed) return;
    if (!this.current && !this.revising && this.next) {
      // Fetched ahead while the last one was being submitted: show it now.
      const t = this.next;
      this.next = null;
      this.show(t);
    }
    if (this.outbox.size > 0) {
      if (!this.current && !this.revising) {
        this.wait('Sending your answers…', 'The next task comes as soon as the server has them.');
      }
      return;
    }
    if (!this.current) {
      if (this.revising) return; // the change on screen stays until it is saved or left
      if (this.next) {
        const t = this.next;
        this.next = null;
        this.show(t);
      } else {
        const t = await this.fetchNext(0);
        if (this.closed || this.revising || this.current) {
          if (t) this.keepAhead(t);
          return;
        }
        if (!t) {
          this.done();
          return;
        }
        this.show(t);
      }
    }
    if (this.next || this.nextEmpty || !this.current || this.outbox.size > 0) return;
    const after = this.current.task.task_id;
    const t = await this.fetchNext(after);
    if (this.closed) return;
    if (!t) {
      if (this.current && this.current.task.task_id === after) this.nextEmpty = true;
      return;
    }
    this.keepAhead(t);
  }

  // keepAhead holds t as the next task (image loading, lease renewed),
  // unless it is one already on screen or waiting to be sent.
  keepAhead(t) {
    if ((this.current && this.current.task.task_id === t.task_id) || this.outbox.has(t.task_id)) return;
    this.next = t;
    this.image(t, true);
    this.beat(t);
    if (!this.current) this.refill = true;
  }

  // fetchNext asks the queue for a task (one other than after, when set)
  // and returns it, or null when there is none; this.reason then says why
  // ("" when the annotator has simply done all they can).
  async fetchNext(after) {
    const path = `/api/v1/queue/next?campaign=${encodeURIComponent(this.camp.id)}${after ? `&after=${encodeURIComponent(after)}` : ''}`;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const { task, reason } = await nextTask(path);
        this.net.ok();
        if (!after) this.reason = reason;
        return task;
      } catch (err) {
        if (!retryable(err) || this.closed) throw err;
        const ms = backoff(attempt, err.retryAfter);
        this.net.trouble(err, ms);
        await sleep(ms);
      }
    }
  }

  fetchFailed(err) {
    if (this.closed) return;
    if (this.current) {
      // Only the look-ahead failed; the next submit asks again.
      this.nextEmpty = true;
      return;
    }
    const again = el('button', { type: 'button', class: 'btn btn-primary' }, 'Try again');
    again.addEventListener('click', () => this.fill());
    this.wait('No task could be loaded', err.message || 'Something went wrong.', [again, backLink()]);
    again.focus();
    this.announce(`No task could be loaded: ${err.message}`);
  }

  done() {
    const again = el('button', { type: 'button', class: 'btn' }, 'Look again');
    again.addEventListener('click', () => {
      this.wait('Looking for tasks…', '');
      this.fill();
    });
    const cap = this.camp.daily_cap > 0 && this.camp.done_today >= this.camp.daily_cap;
    let text = 'There is nothing left for you to rate in this campaign right now. Thank you! Tasks others gave back may still come: look again later.';
    if (this.reason) {
      text = sentence(this.reason);
    } else if (cap) {
      text = `You have rated ${this.camp.done_today} tasks today, the daily limit of this campaign. Thank you! You can go on tomorrow.`;
    }
    this.wait('All done for now', text, [backLink(true), again]);
    $('rate-wait-actions').querySelector('a').focus();
    this.announce(`All done for now. ${text}`);
    this.refresh();
  }

  show(task, before = '') {
    const draft = this.store.get(`draft.${task.task_id}`) || { client_id: newClientId(), answers: {}, choice: '', comment: '', elapsed: 0 };
    this.current = { task, draft, watch: new Stopwatch(draft.elapsed || 0) };
    this.nextEmpty = false;
    this.saveDraft();
    this.render(task, draft, false);
    if (!document.hidden) this.current.watch.start();
    this.beat(task);
    this.shown += 1;
    const what = task.kind === 'pair' ? 'two captions to compare' : 'a caption to rate';
    this.announce(`${before ? `${before} ` : ''}New task, number ${this.shown} of this session: ${what}.`);
    // Images of tasks gone from the screen need not stay in memory.
    for (const id of this.images.keys()) {
      if (id !== task.task_id && (!this.next || id !== this.next.task_id)) this.images.delete(id);
    }
  }

  render(task, values, revising) {
    this.screen('rate-screen');
    $('rate-revising').hidden = !revising;
    this.form.classList.toggle('is-revising', revising);
    // Which task is on screen, for tests and bug reports (the id is the
    // API's, nothing more).
    this.form.dataset.task = String(task.task_id);
    this.form.dataset.revising = String(revising);
    const img = this.image(task, false);
    img.id = 'rate-image';
    $('rate-image').replaceWith(img);
    // A campaign imported without its image files has tasks whose image
    // is missing: say so rather than show an empty frame.
    this.formStatus(task.image_url ? '' : 'This task’s image file is missing: the campaign was imported without its images. Press S and choose “The image is broken” so that the lead sees it.');
    this.view = new TaskView(task, task.rubric || this.camp.rubric, {
      question: $('rate-question'), captions: $('rate-captions'), criteria: $('rate-criteria'), comment: $('rate-comment'),
    });
    this.view.fill(values);
    $('rate-submit').firstChild.textContent = revising ? 'Save the change ' : 'Submit ';
    $('rate-skip').disabled = revising;
    $('rate-undo').disabled = revising || !this.last;
    const m = this.view.missing();
    this.view.current = m >= 0 ? m : 0;
    if (m >= 0) {
      this.view.focus(m);
    } else {
      $('rate-submit').focus();
    }
  }

  // image returns the task's image element: the one made when the task was
  // fetched ahead, already loaded, so that the screen does not wait for it.
  image(task, ahead) {
    let img = this.images.get(task.task_id);
    if (!img) {
      img = new Image();
      img.alt = '';
      img.decoding = 'async';
      // The size reserves the image's place before its bytes arrive.
      if (task.image_width > 0 && task.image_height > 0) {
        img.width = task.image_width;
        img.height = task.image_height;
      }
      if (ahead) img.fetchPriority = 'low';
      img.addEventListener('error', () => {
        if (this.view && this.view.task.task_id === task.task_id) {
          this.formStatus('The image did not load. If it stays broken, press S and choose “The image is broken”.');
        }
      });
      if (task.image_url) {
        img.src = task.image_url;
      } else {
        img.alt = 'The image file is missing';
      }
      this.images.set(task.task_id, img);
    }
    return img;
  }

  // beat renews task's lease at a third of its remaining time; a lease the
  // server cannot renew any more is reported (current) or dropped (ahead).
  beat(task) {
    clearTimeout(this.beats.get(task.task_id));
    const delay = heartbeatDelay(task.lease_expires_at);
    this.beats.set(task.task_id, setTimeout(async () => {
      try {
        const r = await api('POST', `/api/v1/tasks/${encodeURIComponent(task.task_id)}/heartbeat`);
        this.net.ok();
        if (r && r.lease_expires_at) task.lease_expires_at = r.lease_expires_at;
        if (this.beats.has(task.task_id)) this.beat(task);
      } catch (err) {
        if (!this.beats.has(task.task_id) || this.closed) return;
        if (retryable(err)) {
          this.net.trouble(err, Math.min(delay, 15000));
          task.lease_expires_at = new Date(Date.now() + 3 * Math.min(delay, 15000)).toISOString();
          this.beat(task);
          return;
        }
        this.leaseLost(task);
      }
    }, delay));
  }

  unbeat(taskId) {
    clearTimeout(this.beats.get(taskId));
    this.beats.delete(taskId);
  }

  leaseLost(task) {
    this.unbeat(task.task_id);
    if (this.next && this.next.task_id === task.task_id) {
      this.next = null;
      this.images.delete(task.task_id);
      this.fill();
      return;
    }
    if (this.current && this.current.task.task_id === task.task_id) {
      this.problem('This task was held for too long and went back to the queue. Your answer is still sent when you submit, and it counts if the task still needs a rating.');
    }
  }

  changed(e) {
    if (!this.view) return;
    const i = this.view.indexOf(e.target);
    if (i >= 0) this.view.refresh(i);
    this.formStatus('');
    this.saveDraft();
  }

  saveDraft() {
    const c = this.current;
    if (!c || this.closed) return;
    if (this.view && !this.revising && this.view.task.task_id === c.task.task_id) {
      Object.assign(c.draft, this.view.state());
    }
    c.draft.elapsed = c.watch.ms;
    this.store.set(`draft.${c.task.task_id}`, c.draft);
  }

  submit() {
    const v = this.view;
    if (!v) return;
    const miss = v.missing();
    if (miss >= 0) {
      this.formStatus(v.missingMessage(miss));
      v.focus(miss);
      return;
    }
    const state = v.state();
    if (this.revising) {
      this.saveRevision(state);
      return;
    }
    const c = this.current;
    if (!c) return;
    $('rate-problem').hidden = true;
    c.watch.stop();
    const body = { client_id: c.draft.client_id, ...answerOf(state, v.pairwise), comment: state.comment.trim(), duration_ms: c.watch.ms };
    this.outbox.add({ kind: 'rate', campaign_id: this.camp.id, task_id: c.task.task_id, client_id: body.client_id, body });
    this.last = { task: c.task, body, client_id: body.client_id, rating_id: null, undo_until: null, at: Date.now() };
    this.store.set(`last.${this.camp.id}`, this.last);
    this.store.del(`draft.${c.task.task_id}`);
    this.unbeat(c.task.task_id);
    this.advance('Submitted.');
  }

  skip(reason) {
    const c = this.current;
    if (!c || this.revising) return;
    this.outbox.add({ kind: 'skip', campaign_id: this.camp.id, task_id: c.task.task_id, body: { reason } });
    this.store.del(`draft.${c.task.task_id}`);
    this.unbeat(c.task.task_id);
    this.advance('Skipped.');
  }

  advance(said) {
    this.current = null;
    if (this.next) {
      const t = this.next;
      this.next = null;
      this.show(t, said);
    } else {
      this.wait('Loading the next task…', '');
      this.announce(`${said} Loading the next task.`);
    }
    this.fill();
  }

  undo() {
    if (this.revising) {
      this.announce('Your last rating is open already: Enter saves the change, Escape goes back.');
      return;
    }
    const l = this.last;
    if (!l) {
      this.say('There is nothing to undo: you have not rated a task of this campaign in this browser tab yet.');
      return;
    }
    const until = l.undo_until ? Date.parse(l.undo_until) : l.at + UNDO_WINDOW_MS;
    if (Date.now() >= until) {
      this.say('Your last rating can no longer be changed: a rating can be changed for 5 minutes after it was submitted.');
      return;
    }
    if (this.current) {
      this.saveDraft();
      this.current.watch.stop();
    }
    this.revising = { watch: new Stopwatch() };
    this.render(l.task, valuesOf(l.body), true);
    this.revising.watch.start();
    this.announce('Your last rating is open again. Change it and press Enter to save, or Escape to go back.');
  }

  saveRevision(state) {
    const l = this.last;
    this.revising.watch.stop();
    // The revision names the rating by its id and its own client id (the
    // server refuses any other); sent twice it simply sets the same values.
    const body = { client_id: l.client_id, ...answerOf(state, this.view.pairwise), comment: state.comment.trim(),
      duration_ms: (l.body.duration_ms || 0) + this.revising.watch.ms };
    this.outbox.add({ kind: 'revise', campaign_id: this.camp.id, task_id: l.task.task_id, of: l.client_id, rating_id: l.rating_id, body });
    this.last = { ...l, body };
    this.store.set(`last.${this.camp.id}`, this.last);
    this.endRevision('Change submitted.');
  }

  endRevision(said) {
    this.revising = null;
    if (this.current) {
      this.render(this.current.task, this.current.draft, false);
      if (!document.hidden) this.current.watch.start();
      this.announce(`${said} Back to the task you were on.`);
      return;
    }
    this.wait('Loading the next task…', '');
    this.announce(said);
    this.fill();
  }

  // sent is the outbox's report of an answer the server has.
  sent(e, answer) {
    if (e.kind === 'rate' && answer && answer.id) {
      if (this.last && this.last.client_id === e.client_id) {
        this.last.rating_id = answer.id;
        if (answer.undo_until) this.last.undo_until = answer.undo_until;
        this.store.set(`last.${this.camp.id}`, this.last);
      }
      if (e.campaign_id === this.camp.id) {
        this.camp.done_by_me = (this.camp.done_by_me || 0) + 1;
        this.camp.done_today = (this.camp.done_today || 0) + 1;
        this.camp.remaining_for_me = Math.max(0, (this.camp.remaining_for_me || 0) - 1);
        this.progress();
      }
    }
  }

  // failed is the outbox's report of an answer the server refused for good.
  failed(e, err) {
    const what = { rate: 'A rating', revise: 'A change of your last rating', skip: 'A skip' }[e.kind] || 'An answer';
    if (e.kind === 'rate' && this.last && this.last.client_id === e.client_id) this.last = null;
    this.problem(`${what} could not be saved: ${err.message}`);
  }

  problem(text) {
    const box = $('rate-problem');
    box.textContent = text;
    box.hidden = false;
  }

  formStatus(text) {
    const s = this.form.querySelector('.form-status');
    s.textContent = text;
    s.classList.toggle('is-error', text !== '');
  }

  // say puts a message where the eye is (the form, or the waiting pane)
  // and where the ear is (the live region).
  say(text) {
    if (this.view) {
      this.formStatus(text);
    } else {
      $('rate-wait-text').textContent = text;
    }
    this.announce(text);
  }

  announce(text) {
    const live = $('rate-live');
    live.textContent = '';
    // A change after a tick is read even when the text is what it was.
    setTimeout(() => {
      live.textContent = text;
    }, 50);
  }

  progress() {
    const c = this.camp;
    const bar = $('rate-progress-bar');
    bar.max = Math.max(1, c.tasks_total || 0);
    bar.value = Math.min(c.tasks_done || 0, bar.max);
    const text = $('rate-progress-text');
    const today = el('span', { class: 'rate-stat' });
    today.append('Today ', el('strong', {}, String(c.done_today || 0)), c.daily_cap > 0 ? ` of ${c.daily_cap}` : '');
    const mine = el('span', { class: 'rate-stat' });
    mine.append('You ', el('strong', {}, String(c.done_by_me || 0)));
    const all = el('span', { class: 'rate-stat' });
    all.append('Campaign ', el('strong', {}, String(c.tasks_done || 0)), ` of ${c.tasks_total || 0} tasks`);
    text.replaceChildren(today, mine, all);
  }

  async refresh() {
    try {
      const data = await api('GET', '/api/v1/annotator/campaigns');
      const c = ((data && data.campaigns) || []).find((x) => x.id === this.camp.id);
      if (c && !this.closed) {
        Object.assign(this.camp, c);
        this.progress();
      }
    } catch {
      // The counts are a convenience; the next refresh tries again.
    }
  }

  tick() {
    const w = this.revising ? this.revising.watch : this.current && this.current.watch;
    $('rate-task-time').textContent = w && this.view ? clock(w.ms) : '–';
    $('rate-session-time').textContent = clock(performance.now() - this.started);
    if (this.current && Math.round(this.current.watch.ms / 1000) % 5 === 0) this.saveDraft();
  }

  visibility() {
    const w = this.revising ? this.revising.watch : this.current && this.current.watch;
    if (!w) return;
    if (document.hidden) {
      w.stop();
      this.saveDraft();
    } else {
      w.start();
    }
  }

  help() {
    const d = $('help-dialog');
    if (d.open) return;
    const pairwise = this.camp.mode === 'pairwise';
    $('help-keys').replaceChildren(...keyRows(pairwise));
    $('help-instructions').replaceChildren(el('h3', {}, 'Instructions'), ...instructionNodes(this.camp.instructions), ...rubricNodes(this.camp.rubric, pairwise));
    this.modal(d, $('help-close'));
  }

  zoom() {
    if (!this.view) return;
    const d = $('zoom-dialog');
    $('zoom-image').src = this.view.task.image_url;
    this.modal(d, $('zoom-close'));
  }

  openSkip() {
    if (!this.current || !this.view) return;
    if (this.revising) {
      this.formStatus('Save or leave the change first (Enter or Escape); then S skips the task you were on.');
      return;
    }
    const d = $('skip-dialog');
    const form = $('skip-form');
    form.reset();
    $('skip-text').disabled = true;
    form.querySelector('.form-status').textContent = '';
    this.modal(d, $('skip-broken'));
  }

  modal(d, first) {
    openModal(d, first);
  }

  key(e) {
    if (this.closed || e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (document.querySelector('dialog[open]')) return; // each dialog has its own keys
    const t = e.target;
    const k = e.key;
    if (t instanceof HTMLElement && t.matches('textarea, select, input:not([type="radio"]):not([type="checkbox"])')) {
      if (t.id === 'rate-comment') {
        if (k === 'Enter' && !e.shiftKey) {
          e.preventDefault();
          this.submit();
        } else if (k === 'Escape') {
          e.preventDefault();
          if (this.view) this.view.focus(this.view.current);
        }
      }
      return;
    }
    const once = !e.repeat;
    if (k === '?') {
      e.preventDefault();
      this.help();
      return;
    }
    if (k === 'u' || k === 'U') {
      e.preventDefault();
      if (once && $('rate-intro').hidden) this.undo();
      return;
    }
    if (!this.view || $('rate-screen').hidden) return;
    if (k === 'Escape' && this.revising) {
      e.preventDefault();
      this.endRevision('Left unchanged.');
      return;
    }
    if (k === 'z' || k === 'Z') {
      e.preventDefault();
      this.zoom();
      return;
    }
    if (k === 's' || k === 'S') {
      e.preventDefault();
      if (once) this.openSkip();
      return;
    }
    if (k === 'Enter') {
      // A focused button or link does what it says.
      if (t instanceof HTMLElement && t.matches('button, a, summary')) return;
      e.preventDefault();
      if (once) this.submit();
      return;
    }
    if (this.view.pairwise) {
      const c = CHOICES.find((x) => x.key === k.toLowerCase());
      if (c) {
        e.preventDefault();
        this.view.set(0, c.value);
        this.changed({ target: this.view.groups[0].fieldset });
        $('rate-submit').focus();
      }
      return;
    }
    if (/^[0-9]$/.test(k)) {
      e.preventDefault();
      this.digit(Number(k));
      return;
    }
    if (k === 'ArrowDown' || k === 'ArrowUp') {
      const i = this.view.indexOf(t);
      const inForm = t instanceof Node && this.form.contains(t);
      if (i < 0 && !inForm) return;
      e.preventDefault();
      const last = this.view.groups.length - 1;
      if (i < 0) {
        this.view.focus(k === 'ArrowUp' ? last : 0);
      } else if (k === 'ArrowDown' && i === last) {
        $('rate-submit').focus();
      } else {
        this.view.focus(i + (k === 'ArrowDown' ? 1 : -1));
      }
    }
  }

  digit(n) {
    const v = this.view;
    let i = v.indexOf(document.activeElement);
    if (i < 0) i = v.current;
    const g = v.groups[i];
    if (!g) return;
    if (!v.set(i, n)) {
      this.formStatus(`${g.criterion.name} is rated from ${g.criterion.min} to ${g.criterion.max}.`);
      return;
    }
    this.changed({ target: g.fieldset });
    if (i + 1 < v.groups.length) {
      v.focus(i + 1);
      return;
    }
    const m = v.missing();
    if (m >= 0) {
      v.focus(m);
    } else {
      $('rate-submit').focus();
    }
  }
}

function sentence(text) {
  const t = String(text).trim();
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

function backLink(primary = false) {
  return el('a', { class: primary ? 'btn btn-primary' : 'btn', href: '/annotate', 'data-nav': 'list' }, 'Back to campaigns');
}

// Where focus was before a dialog opened, by dialog.
const focusBefore = new WeakMap();

/** openModal opens dialog d with focus on first. */
export function openModal(d, first) {
  focusBefore.set(d, document.activeElement);
  d.showModal();
  first.focus();
}

// closeModal closes d and puts focus back at once: the close event comes
// a task later, and a key pressed in between would land on nothing.
function closeModal(d) {
  if (!d.open) return;
  d.close();
  const back = focusBefore.get(d);
  if (back instanceof HTMLElement && back.isConnected) back.focus();
}

/** wireDialogs gives the skip, help and zoom dialogs their keys; onSkip gets the reason. */
export function wireDialogs(onSkip) {
  for (const d of document.querySelectorAll('dialog')) {
    // Esc closes through closeModal too, so that focus comes back at once.
    d.addEventListener('cancel', (e) => {
      e.preventDefault();
      closeModal(d);
    });
  }
  const help = $('help-dialog');
  $('help-close').addEventListener('click', () => closeModal(help));
  help.addEventListener('keydown', (e) => {
    if (e.key === '?') {
      e.preventDefault();
      closeModal(help);
    }
  });
  const zoom = $('zoom-dialog');
  $('zoom-close').addEventListener('click', () => closeModal(zoom));
  zoom.addEventListener('keydown', (e) => {
    if (e.key === 'z' || e.key === 'Z') {
      e.preventDefault();
      closeModal(zoom);
    }
  });
  const skip = $('skip-dialog');
  const form = $('skip-form');
  const text = $('skip-text');
  $('skip-cancel').addEventListener('click', () => closeModal(skip));
  form.addEventListener('change', () => {
    const other = $('skip-other').checked;
    text.disabled = !other;
    if (other) text.focus();
  });
  form.addEventListener('keydown', (e) => {
    // Enter on a radio button confirms, as it does in the text field.
    if (e.key === 'Enter' && e.target instanceof HTMLInputElement && e.target.type === 'radio') {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const choice = new FormData(form).get('reason');
    const reason = choice === 'other' ? text.value.trim() : choice;
    if (!reason) {
      const status = form.querySelector('.form-status');
      status.textContent = 'Say why, in a few words.';
      status.classList.add('is-error');
      text.setAttribute('aria-invalid', 'true');
      text.focus();
      return;
    }
    text.removeAttribute('aria-invalid');
    closeModal(skip);
    onSkip(reason);
  });
}
