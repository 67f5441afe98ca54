// campaign-progress.js: the Rating progress section of the lead's campaign
// page. It shows what GET /campaigns/:id/progress says (tasks done, in
// progress and remaining, throughput and the estimated end, live leases,
// each annotator's work, gold accuracy and flags, the tasks set aside),
// the status control that opens the queue and closes it for good after a
// confirmation, the lead's decisions (exclude or keep an annotator's
// ratings, ask for replacements of the excluded ratings, put a set-aside
// task back or leave it out) and the quality settings form.

import { api } from './api.js';
import { busy, clearErrors, showProblems, showStatus } from './forms.js';
import { el } from './shell.js';
import * as fmt from './format.js';

// While the campaign collects, the view refreshes itself this often.
const REFRESH_MS = 30000;

// The quality settings: field, label, hint, input attributes.
const SETTINGS = [
  ['qualification_tasks', 'Qualification tasks', 'The first N tasks a new annotator gets are gold checks; 0: none.', { min: '0', max: '100', step: '1' }],
  ['qualification_accuracy', 'Qualification accuracy', 'The share of them to get right to go on, from 0 to 1.', { min: '0', max: '1', step: '0.05' }],
  ['min_accuracy', 'Minimum gold accuracy', 'Below it an annotator is flagged; 0: no flag.', { min: '0', max: '1', step: '0.05' }],
  ['min_gold_answers', 'Gold answers before judging', 'How many gold answers the accuracy needs.', { min: '1', max: '1000', step: '1' }],
  ['min_seconds', 'Minimum seconds per rating', 'Faster ratings are flagged; 0: no flag.', { min: '0', max: '3600', step: '0.5' }],
  ['daily_cap', 'Daily cap per annotator', 'Ratings per annotator per UTC day; 0: no cap.', { min: '0', max: '100000', step: '1' }],
  ['straight_line_window', 'Straight-lining window', 'Flag this many ratings in a row with one value; 0: off, else 3 or more.', { min: '0', max: '1000', step: '1' }],
];

const QUALIFICATION = {
  off: '—', qualifying: 'in progress', passed: 'passed', failed: 'failed', exempt: 'exempt', kept: 'kept in by the lead',
};

/** confirmClose asks the lead to confirm closing the campaign; resolves to true when confirmed. */
export function confirmClose(name) {
  const dialog = closeDialog();
  dialog.querySelector('#close-dialog-text').textContent =
    `Closing “${name}” stops the rating for good: annotators get no more tasks and submit no more ratings. It cannot be undone.`;
  return new Promise((resolve) => {
    const done = (ok) => {
      dialog.removeEventListener('close', onClose);
      resolve(ok);
    };
    const onClose = () => done(dialog.returnValue === 'close');
    dialog.addEventListener('close', onClose);
    dialog.returnValue = '';
    dialog.showModal();
    dialog.querySelector('#close-cancel').focus();
  });
}

// closeDialog builds the confirmation on first use.
function closeDialog() {
  let dialog = document.getElementById('close-dialog');
  if (dialog) return dialog;
  dialog = el('dialog', { id: 'close-dialog', class: 'dialog', 'aria-labelledby': 'close-dialog-title', 'aria-describedby': 'close-dialog-text' });
  const form = el('form', { method: 'dialog' });
  const actions = el('div', { class: 'actions' });
  actions.append(
    el('button', { type: 'submit', class: 'btn', id: 'close-cancel', value: 'cancel' }, 'Keep collecting'),
    el('button', { type: 'submit', class: 'btn btn-danger', id: 'close-confirm', value: 'close' }, 'Close the campaign'),
  );
  form.append(el('h2', { id: 'close-dialog-title' }, 'Close this campaign?'), el('p', { id: 'close-dialog-text' }), actions);
  dialog.append(form);
  document.body.append(dialog);
  return dialog;
}

