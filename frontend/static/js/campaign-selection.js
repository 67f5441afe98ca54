// campaign-selection.js: the Selection section. The thresholds form writes
// the campaign's thresholds document (its controls are named by the
// document's field paths, so a problem the server names lands on its
// control); saving shows the preview of what would be queued, and the
// commit, after a confirmation, queues exactly that (the preview's
// fingerprint makes the server refuse anything else).

import { api } from './api.js';
import { busy, clearErrors, showProblems } from './forms.js';
import { el } from './shell.js';
import * as fmt from './format.js';
import { sortableTable } from './sorttable.js';

// The metrics thresholds may use (annotation.Metrics), all higher-is-better.
const METRICS = ['Bleu_1', 'Bleu_2', 'Bleu_3', 'Bleu_4', 'ROUGE_L', 'CIDEr', 'CLIPScore', 'RefCLIPScore'];

export function initSelection(ctx) {
  const form = document.getElementById('thresholds-form');
  const f = form.elements;
  const previewBox = document.getElementById('preview');
  const dialog = document.getElementById('commit-dialog');
  const commitForm = document.getElementById('commit-form');
  let preview = null;
  let replace = false;

  buildMetricRows();
  fill(ctx.campaign());
  sync();
  form.addEventListener('change', sync);
  // A change of mode in Settings changes which controls apply.
  document.addEventListener('campaign:changed', sync);

  function buildMetricRows() {
    const select = f.namedItem('rank.metric');
    for (const m of METRICS) select.append(el('option', { value: m }, m));
    const body = document.getElementById('metric-rows');
    for (const m of METRICS) {
      const tr = el('tr');
      tr.append(el('th', { scope: 'row' }, m));
      for (const [kind, name, label] of [['w', `rank.weights.${m}`, `Weight of ${m}`], ['min', `min_scores.${m}`, `Minimum ${m}`]]) {
        const td = el('td', { class: kind === 'w' ? 'num weight-col' : 'num' });
        const id = `th-${kind}-${m}`;
        td.append(el('label', { for: id, class: 'visually-hidden' }, label),
          el('input', { id, name, type: 'number', step: 'any', min: '0', inputmode: 'decimal', class: 'input-small' }));
        tr.append(td);
      }
      body.append(tr);
    }
  }

  // fill puts the stored thresholds document into the form; absent fields
  // stay blank, meaning the server's defaults (which the preview shows).
  function fill(c) {
    const t = c.thresholds || {};
    const rank = t.rank || {};
    const weights = rank.weights || {};
    const byWeights = Object.keys(weights).length > 0;
    f.namedItem('rank_by').value = byWeights ? 'weights' : 'metric';
    f.namedItem('rank.metric').value = rank.metric || 'CIDEr';
    f.namedItem('rank.normalize').value = rank.normalize || 'minmax';
    for (const m of METRICS) {
      f.namedItem(`rank.weights.${m}`).value = weights[m] ?? '';
      f.namedItem(`min_scores.${m}`).value = (t.min_scores || {})[m] ?? '';
    }
    f.namedItem('top_k').value = t.top_k ?? '';
    f.namedItem('selection').value = t.selection || 'per_captioner';
    f.namedItem('per_image_top_k').value = t.per_image_top_k ?? '';
    const images = t.images || {};
    f.namedItem('images.count').value = images.count ?? '';
    f.namedItem('images.sampling').value = images.sampling || 'random';
    f.namedItem('images.tag_prefix').value = images.tag_prefix || '';
    f.namedItem('seed').value = t.seed ?? '';
    f.namedItem('ratings_per_item').value = t.ratings_per_item ?? '';
    f.namedItem('gold_rate').value = t.gold_rate ?? '';
    f.namedItem('pairs').value = t.pairs || 'all';
  }

  // sync shows the controls that apply to the current choices.
  function sync() {
    const byWeights = f.namedItem('rank_by').value === 'weights';
    document.getElementById('metric-field').hidden = byWeights;
    document.getElementById('normalize-field').hidden = !byWeights;
    for (const m of METRICS) f.namedItem(`rank.weights.${m}`).disabled = !byWeights;
    document.getElementById('metric-table').classList.toggle('no-weights', !byWeights);
    const perImage = f.namedItem('selection').value === 'per_image';
    document.getElementById('per-image-field').hidden = !perImage;
    document.getElementById('th-images-label').textContent = perImage ? 'Images in all' : 'Images per captioner';
    document.getElementById('tag-prefix-field').hidden = f.namedItem('images.sampling').value !== 'stratified';
    document.getElementById('pairs-field').hidden = ctx.campaign().mode !== 'pairwise';
  }

  // documentOf builds the thresholds document from the form, or returns
  // {problems} for numbers the browser could not read.
  function documentOf() {
    const problems = [];
    const num = (name) => {
      const input = f.namedItem(name);
      if (input.validity.badInput) {
        problems.push({ where: name, message: 'not a number' });
        return undefined;
      }
      return input.value.trim() === '' ? undefined : Number(input.value);
    };
    const doc = {};
    const seed = num('seed');
    if (seed !== undefined) doc.seed = seed;
    if (f.namedItem('rank_by').value === 'weights') {
      const weights = {};
      for (const m of METRICS) {
        const w = num(`rank.weights.${m}`);
        if (w !== undefined) weights[m] = w;
      }
      doc.rank = { weights, normalize: f.namedItem('rank.normalize').value };
    } else {
      doc.rank = { metric: f.namedItem('rank.metric').value };
    }
    const topK = num('top_k');
    if (topK !== undefined) doc.top_k = topK;
    const mins = {};
    for (const m of METRICS) {
      const v = num(`min_scores.${m}`);
      if (v !== undefined) mins[m] = v;
    }
    if (Object.keys(mins).length) doc.min_scores = mins;
    doc.selection = f.namedItem('selection').value;
    if (doc.selection === 'per_image') {
      const k = num('per_image_top_k');
      if (k !== undefined) doc.per_image_top_k = k;
    }
    doc.images = { count: num('images.count') ?? 0, sampling: f.namedItem('images.sampling').value };
    if (doc.images.sampling === 'stratified') doc.images.tag_prefix = f.namedItem('images.tag_prefix').value;
    const ratings = num('ratings_per_item');
    if (ratings !== undefined) doc.ratings_per_item = ratings;
    const gold = num('gold_rate');
    if (gold !== undefined) doc.gold_rate = gold;
    if (ctx.campaign().mode === 'pairwise') doc.pairs = f.namedItem('pairs').value;
    return problems.length ? { problems } : { doc };
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const { doc, problems } = documentOf();
    if (problems) {
      showProblems(form, { message: problems.length > 1 ? `${problems.length} problems.` : `${problems[0].where}: not a number.`, problems, field: problems[0].where });
      return;
    }
    await busy(form, async () => {
      try {
        await api('PUT', `${ctx.base}/thresholds`, doc);
      } catch (err) {
        showProblems(form, err);
        return;
      }
      ctx.changed({ thresholds: true });
      await runPreview(true);
    });
  });

  async function runPreview(focus) {
    let pv;
    try {
      pv = await api('POST', `${ctx.base}/selection/preview`, { replace, examples: 8 });
    } catch (err) {
      showProblems(form, err);
      return;
    }
    preview = pv;
    renderPreview(pv);
    const status = form.querySelector('.form-status');
    status.textContent = `Thresholds saved. The preview below shows what would be queued: ${fmt.count(pv.counts.tasks)} tasks.`;
    status.className = 'form-status is-ok';
    if (focus) previewBox.focus();
  }

  function renderPreview(pv) {
    const c = pv.counts;
    const parts = [el('h3', { id: 'preview-title' }, 'Preview')];
    const stats = el('dl', { class: 'stats', id: 'preview-counts' });
    const stat = (label, value, key) => {
      const box = el('div', { class: 'stat' });
      box.append(el('dt', {}, label), el('dd', key ? { 'data-count': key } : {}, value));
      stats.append(box);
    };
    stat('Captioners kept', fmt.count(c.captioners_kept), 'captioners_kept');
    stat('Captioners dropped', fmt.count(c.captioners_dropped), 'captioners_dropped');
    stat('Images', fmt.count(c.images), 'images');
    stat('Items', fmt.count(c.items), 'items');
    stat('Gold items', fmt.count(c.gold_items), 'gold_items');
    stat('Tasks', fmt.count(c.tasks), 'tasks');
    stat('Ratings needed', fmt.count(c.ratings_needed), 'ratings_needed');
    stat('Annotator time', fmt.hours(pv.estimated_hours), 'hours');
    parts.push(stats);
    const notes = [`Seed ${pv.seed}`, `ranked by ${rankText(pv.thresholds.rank)}`,
      `about ${pv.seconds_per_rating} s per rating`];
    if (c.shared_ratings) notes.push(`${fmt.count(c.shared_ratings)} identical captions share a rating`);
    if (c.captions_without_scores) notes.push(`${fmt.count(c.captions_without_scores)} captions have no scores`);
    parts.push(el('p', { class: 'meta' }, `${notes.join(' · ')}.`));
    if (pv.warnings && pv.warnings.length) {
      const ul = el('ul', { class: 'warnings', id: 'preview-warnings' });
      for (const w of pv.warnings) ul.append(el('li', {}, w));
      parts.push(ul);
    }
    parts.push(el('h4', {}, 'Captioners'));
    const wrap = el('div', { class: 'table-wrap' });
    wrap.append(sortableTable({
      id: 'ranking-table', caption: 'Captioners in ranking order, kept or dropped with the reason',
      rows: pv.captioners || [], sort: { key: 'rank', dir: 'ascending' },
      columns: [
        { key: 'rank', label: 'Rank', numeric: true, value: (r) => (r.rank > 0 ? r.rank : null) },
        { key: 'name', label: 'Captioner', rowHeader: true, value: (r) => fmt.captioner(r) },
        { key: 'combined', label: 'Ranking score', numeric: true, value: (r) => r.combined, cell: (r) => fmt.score(r.combined) },
        { key: 'items', label: 'Items', numeric: true, value: (r) => r.items, cell: (r) => fmt.count(r.items) },
        { key: 'kept', label: 'Decision', value: (r) => (r.kept ? 0 : 1), cell: decision },
      ],
    }));
    parts.push(wrap);
    if (pv.examples && pv.examples.length) {
      parts.push(el('h4', {}, 'Examples of queued tasks'));
      const ul = el('ul', { class: 'examples', id: 'preview-examples' });
      for (const ex of pv.examples) ul.append(example(ex));
      parts.push(ul);
    }
    parts.push(commitControls(pv));
    previewBox.replaceChildren(...parts);
    previewBox.hidden = false;
  }

  function rankText(rank) {
    if (rank.metric) return rank.metric;
    const w = Object.entries(rank.weights || {}).map(([m, x]) => `${x} × ${m}`).join(' + ');
    return `${w} (${rank.normalize})`;
  }

  function decision(r) {
    const span = el('span');
    span.append(el('span', { class: r.kept ? 'badge badge-on' : 'badge badge-off' }, r.kept ? 'kept' : 'dropped'));
    if (r.reason) span.append(' ', el('span', { class: 'reason' }, r.reason));
    return span;
  }

  function example(ex) {
    const li = el('li', { class: 'example' });
    const head = el('p', { class: 'meta' }, `Queue position ${ex.position} · image ${ex.image_external_id} · ${ex.kind === 'pair' ? 'pair' : 'single caption'}`);
    if (ex.gold) head.append(' ', el('span', { class: 'badge badge-collecting' }, 'gold'));
    li.append(head);
    for (const [label, side] of [['A', ex.a], ['B', ex.b]]) {
      if (!side) continue;
      const q = el('blockquote', {}, side.text);
      const who = el('p', { class: 'meta' }, `${ex.b ? `${label}: ` : ''}${(side.captioners || []).join(', ')}`);
      li.append(q, who);
    }
    return li;
  }

  function commitControls(pv) {
    const box = el('div', { class: 'commit' });
    const c = pv.counts;
    if (c.existing_tasks > 0) {
      const row = el('div', { class: 'check' });
      const cb = el('input', { type: 'checkbox', id: 'sel-replace' });
      cb.checked = replace;
      cb.addEventListener('change', async () => {
        replace = cb.checked;
        await runPreview(false);
        document.getElementById('sel-replace')?.focus();
      });
      row.append(cb, el('label', { for: 'sel-replace' },
        `Replace the ${fmt.count(c.existing_tasks - c.kept_tasks)} untouched tasks of the ${fmt.count(c.existing_tasks)} queued now (tasks with ratings are kept)`));
      box.append(row);
    }
    const actions = el('div', { class: 'actions' });
    const button = el('button', { type: 'button', class: 'btn btn-primary', id: 'commit-open' }, `Queue ${fmt.count(c.tasks)} tasks…`);
    button.disabled = c.tasks === 0 || (c.existing_tasks > 0 && !replace);
    button.addEventListener('click', () => openCommit(pv));
    actions.append(button);
    box.append(actions);
    if (c.existing_tasks > 0 && !replace) {
      box.append(el('p', { class: 'hint' }, 'The campaign has tasks already: tick "Replace" to queue this selection instead of the untouched ones.'));
    }
    return box;
  }

  function openCommit(pv) {
    const c = pv.counts;
    document.getElementById('commit-dialog-text').textContent =
      `This queues ${fmt.count(c.tasks)} tasks (${fmt.count(c.ratings_needed)} ratings, about ${fmt.hours(pv.estimated_hours)} of annotator time)` +
      ` from ${fmt.count(c.captioners_kept)} captioners${replace && c.replaced_tasks ? `, deleting ${fmt.count(c.replaced_tasks)} untouched tasks` : ''}.`;
    clearErrors(commitForm);
    dialog.showModal();
    document.getElementById('commit-confirm').focus();
  }

  document.getElementById('commit-cancel').addEventListener('click', () => dialog.close());
  commitForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(commitForm);
    await busy(commitForm, async () => {
      let res;
      try {
        res = await api('POST', `${ctx.base}/selection/commit`, { replace, fingerprint: preview.fingerprint });
      } catch (err) {
        showProblems(commitForm, err);
        return;
      }
      dialog.close();
      replace = false;
      const done = el('p', { class: 'notice notice-ok', id: 'commit-result', role: 'status', tabindex: '-1' },
        `Queued ${fmt.count(res.created)} tasks for the annotators${res.deleted ? ` and deleted ${fmt.count(res.deleted)} untouched ones` : ''}.`);
      previewBox.querySelector('.commit')?.replaceWith(done);
      done.focus();
      ctx.changed({ tasks: true });
    });
  });
}
