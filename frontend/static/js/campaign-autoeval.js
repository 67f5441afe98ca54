// campaign-autoeval.js: the Automatic scores section. Starts text and CLIP
// jobs, follows a running job through the server-sent events of
// /api/v1/jobs/:id/events (done of total, rate, ETA; falling back to polling
// when the stream cannot be opened), cancels it, and shows the captioners
// with their corpus scores in a sortable table. Without a CLIP model it says
// CLIPScore is unavailable and how to enable it; a score that was not
// computed is shown as such, never as a number.

import { api } from './api.js';
import { el } from './shell.js';
import * as fmt from './format.js';
import { sortableTable } from './sorttable.js';

const KINDS = { text: 'Text metrics', clip: 'CLIP metrics' };
const ENDED = new Set(['done', 'failed', 'cancelled']);
const SAY_EVERY = 3000; // ms between two progress announcements

export function initAutoeval(ctx) {
  const jobsBox = document.getElementById('jobs');
  const status = document.getElementById('autoeval-status');
  const clipNotice = document.getElementById('clip-notice');
  const runText = document.getElementById('run-text');
  const runClip = document.getElementById('run-clip');
  const followed = new Map(); // job id → EventSource or interval

  runText.addEventListener('click', () => start('text', runText));
  runClip.addEventListener('click', () => start('clip', runClip));

  async function start(kind, button) {
    status.textContent = '';
    status.className = 'form-status';
    button.disabled = true;
    try {
      const job = await api('POST', `/api/v1/campaigns/${ctx.id}/jobs`, { kind });
      show(job);
      follow(job);
    } catch (err) {
      status.textContent = err.message;
      status.className = 'form-status is-error';
      if (err.code === 'clip_unavailable') showClipNotice(err.message);
    } finally {
      button.disabled = false;
    }
  }

  // card returns the panel of a job kind, creating it on first use; the
  // latest job of each kind has one.
  function card(kind) {
    let box = document.getElementById(`job-${kind}`);
    if (box) return box;
    box = el('div', { class: 'job', id: `job-${kind}`, 'aria-labelledby': `job-${kind}-title`, role: 'group' });
    const head = el('div', { class: 'job-head' });
    head.append(el('h3', { id: `job-${kind}-title` }, KINDS[kind] || kind), el('span', { class: 'badge job-status' }));
    const barLabel = el('label', { for: `job-${kind}-bar`, class: 'visually-hidden' }, `${KINDS[kind] || kind} progress`);
    const bar = el('progress', { id: `job-${kind}-bar`, max: '1', value: '0' });
    // The live region says what matters (status, done of total, ETA) and
    // is rewritten at most every few seconds; the bar moves silently.
    const text = el('p', { class: 'job-text', role: 'status', 'aria-live': 'polite' });
    const detail = el('p', { class: 'meta job-detail' });
    const cancel = el('button', { type: 'button', class: 'btn btn-small btn-danger job-cancel' }, 'Cancel');
    cancel.setAttribute('aria-label', `Cancel the ${(KINDS[kind] || kind).toLowerCase()} job`);
    box.append(head, barLabel, bar, text, detail, cancel);
    jobsBox.append(box);
    return box;
  }

  function show(job) {
    const box = card(job.kind);
    // The last events of an older job (cancelled, then started again) can
    // arrive after the new one is shown; the card keeps the newest.
    if (Number(box.dataset.job || 0) > job.id) return;
    box.dataset.job = String(job.id);
    box.dataset.status = job.status;
    box.querySelector('.job-status').textContent = job.status;
    box.querySelector('.job-status').className = `badge job-status job-${job.status}`;
    const bar = box.querySelector('progress');
    if (job.total > 0) {
      bar.max = job.total;
      bar.value = job.done;
    } else if (job.status === 'done') {
      bar.max = 1;
      bar.value = 1;
    } else {
      bar.removeAttribute('value'); // indeterminate until the total is known
    }
    say(box, summary(job), job.status);
    const parts = [];
    if (job.device) parts.push(`on ${job.device}`);
    if (job.attempts > 1) parts.push(`attempt ${job.attempts}`);
    if (job.notes) parts.push(job.notes);
    if (job.error) parts.push(`error: ${job.error}`);
    box.querySelector('.job-detail').textContent = parts.join(' · ');
    const cancel = box.querySelector('.job-cancel');
    cancel.hidden = ENDED.has(job.status);
    cancel.onclick = () => cancelJob(job.id, cancel);
  }

  // say writes the live text of a job card. A change of status is said at
  // once; progress at most every SAY_EVERY ms, the latest line winning, so
  // that a screen reader is not flooded and the last figures are still read.
  function say(box, line, jobStatus) {
    const text = box.querySelector('.job-text');
    clearTimeout(box.sayTimer);
    const write = () => {
      text.textContent = line;
      box.dataset.said = String(Date.now());
      box.dataset.saidStatus = jobStatus;
    };
    const wait = Number(box.dataset.said || 0) + SAY_EVERY - Date.now();
    if (text.textContent === '' || jobStatus !== box.dataset.saidStatus || wait <= 0) {
      write();
    } else if (text.textContent !== line) {
      box.sayTimer = setTimeout(write, wait);
    }
  }

  function summary(job) {
    const what = `${KINDS[job.kind] || job.kind}: `;
    switch (job.status) {
      case 'queued':
        return `${what}queued, waiting for a worker.`;
      case 'running': {
        if (!job.total) return `${what}starting…`;
        const pct = Math.floor((job.done / job.total) * 100);
        let s = `${what}${fmt.count(job.done)} of ${fmt.count(job.total)} captions scored (${pct} %)`;
        if (job.rate > 0) s += `, ${job.rate.toLocaleString('en', { maximumFractionDigits: 1 })} per second`;
        if (typeof job.eta_seconds === 'number') s += `, about ${fmt.duration(job.eta_seconds)} left`;
        return `${s}.`;
      }
      case 'done':
        return `${what}done: ${fmt.count(job.done)} of ${fmt.count(job.total)} captions scored.`;
      case 'cancelled':
        return `${what}cancelled after ${fmt.count(job.done)} of ${fmt.count(job.total)} captions; scores stored so far are kept.`;
      case 'failed':
        return `${what}failed${job.error ? `: ${job.error}` : '.'}`;
    }
    return `${what}${job.status}.`;
  }

  async function cancelJob(id, button) {
    button.disabled = true;
    try {
      show(await api('POST', `/api/v1/jobs/${id}/cancel`));
    } catch (err) {
      status.textContent = `Could not cancel: ${err.message}`;
      status.className = 'form-status is-error';
    } finally {
      button.disabled = false;
    }
  }

  function follow(job) {
    if (ENDED.has(job.status) || followed.has(job.id)) return;
    let es;
    try {
      es = new EventSource(`/api/v1/jobs/${job.id}/events`, { withCredentials: true });
    } catch {
      poll(job.id);
      return;
    }
    followed.set(job.id, es);
    const onJob = (event) => {
      let j;
      try {
        j = JSON.parse(event.data);
      } catch {
        return;
      }
      show(j);
      if (ENDED.has(j.status)) finish(j);
    };
    es.addEventListener('progress', onJob);
    es.addEventListener('end', onJob);
    es.addEventListener('error', () => {
      // The stream ended or could not open (a proxy, an expired session):
      // polling the job says the same, and a 401 there signs in again.
      if (es.readyState === EventSource.CLOSED || followed.get(job.id) === es) {
        es.close();
        followed.delete(job.id);
        poll(job.id);
      }
    });
  }

  function poll(id) {
    if (followed.has(id)) return;
    const timer = setInterval(async () => {
      try {
        const j = await api('GET', `/api/v1/jobs/${id}`);
        show(j);
        if (ENDED.has(j.status)) finish(j);
      } catch {
        // Keep trying: a restart of the server is exactly when jobs resume.
      }
    }, 2000);
    followed.set(id, { close: () => clearInterval(timer) });
  }

  function finish(job) {
    const f = followed.get(job.id);
    if (f) f.close();
    followed.set(job.id, { close() {} }); // never follow it again
    loadCaptioners();
    ctx.changed({ scores: true });
  }

  function showClipNotice(message) {
    clipNotice.replaceChildren();
    // The message names commands and variables between backticks; they
    // read better as code.
    String(message).split('`').forEach((part, i) => clipNotice.append(i % 2 ? el('code', {}, part) : part));
    clipNotice.hidden = false;
    runClip.disabled = true;
    runClip.setAttribute('aria-describedby', 'clip-notice');
  }

  async function loadJobs() {
    let jobs = [];
    try {
      jobs = (await api('GET', `/api/v1/campaigns/${ctx.id}/jobs`)).jobs || [];
    } catch (err) {
      if (err.code !== 'not_configured') {
        status.textContent = `Could not load the jobs: ${err.message}`;
        status.className = 'form-status is-error';
      }
      return;
    }
    // Newest first: the first of each kind is the one to show.
    const seen = new Set();
    for (const j of jobs) {
      if (seen.has(j.kind)) continue;
      seen.add(j.kind);
      show(j);
      follow(j);
    }
  }

  async function loadCaptioners() {
    const box = document.getElementById('captioners');
    let rep;
    try {
      rep = await api('GET', `/api/v1/campaigns/${ctx.id}/captioners`);
    } catch (err) {
      box.replaceChildren(el('p', { class: 'muted' }, err.code === 'not_configured'
        ? 'Automatic scores are not available on this server.'
        : `Could not load the captioners: ${err.message}`));
      return;
    }
    if (rep.clip && !rep.clip.available) {
      showClipNotice(rep.clip.message || 'CLIPScore is unavailable: no CLIP model is configured.');
    }
    const list = rep.captioners || [];
    if (list.length === 0) {
      box.replaceChildren(el('p', { class: 'muted' }, 'No captioners yet: import a results file for each model under evaluation.'));
      return;
    }
    const metrics = rep.metrics || [];
    const columns = [
      { key: 'name', label: 'Captioner', rowHeader: true, value: (c) => fmt.captioner(c) },
      { key: 'captions', label: 'Captions', numeric: true, value: (c) => c.captions, cell: (c) => fmt.count(c.captions) },
    ];
    for (const m of metrics) {
      columns.push({
        key: m, label: m.replace('_', '-'), numeric: true,
        value: (c) => (m in c.scores ? c.scores[m] : null),
        cell: (c) => (m in c.scores ? scoreCell(c, m) : notComputed()),
      });
    }
    const first = metrics.includes('CIDEr') ? 'CIDEr' : metrics[0];
    const table = sortableTable({ id: 'captioners-table', caption: 'Captioners with their corpus scores', columns, rows: list,
      sort: first ? { key: first, dir: 'descending' } : null });
    const parts = [table];
    if (metrics.length === 0) {
      parts.push(el('p', { class: 'muted' }, 'No scores yet: run the text metrics.'));
    }
    box.replaceChildren(...parts);
  }

  function scoreCell(c, m) {
    const span = el('span', {}, fmt.score(c.scores[m]));
    const n = c.n && c.n[m];
    if (n !== undefined && n !== c.captions) span.title = `over ${n} of ${c.captions} captions`;
    return span;
  }

  function notComputed() {
    const span = el('span', {}, '—');
    span.append(el('span', { class: 'visually-hidden' }, 'not computed'));
    return span;
  }

  document.addEventListener('campaign:changed', (event) => {
    if (event.detail && event.detail.captioners) loadCaptioners();
  });
  loadJobs();
  loadCaptioners();
}