export function initProgress(ctx) {
  const box = document.getElementById('progress-body');
  const statusLine = document.getElementById('progress-status');
  const qualityBox = document.getElementById('quality-box');
  let timer = null;
  let view = null;

  async function load() {
    try {
      view = await api('GET', `${ctx.base}/progress`);
    } catch (err) {
      if (err.status === 404 && err.code === 'not_configured') {
        box.replaceChildren(el('p', { class: 'muted' }, 'The progress view is not available on this server.'));
        return;
      }
      statusLine.textContent = `Could not load the progress: ${err.message}`;
      statusLine.className = 'form-status is-error';
      return;
    }
    render();
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    if (view && view.status === 'collecting') timer = setTimeout(() => { if (!document.hidden) load(); else schedule(); }, REFRESH_MS);
  }

  function render() {
    const v = view;
    box.replaceChildren(statusControl(v), numbers(v), annotatorsTable(v), setAsideList(v));
    // Built once: a refresh must not wipe what the lead is typing.
    if (!qualityBox.firstChild) qualityBox.append(qualityForm(v.settings));
  }

  // statusControl opens the queue (draft) or closes it (collecting), the
  // latter after the confirmation.
  function statusControl(v) {
    const wrap = el('div', { class: 'progress-status-row' });
    const text = {
      draft: 'Draft: annotators do not see this campaign yet.',
      collecting: 'Collecting: annotators get its tasks.',
      closed: 'Closed: the rating has ended for good.',
    }[v.status] || v.status;
    const p = el('p', { class: 'progress-state' });
    p.append(el('span', { class: `badge badge-${v.status}` }, v.status), ` ${text}`);
    wrap.append(p);
    if (v.status === 'draft') {
      const open = el('button', { type: 'button', class: 'btn btn-primary', id: 'open-queue' }, 'Open for rating');
      open.addEventListener('click', () => setStatus('collecting', open));
      wrap.append(open);
    } else if (v.status === 'collecting') {
      const close = el('button', { type: 'button', class: 'btn btn-danger', id: 'close-queue' }, 'Close the campaign…');
      close.addEventListener('click', async () => {
        if (await confirmClose(v.name)) await setStatus('closed', close);
        else close.focus();
      });
      wrap.append(close);
    }
    const refresh = el('button', { type: 'button', class: 'btn btn-quiet', id: 'progress-refresh' }, 'Refresh');
    refresh.addEventListener('click', load);
    wrap.append(refresh);
    return wrap;
  }

  async function setStatus(status, button) {
    button.disabled = true;
    try {
      await api('PATCH', ctx.base, { status });
    } catch (err) {
      statusLine.textContent = `Could not change the status: ${err.message}`;
      statusLine.className = 'form-status is-error';
      button.disabled = false;
      return;
    }
    statusLine.textContent = status === 'closed' ? 'The campaign is closed.' : 'The campaign is open for rating.';
    statusLine.className = 'form-status is-ok';
    ctx.changed({ status: true });
    await load();
    document.getElementById('progress-title').focus();
  }

  function numbers(v) {
    const t = v.tasks;
    const wrap = el('div', { class: 'progress-numbers' });
    const dl = el('dl', { class: 'stats', id: 'progress-counts' });
    const stat = (key, label, value, title) => {
      const s = el('div', { class: 'stat' });
      const dd = el('dd', { 'data-count': key }, value);
      if (title) dd.title = title;
      s.append(el('dt', {}, label), dd);
      dl.append(s);
    };
    stat('done', 'Tasks done', fmt.count(t.done));
    stat('in_progress', 'In progress', fmt.count(t.in_progress));
    stat('remaining', 'Not started', fmt.count(t.remaining));
    stat('set_aside', 'Set aside', fmt.count(t.set_aside));
    stat('ratings', 'Ratings', `${fmt.count(t.ratings_done)} / ${fmt.count(t.ratings_wanted)}`);
    stat('leases', 'Live leases', fmt.count(v.leases));
    const rate = v.throughput.per_hour;
    stat('per_hour', 'Per hour', rate == null ? '—' : rate.toLocaleString('en', { maximumFractionDigits: 1 }),
      `${v.throughput.last_hour} in the last hour, ${v.throughput.last_day} in the last 24 hours`);
    let eta = v.estimate ? `in ${fmt.hours(v.estimate.seconds / 3600)}` : '—';
    if (v.complete) eta = 'complete';
    else if (v.status === 'closed') eta = 'closed';
    stat('eta', 'Estimated end', eta, v.estimate ? `at ${fmt.when(v.estimate.at)}` : 'no estimate: no ratings in the last 24 hours, or not collecting');
    const g = v.gold_accuracy;
    stat('gold', 'Gold accuracy', g.accuracy == null ? '—' : pct(g.accuracy), `${g.correct} of ${g.scored} gold answers right`);
    const bar = el('progress', { id: 'progress-bar', max: String(Math.max(1, t.ratings_wanted)), value: String(t.ratings_done) });
    bar.setAttribute('aria-label', 'Ratings done');
    wrap.append(dl, bar);
    const notes = [];
    if (v.gold.tasks > 0) notes.push(`${fmt.count(v.gold.tasks)} gold tasks, ${fmt.count(v.gold.ratings_done)} gold answers (not counted above).`);
    if (v.excluded_ratings > 0) notes.push(`${fmt.count(v.excluded_ratings)} ratings are excluded from the results (kept in the database).`);
    if (v.position_bias && v.position_bias.share != null) {
      const b = v.position_bias;
      notes.push(`The caption shown first won ${pct(b.share)} of ${fmt.count(b.decisive)} choices (95 % CI ${pct(b.ci_low)}–${pct(b.ci_high)}, p = ${pval(b.p_value)}).`);
    }
    if (notes.length) wrap.append(el('p', { class: 'meta', id: 'progress-notes' }, notes.join(' ')));
    wrap.append(...replacementOffer(v));
    return wrap;
  }

  // replacementOffer: the excluded ratings still fill their tasks, which
  // then end with fewer ratings that count; the lead may ask for one more
  // rating on each (from someone else).
  function replacementOffer(v) {
    const r = v.replaceable;
    if (!r || r.ratings === 0) return [];
    const p = el('p', { class: 'meta', id: 'replacements' },
      r.tasks === 1
        ? `${fmt.counted(r.ratings, 'excluded rating')} still ${r.ratings === 1 ? 'fills' : 'fill'} 1 task, which then has fewer ratings that count than it asks for. `
        : `${fmt.counted(r.ratings, 'excluded rating')} still fill ${fmt.counted(r.tasks, 'task')}, which then have fewer ratings that count than they ask for. `);
    const ask = el('button', { type: 'button', class: 'btn', id: 'replace-excluded' },
      `Ask for ${fmt.counted(r.ratings, 'replacement rating')}`);
    ask.title = 'Each of those tasks asks for one more rating, from an annotator who has not rated it; nothing is deleted.';
    ask.addEventListener('click', () => replaceExcluded(ask));
    p.append(ask);
    return [p];
  }

  async function replaceExcluded(button) {
    button.disabled = true;
    let out;
    try {
      out = await api('POST', `${ctx.base}/replacements`);
    } catch (err) {
      statusLine.textContent = `Could not ask for replacements: ${err.message}`;
      statusLine.className = 'form-status is-error';
      button.disabled = false;
      return;
    }
    statusLine.textContent = `${fmt.counted(out.tasks, 'task')} ${out.tasks === 1 ? 'asks' : 'ask'} for ${fmt.counted(out.ratings, 'more rating')} in place of the excluded ones.` +
      (view.status === 'collecting' ? '' : ' Annotators get them once the campaign collects.');
    statusLine.className = 'form-status is-ok';
    await load();
    ctx.changed({ audit: true });
    document.getElementById('progress-title').focus();
  }

  function annotatorsTable(v) {
    const section = el('div', { class: 'progress-part' });
    section.append(el('h3', { id: 'annotators-title' }, 'Annotators'));
    if (v.annotators.length === 0) {
      section.append(el('p', { class: 'muted' }, 'Nobody has rated yet.'));
      return section;
    }
    const wrap = el('div', { class: 'table-wrap' });
    const t = el('table', { class: 'table table-compact', id: 'annotators-table' });
    t.append(el('caption', { class: 'visually-hidden' }, 'Each annotator’s ratings, gold accuracy and flags'));
    // The qualification column only where the campaign has one.
    const qualifying = v.settings.qualification_tasks > 0;
    const head = el('tr');
    for (const [label, num] of [['Annotator', false], ['Ratings', true], ['Today', true], ['Gold', true], ['Median time', true],
      ['Leases', true], ['Skips', true], ...(qualifying ? [['Qualification', false]] : []), ['Flags', false], ['In results', false]]) {
      head.append(el('th', num ? { scope: 'col', class: 'num' } : { scope: 'col' }, label));
    }
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    for (const a of v.annotators) {
      const tr = el('tr', { 'data-annotator': String(a.annotator.id) });
      if (a.exclusion.excluded) tr.className = 'is-disabled';
      const who = el('th', { scope: 'row' }, a.annotator.email || `user ${a.annotator.id}`);
      const g = a.gold;
      const flags = el('td', { class: 'flags' });
      if (a.flags.length === 0) flags.append('—');
      for (const fl of a.flags) flags.append(el('span', { class: 'badge badge-off flag', title: fl.message }, fl.code.replace(/_/g, ' ')), ' ');
      tr.append(who,
        el('td', { class: 'num' }, fmt.count(a.ratings)),
        el('td', { class: 'num' }, fmt.count(a.today)),
        el('td', { class: 'num', title: `${g.correct} of ${g.scored}` }, g.accuracy == null ? '—' : `${pct(g.accuracy)} (${g.correct}/${g.scored})`),
        el('td', { class: 'num' }, a.median_seconds == null ? '—' : fmt.duration(a.median_seconds)),
        el('td', { class: 'num' }, fmt.count(a.leases)),
        el('td', { class: 'num' }, fmt.count(a.skips)));
      if (qualifying) tr.append(el('td', {}, QUALIFICATION[a.qualification.status] || a.qualification.status));
      tr.append(flags, exclusionCell(a));
      tbody.append(tr);
    }
    t.append(thead, tbody);
    wrap.append(t);
    section.append(wrap);
    return section;
  }

  // exclusionCell says whether the annotator's ratings count and offers
  // the decision that changes it.
  function exclusionCell(a) {
    const td = el('td', { class: 'exclusion' });
    const ex = a.exclusion;
    let text = 'counted';
    if (ex.excluded) text = ex.by_policy ? 'excluded (flagged)' : 'excluded by the lead';
    else if (ex.decision === 'include') text = 'kept by the lead';
    td.append(el('span', { class: 'exclusion-state' }, text));
    const name = a.annotator.email || `user ${a.annotator.id}`;
    const button = (decision, label, aria) => {
      const b = el('button', { type: 'button', class: 'btn btn-small', 'data-decision': decision, 'aria-label': `${aria} ${name}` }, label);
      b.addEventListener('click', () => decide(a.annotator.id, decision, b));
      return b;
    };
    const buttons = el('span', { class: 'exclusion-actions' });
    if (ex.excluded) buttons.append(button('include', 'Include', 'Count the ratings of'));
    else buttons.append(button('exclude', 'Exclude', 'Exclude the ratings of'));
    if (ex.decision !== 'policy') buttons.append(' ', button('policy', 'Reset', 'Let the settings decide about'));
    td.append(buttons);
    return td;
  }

  async function decide(annotatorID, decision, button) {
    button.disabled = true;
    try {
      await api('PUT', `${ctx.base}/annotators/${annotatorID}/exclusion`, { decision });
    } catch (err) {
      statusLine.textContent = `Could not change the decision: ${err.message}`;
      statusLine.className = 'form-status is-error';
      button.disabled = false;
      return;
    }
    statusLine.textContent = {
      exclude: 'Their ratings are excluded from the results; nothing was deleted.',
      include: 'Their ratings count in the results.',
      policy: 'The quality settings decide about their ratings again.',
    }[decision];
    statusLine.className = 'form-status is-ok';
    await load();
    ctx.changed({ audit: true });
    document.querySelector(`#annotators-table tr[data-annotator="${annotatorID}"] .exclusion button`)?.focus();
  }

  function setAsideList(v) {
    const section = el('div', { class: 'progress-part', id: 'set-aside' });
    section.append(el('h3', { id: 'set-aside-title' }, `Set aside (${fmt.count(v.set_aside_total)})`));
    if (v.set_aside.length === 0) {
      section.append(el('p', { class: 'muted' }, 'No task is set aside. A task two annotators skip as “image broken” comes here for you to look at.'));
      return section;
    }
    const list = el('ul', { class: 'set-aside-list' });
    for (const s of v.set_aside) {
      const li = el('li', { class: 'set-aside-item', 'data-task': String(s.task_id) });
      const img = el('img', { src: `/api/v1/images/${s.image_sha256}`, alt: `Image ${s.external_id}`, loading: 'lazy', width: '96', height: '72' });
      const body = el('div', { class: 'set-aside-body' });
      body.append(el('p', { class: 'meta' }, `Task ${s.task_id} · image ${s.external_id} · set aside ${fmt.when(s.set_aside_at)}${s.left_out_at ? ' · left out' : ''}`));
      body.append(el('blockquote', {}, s.text_b ? `A: ${s.text_a} — B: ${s.text_b}` : s.text_a));
      const reasons = s.skips.map((k) => `${k.annotator.email || k.annotator.id}: ${k.reason === 'other' ? k.note : k.reason.replace(/_/g, ' ')}`);
      body.append(el('p', { class: 'meta' }, `Skipped by ${reasons.join('; ') || 'nobody'}`));
      const actions = el('div', { class: 'actions actions-start' });
      const back = el('button', { type: 'button', class: 'btn btn-small', 'data-decision': 'put_back' }, 'Put back in the queue');
      back.addEventListener('click', () => decideSetAside(s.task_id, 'put_back', back));
      actions.append(back);
      if (!s.left_out_at) {
        const out = el('button', { type: 'button', class: 'btn btn-small', 'data-decision': 'leave_out' }, 'Leave it out');
        out.addEventListener('click', () => decideSetAside(s.task_id, 'leave_out', out));
        actions.append(out);
      }
      body.append(actions);
      li.append(img, body);
      list.append(li);
    }
    section.append(list);
    return section;
  }

  async function decideSetAside(taskID, decision, button) {
    button.disabled = true;
    try {
      await api('POST', `${ctx.base}/set-aside/${taskID}`, { decision });
    } catch (err) {
      statusLine.textContent = `Could not decide about task ${taskID}: ${err.message}`;
      statusLine.className = 'form-status is-error';
      button.disabled = false;
      return;
    }
    statusLine.textContent = decision === 'put_back' ? `Task ${taskID} is back in the queue.` : `Task ${taskID} is left out.`;
    statusLine.className = 'form-status is-ok';
    await load();
    ctx.changed({ audit: true });
    document.getElementById('set-aside-title')?.setAttribute('tabindex', '-1');
    document.getElementById('set-aside-title')?.focus();
  }

  function qualityForm(settings) {
    const details = el('details', { class: 'rubric quality-settings', id: 'quality-settings' });
    details.append(el('summary', {}, 'Quality checks'));
    const form = el('form', { id: 'quality-form', novalidate: '' });
    const row = el('div', { class: 'field-row' });
    for (const [name, label, hint, attrs] of SETTINGS) {
      const field = el('div', { class: 'field' });
      const id = `qs-${name}`;
      field.append(el('label', { for: id }, label),
        el('input', { id, name, type: 'number', inputmode: 'decimal', 'aria-describedby': `${id}-hint`, ...attrs }),
        el('p', { class: 'hint', id: `${id}-hint` }, hint));
      row.append(field);
    }
    const check = el('div', { class: 'check' });
    check.append(el('input', { id: 'qs-exclude_flagged', name: 'exclude_flagged', type: 'checkbox' }),
      el('label', { for: 'qs-exclude_flagged' }, 'Leave the ratings of annotators flagged for gold accuracy out of the results (they stay in the database; you can keep anyone in)'));
    const actions = el('div', { class: 'actions' });
    actions.append(el('button', { type: 'submit', class: 'btn btn-primary' }, 'Save quality checks'));
    form.append(row, check, el('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' }), actions);
    details.append(form);
    fillQuality(form, settings);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = {};
      for (const [name] of SETTINGS) {
        const raw = form.elements.namedItem(name).value.trim();
        body[name] = raw === '' ? 0 : Number(raw);
      }
      if (body.min_gold_answers === 0) delete body.min_gold_answers; // blank: the default
      body.exclude_flagged = form.elements.namedItem('exclude_flagged').checked;
      await busy(form, async () => {
        let saved;
        try {
          saved = await api('PUT', `${ctx.base}/quality`, body);
        } catch (err) {
          showProblems(form, err);
          return;
        }
        fillQuality(form, saved);
        showStatus(form, 'Quality checks saved.', true);
        await load();
        ctx.changed({ audit: true });
      });
    });
    return details;
  }

  function fillQuality(form, s) {
    for (const [name] of SETTINGS) form.elements.namedItem(name).value = s[name] ?? '';
    form.elements.namedItem('exclude_flagged').checked = !!s.exclude_flagged;
  }

  document.addEventListener('campaign:changed', (event) => {
    const what = event.detail || {};
    if (!what.audit) load();
  });
  load();
}

function pct(x) {
  return typeof x === 'number' ? `${(x * 100).toLocaleString('en', { maximumFractionDigits: 1 })} %` : '—';
}

function pval(p) {
  if (typeof p !== 'number') return '—';
  return p < 0.001 ? '< 0.001' : p.toLocaleString('en', { maximumSignificantDigits: 2 });
}
