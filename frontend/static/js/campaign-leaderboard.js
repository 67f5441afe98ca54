// campaign-leaderboard.js: the Leaderboard section of the lead's campaign
// page. It shows GET /campaigns/:id/leaderboard: the blended leaderboard
// with each captioner's interval, the sources' weights (a change re-ranks
// the table at once from the normalized scores the server sent; the
// intervals and Arena ranks follow from the server a moment later, and
// Save stores the weights, audited), the human–metric agreement with the
// server's scatter plots, the agreement between annotators, the two
// adjudication lists (open an item: its ratings and comments, set a value)
// and the downloads in every export format.

import { api } from './api.js';
import { busy, showProblems, showStatus } from './forms.js';
import { el } from './shell.js';

const FORMATS = [['csv', 'CSV'], ['json', 'JSON'], ['md', 'Markdown'], ['html', 'HTML report'], ['pdf', 'PDF']];
const NORMALIZATIONS = [['zscore', 'z-score'], ['minmax', 'min–max'], ['rank', 'rank']];
const CONSENSUS = [['mean', 'mean of the ratings'], ['z', 'mean of z-normalized ratings (each annotator’s scale evened out)']];
// A weight change waits this long for the next keystroke before asking
// the server for the new intervals.
const REFETCH_MS = 450;

const SVG = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** num formats a statistic (null: undefined) with d decimals. */
function num(v, d = 3) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '—';
}

function ci(v, d = 3) {
  if (!v) return '—';
  const lo = num(v.ci_low, d);
  const hi = num(v.ci_high, d);
  return lo === '—' && hi === '—' ? num(v.value, d) : `${num(v.value, d)} [${lo}, ${hi}]`;
}

/** sourcesOf lists the sources of the rows: human first, then the metrics by name. */
function sourcesOf(rows) {
  const set = new Set();
  for (const r of rows) for (const s of Object.keys(r.scores || {})) set.add(s);
  const metrics = [...set].filter((s) => s !== 'human').sort();
  return set.has('human') ? ['human', ...metrics] : metrics;
}

/**
 * reblend computes each row's blended value from its normalized scores
 * with the weights, as the server does: the weighted mean over the sources
 * of positive weight; a row missing one of them has none.
 */
export function reblend(rows, weights) {
  const used = Object.entries(weights).filter(([, w]) => w > 0);
  const total = used.reduce((a, [, w]) => a + w, 0);
  return rows.map((r) => {
    if (total <= 0) return { row: r, value: null };
    let sum = 0;
    for (const [s, w] of used) {
      const sc = (r.scores || {})[s];
      if (!sc || typeof sc.normalized !== 'number') return { row: r, value: null };
      sum += w * sc.normalized;
    }
    return { row: r, value: sum / total };
  }).sort((a, b) => {
    if (a.value === null || b.value === null) return (a.value === null) - (b.value === null) || a.row.captioner.localeCompare(b.row.captioner);
    return b.value - a.value || a.row.captioner.localeCompare(b.row.captioner);
  });
}

function sameWeights(a, b) {
  const keys = new Set([...Object.keys(a || {}), ...Object.keys(b || {})]);
  for (const k of keys) if ((a[k] || 0) !== (b[k] || 0)) return false;
  return true;
}

export function initLeaderboard(ctx) {
  const box = document.getElementById('leaderboard-body');
  const statusLine = document.getElementById('leaderboard-status');
  let lb = null; // the server's leaderboard for the settings below
  let saved = null; // the campaign's saved weights
  const settings = { normalization: '', consensus: '', include_excluded: false, tag: '' };
  let weights = {}; // what the inputs say
  let refetch = null;
  let seq = 0;

  function query(extra = {}) {
    const p = new URLSearchParams();
    const w = Object.entries(weights).filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(',');
    if (w) p.set('weights', w);
    for (const k of ['normalization', 'consensus', 'tag']) if (settings[k]) p.set(k, settings[k]);
    if (settings.include_excluded) p.set('include_excluded', 'true');
    for (const [k, v] of Object.entries(extra)) p.set(k, v);
    return p.toString();
  }

  async function load(first = false) {
    const mine = ++seq;
    statusLine.textContent = first ? '' : 'Computing the intervals…';
    statusLine.className = 'form-status';
    let doc;
    try {
      doc = await api('GET', `${ctx.base}/leaderboard${first ? '' : `?${query()}`}`);
    } catch (err) {
      if (mine !== seq) return;
      if (err.status === 404 && err.code === 'not_configured') {
        box.replaceChildren(el('p', { class: 'muted' }, 'The leaderboard is not available on this server.'));
        return;
      }
      statusLine.textContent = `Could not compute the leaderboard: ${err.message}`;
      statusLine.className = 'form-status is-error';
      return;
    }
    if (mine !== seq) return; // a newer request is on its way
    lb = doc;
    const s = lb.provenance.settings;
    if (first) {
      weights = { ...(s.weights || {}) };
      saved = { ...weights };
      settings.normalization = s.normalization;
      settings.consensus = s.consensus;
      settings.include_excluded = !!s.include_excluded;
      settings.tag = s.tag || '';
    }
    statusLine.textContent = '';
    render();
    loadCharts(mine);
  }

  function scheduleRefetch() {
    clearTimeout(refetch);
    refetch = setTimeout(() => load(), REFETCH_MS);
  }

  // ---- Rendering ----

  function render() {
    const rows = lb.leaderboard || [];
    if (rows.length === 0) {
      box.replaceChildren(el('p', { class: 'muted' }, 'No captioner yet: import results and rate some captions.'));
      return;
    }
    const sources = sourcesOf(rows);
    box.replaceChildren(
      controls(sources),
      el('div', { class: 'table-wrap', id: 'leaderboard-table-wrap' }),
      el('p', { class: 'hint', id: 'leaderboard-note' }),
      warnings(),
      correlation(),
      agreement(),
      adjudication(),
      downloads(),
    );
    renderTable();
  }

  function controls(sources) {
    const form = el('form', { id: 'leaderboard-form', class: 'leaderboard-form', novalidate: '' });
    const fs = el('fieldset');
    fs.append(el('legend', {}, 'Weights'));
    const grid = el('div', { class: 'weights' });
    for (const s of sources) {
      const id = `lw-${s.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      const field = el('div', { class: 'field field-weight' });
      const input = el('input', { id, name: `weight.${s}`, type: 'number', min: '0', step: '0.1', inputmode: 'decimal', 'data-source': s });
      input.value = weights[s] ? String(weights[s]) : '0';
      input.addEventListener('input', () => {
        const v = Number(input.value);
        weights[s] = Number.isFinite(v) && v >= 0 ? v : 0;
        renderTable();
        scheduleRefetch();
      });
      field.append(el('label', { for: id }, s === 'human' ? 'Human' : s), input);
      grid.append(field);
    }
    fs.append(grid, el('p', { class: 'hint' }, 'Each source is normalized across the captioners, then blended with these weights; 0 leaves a source out. The order changes as you type.'));
    const opts = el('div', { class: 'field-row' });
    opts.append(
      select('lb-normalization', 'Normalization', NORMALIZATIONS, settings.normalization, (v) => { settings.normalization = v; load(); }),
      select('lb-consensus', 'Consensus of an item', CONSENSUS, settings.consensus, (v) => { settings.consensus = v; load(); }),
      select('lb-tag', 'Images', [['', 'all images'], ...tags().map((t) => [t, `tagged ${t}`])], settings.tag, (v) => { settings.tag = v; load(); }),
    );
    const inc = el('div', { class: 'field check' });
    const cb = el('input', { type: 'checkbox', id: 'lb-include-excluded' });
    cb.checked = settings.include_excluded;
    cb.addEventListener('change', () => { settings.include_excluded = cb.checked; load(); });
    inc.append(cb, el('label', { for: 'lb-include-excluded' }, 'Count excluded annotators too'));
    opts.append(inc);
    const actions = el('div', { class: 'actions actions-start' });
    const save = el('button', { type: 'submit', class: 'btn btn-primary', id: 'lb-save' }, 'Save weights');
    const suggested = el('button', { type: 'button', class: 'btn', id: 'lb-suggested' }, 'Use the suggested weights');
    const reset = el('button', { type: 'button', class: 'btn btn-quiet', id: 'lb-reset' }, 'Back to the saved weights');
    suggested.disabled = !lb.suggested_weights || !lb.suggested_weights.weights;
    suggested.title = lb.suggested_weights ? lb.suggested_weights.basis || '' : '';
    suggested.addEventListener('click', () => {
      weights = { ...lb.suggested_weights.weights };
      setInputs(form);
      renderTable();
      scheduleRefetch();
    });
    reset.addEventListener('click', () => {
      weights = { ...saved };
      setInputs(form);
      renderTable();
      scheduleRefetch();
    });
    actions.append(save, suggested, reset);
    form.append(fs, opts, el('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' }), actions);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      await busy(form, async () => {
        const body = { weights: Object.fromEntries(Object.entries(weights).filter(([, w]) => w > 0)) };
        if (settings.normalization) body.normalization = settings.normalization;
        if (settings.consensus) body.consensus = settings.consensus;
        try {
          await api('PUT', `${ctx.base}/weights`, body);
        } catch (err) {
          showProblems(form, err);
          return;
        }
        saved = { ...body.weights };
        weights = { ...saved };
        showStatus(form, 'Weights saved (the audit log records the change).', true);
        ctx.changed({ weights: true });
        load();
      });
    });
    return form;
  }

  function setInputs(form) {
    for (const input of form.querySelectorAll('input[data-source]')) {
      const w = weights[input.dataset.source];
      input.value = w ? String(w) : '0';
    }
  }

  function select(id, label, options, value, onChange) {
    const field = el('div', { class: 'field' });
    const s = el('select', { id });
    for (const [v, text] of options) {
      const o = el('option', { value: v }, text);
      if (v === value) o.selected = true;
      s.append(o);
    }
    s.addEventListener('change', () => onChange(s.value));
    field.append(el('label', { for: id }, label), s);
    return field;
  }

  function tags() {
    return [...new Set((lb.slices || []).filter((x) => x.kind === 'tag').map((x) => x.name))].sort();
  }

  // renderTable draws the rows in the order the current weights give.
  function renderTable() {
    const wrap = document.getElementById('leaderboard-table-wrap');
    if (!wrap) return;
    const rows = lb.leaderboard || [];
    const serverWeights = lb.provenance.settings.weights || {};
    const local = !sameWeights(weights, serverWeights);
    const order = local ? reblend(rows, weights) : rows.map((r) => ({ row: r, value: r.blended ? r.blended.value : null }));
    const shown = Object.keys(weights).filter((s) => weights[s] > 0).sort((a, b) => (a === 'human' ? -1 : b === 'human' ? 1 : a.localeCompare(b)));
    // One scale for every bar: the values and, where known, the intervals.
    const vals = [];
    for (const o of order) {
      if (o.value !== null) vals.push(o.value);
      if (!local && o.row.blended) for (const k of ['ci_low', 'ci_high']) if (typeof o.row.blended[k] === 'number') vals.push(o.row.blended[k]);
    }
    let lo = Math.min(...vals);
    let hi = Math.max(...vals);
    if (!(hi > lo)) { lo -= 0.5; hi += 0.5; }
    const pad = (hi - lo) * 0.06;
    lo -= pad; hi += pad;

    const t = el('table', { class: 'table leaderboard', id: 'leaderboard-table' });
    t.append(el('caption', { class: 'visually-hidden' }, 'Captioners from best to worst by the blended score'));
    const head = el('tr');
    const cols = ['Rank', 'Captioner', 'Blended', 'Interval', ...shown.map((s) => (s === 'human' ? 'Human' : s)), 'Items'];
    for (const c of cols) head.append(el('th', { scope: 'col', class: ['Rank', 'Blended', 'Items'].includes(c) || shown.includes(c) || c === 'Human' ? 'num' : '' }, c));
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    order.forEach((o, i) => {
      const r = o.row;
      const tr = el('tr', { 'data-captioner': r.captioner });
      let rank = '—';
      if (local) {
        rank = o.value === null ? '—' : String(i + 1);
      } else if (r.rank !== null && r.rank !== undefined) {
        rank = r.rank_range && r.rank_range[1] !== r.rank_range[0] ? `${r.rank} (${r.rank_range[0]}–${r.rank_range[1]})` : String(r.rank);
      }
      tr.append(el('td', { class: 'num rank' }, rank), el('th', { scope: 'row' }, r.captioner));
      tr.append(el('td', { class: 'num blended' }, o.value === null ? '—' : num(o.value)));
      const barCell = el('td', { class: 'ci-cell' });
      barCell.append(ciBar(o.value, local ? null : r.blended, lo, hi, r.captioner));
      const ciText = !local && r.blended && typeof r.blended.ci_low === 'number' ? `[${num(r.blended.ci_low)}, ${num(r.blended.ci_high)}]` : '';
      barCell.append(el('span', { class: 'ci-text' }, ciText));
      tr.append(barCell);
      for (const s of shown) {
        const sc = (r.scores || {})[s];
        const td = el('td', { class: 'num' }, sc ? num(sc.raw, s === 'human' && sc.raw > 100 ? 0 : 3) : '—');
        if (sc) td.title = `normalized ${num(sc.normalized, 2)}${sc.status && sc.status !== 'rated' ? ` (${sc.status})` : ''}`;
        tr.append(td);
      }
      tr.append(el('td', { class: 'num' }, String(r.items)));
      if (r.note) tr.title = r.note;
      tbody.append(tr);
    });
    t.append(thead, tbody);
    wrap.replaceChildren(t);
    const note = document.getElementById('leaderboard-note');
    note.textContent = local
      ? 'Re-ranked with your weights from the normalized scores; the intervals and ranks follow from the server. Save keeps these weights.'
      : `Rank as Chatbot Arena ranks: 1 + the captioners whose ${pct(lb.provenance.settings.level)} interval lies wholly above; in brackets the ranks the intervals allow. ${lb.provenance.settings.resamples} bootstrap resamples, seed ${lb.provenance.settings.seed}.`;
  }

  function pct(level) {
    return `${Math.round((level || 0.95) * 100)}%`;
  }

  // ciBar draws a row's value (dot) and interval (bar) on the table's scale.
  function ciBar(value, blended, lo, hi, label) {
    const w = 180;
    const h = 18;
    const x = (v) => 6 + ((v - lo) / (hi - lo)) * (w - 12);
    const svg = svgEl('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}`, class: 'ci-bar', role: 'img' });
    const title = svgEl('title', {});
    title.textContent = value === null ? `${label}: not ranked` : `${label}: ${blended ? ci(blended) : num(value)}`;
    svg.append(title, svgEl('line', { x1: 2, y1: h / 2, x2: w - 2, y2: h / 2, class: 'ci-axis' }));
    if (lo < 0 && hi > 0) svg.append(svgEl('line', { x1: x(0), y1: 2, x2: x(0), y2: h - 2, class: 'ci-zero' }));
    if (blended && typeof blended.ci_low === 'number' && typeof blended.ci_high === 'number') {
      svg.append(svgEl('line', { x1: x(blended.ci_low), y1: h / 2, x2: x(blended.ci_high), y2: h / 2, class: 'ci-range' }));
    }
    if (value !== null) svg.append(svgEl('circle', { cx: x(value), cy: h / 2, r: 4.5, class: 'ci-point' }));
    return svg;
  }

  function warnings() {
    const list = lb.warnings || [];
    const box = el('div', { class: 'warnings' });
    if (list.length === 0) return box;
    const ul = el('ul');
    for (const w of list) ul.append(el('li', {}, w));
    box.append(ul);
    return box;
  }

  // ---- Human–metric agreement ----

  function correlation() {
    const sec = el('section', { class: 'subsection', 'aria-labelledby': 'lb-corr-title' });
    sec.append(el('h3', { id: 'lb-corr-title' }, 'Which metric agrees with the humans'));
    const rows = lb.metric_human_correlation || [];
    if (rows.length === 0) {
      sec.append(el('p', { class: 'muted' }, 'No metric has scores on human-rated captions yet: run the text metrics.'));
      return sec;
    }
    const t = el('table', { class: 'table table-compact', id: 'correlation-table' });
    const head = el('tr');
    for (const c of ['Metric', 'Criterion', 'Level', 'n', 'Kendall τc', 'Kendall τb', 'Spearman', 'Pearson']) head.append(el('th', { scope: 'col' }, c));
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    for (const r of rows) {
      const tr = el('tr');
      tr.append(el('th', { scope: 'row' }, r.metric), el('td', {}, r.criterion), el('td', {}, r.level), el('td', { class: 'num' }, String(r.n)),
        el('td', { class: 'nowrap' }, ci(r.kendall_tau_c, 2)), el('td', { class: 'nowrap' }, ci(r.kendall_tau_b, 2)),
        el('td', { class: 'nowrap' }, ci(r.spearman, 2)), el('td', { class: 'nowrap' }, ci(r.pearson, 2)));
      tbody.append(tr);
    }
    t.append(thead, tbody);
    const wrap = el('div', { class: 'table-wrap' });
    wrap.append(t);
    sec.append(wrap, el('div', { class: 'charts', id: 'lb-charts' }));
    return sec;
  }

  // loadCharts shows the server's scatter plots (the ones the report has)
  // as images of the SVG it draws.
  async function loadCharts(mine) {
    const box = document.getElementById('lb-charts');
    if (!box) return;
    let res;
    try {
      res = await api('GET', `${ctx.base}/charts?${query()}`);
    } catch {
      return; // the table says it all; the charts are a view of it
    }
    if (mine !== seq || !res) return;
    const figs = [];
    for (const c of res.scatter || []) {
      const url = URL.createObjectURL(new Blob([c.svg], { type: 'image/svg+xml' }));
      const fig = el('figure', { class: 'chart' });
      fig.append(el('img', { src: url, alt: `${c.metric} against the human score, one point per captioner`, width: '340', height: '290' }));
      figs.push(fig);
    }
    for (const old of box.querySelectorAll('img')) URL.revokeObjectURL(old.src);
    box.replaceChildren(...figs);
  }

  // ---- Agreement between annotators ----

  function agreement() {
    const sec = el('section', { class: 'subsection', 'aria-labelledby': 'lb-agree-title' });
    sec.append(el('h3', { id: 'lb-agree-title' }, 'How much the annotators agree'));
    const a = lb.agreement || {};
    const crit = a.criteria || [];
    if (crit.length === 0) {
      sec.append(el('p', { class: 'muted' }, 'No item has ratings from two annotators yet.'));
      return sec;
    }
    const t = el('table', { class: 'table table-compact', id: 'agreement-table' });
    const head = el('tr');
    for (const c of ['Criterion', 'Krippendorff’s α', 'Interval', 'Fleiss’ κ', 'Items', 'Ratings', 'Annotators']) head.append(el('th', { scope: 'col' }, c));
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    for (const c of crit) {
      const tr = el('tr');
      const alpha = c.alpha ? c.alpha[c.alpha_level] : null;
      tr.append(el('th', { scope: 'row' }, c.criterion), el('td', { class: 'num' }, `${num(alpha, 2)} (${c.alpha_level})`),
        el('td', { class: 'nowrap' }, c.alpha_ci ? `[${num(c.alpha_ci.low, 2)}, ${num(c.alpha_ci.high, 2)}]` : '—'),
        el('td', { class: 'num' }, num(c.fleiss_kappa, 2)), el('td', { class: 'num' }, String(c.items)),
        el('td', { class: 'num' }, String(c.ratings)), el('td', { class: 'num' }, String(c.annotators)));
      tbody.append(tr);
    }
    t.append(thead, tbody);
    const wrap = el('div', { class: 'table-wrap' });
    wrap.append(t);
    sec.append(wrap);
    const people = a.annotators || [];
    if (people.length > 0) {
      const pt = el('table', { class: 'table table-compact', id: 'annotator-agreement' });
      const ph = el('tr');
      for (const c of ['Annotator', 'Ratings', 'Gold accuracy', 'Agreement with the others (ρ)', 'Flags', 'Counted']) ph.append(el('th', { scope: 'col' }, c));
      const pthead = el('thead');
      pthead.append(ph);
      const pbody = el('tbody');
      for (const p of people) {
        const tr = el('tr', { class: p.excluded ? 'is-excluded' : '' });
        const rest = (p.criteria || []).find((x) => x.criterion === lb.provenance.settings.criterion) || (p.criteria || [])[0];
        tr.append(el('th', { scope: 'row' }, p.annotator), el('td', { class: 'num' }, String(p.ratings)),
          el('td', { class: 'num' }, p.gold_scored > 0 ? `${num(p.gold_accuracy, 2)} of ${p.gold_scored}` : '—'),
          el('td', { class: 'num' }, rest ? num(rest.rest_correlation, 2) : '—'),
          el('td', {}, (p.flags || []).join(', ') || '—'),
          el('td', {}, p.excluded ? 'no: excluded' : 'yes'));
        pbody.append(tr);
      }
      pt.append(pthead, pbody);
      const pw = el('div', { class: 'table-wrap' });
      pw.append(pt);
      sec.append(pw, el('p', { class: 'hint' }, 'Exclusions are decided in Rating progress; “Count excluded annotators too” above shows the leaderboard with them.'));
    }
    return sec;
  }

  // ---- Adjudication ----

  function adjudication() {
    const sec = el('section', { class: 'subsection', 'aria-labelledby': 'lb-adj-title' });
    sec.append(el('h3', { id: 'lb-adj-title' }, 'Items to adjudicate'));
    const q = lb.adjudication || {};
    sec.append(
      adjList('adj-disagreement', 'Where the annotators disagree most', q.disagreement || [], (it) => `spread ${num(it.spread, 2)}`),
      adjList('adj-metric', 'Where a metric and the humans disagree most', q.metric_human || [], (it) => `${it.metric} ${num(it.metric_value, 3)}, gap ${num(it.gap, 2)}`),
    );
    return sec;
  }

  function adjList(id, title, items, detail) {
    const box = el('div', { class: 'adj-list', id });
    box.append(el('h4', {}, title));
    if (items.length === 0) {
      box.append(el('p', { class: 'muted' }, 'Nothing here yet.'));
      return box;
    }
    const ul = el('ul', { class: 'adj-items' });
    for (const it of items.slice(0, 10)) {
      const li = el('li');
      const b = el('button', { type: 'button', class: 'btn btn-small', 'data-task': String(it.task_id), 'data-criterion': it.criterion }, 'Open');
      b.addEventListener('click', () => openItem(it));
      const text = `Image ${it.image} · ${it.criterion} · consensus ${num(it.consensus, 2)} · ${it.ratings} ratings · ${detail(it)}`;
      li.append(b, el('span', {}, ` ${text}`));
      if (it.adjudicated) li.append(el('span', { class: 'badge badge-on' }, `set to ${num(it.adjudicated.value, 2)}`));
      ul.append(li);
    }
    box.append(ul);
    return box;
  }

  function dialog() {
    let d = document.getElementById('adjudication-dialog');
    if (d) return d;
    d = el('dialog', { id: 'adjudication-dialog', class: 'dialog dialog-wide', 'aria-labelledby': 'adj-dialog-title' });
    document.body.append(d);
    return d;
  }

  async function openItem(item) {
    const d = dialog();
    let detail;
    try {
      detail = await api('GET', `${ctx.base}/adjudication/${item.task_id}`);
    } catch (err) {
      statusLine.textContent = `Could not open the item: ${err.message}`;
      statusLine.className = 'form-status is-error';
      return;
    }
    const form = el('form', { id: 'adjudication-form', novalidate: '' });
    form.append(el('h2', { id: 'adj-dialog-title' }, `Adjudicate: image ${detail.image.external_id}`));
    const layout = el('div', { class: 'adj-layout' });
    if (detail.image.sha256) {
      layout.append(el('img', { src: `/api/v1/images/${detail.image.sha256}`, alt: `Image ${detail.image.external_id}`, class: 'adj-image' }));
    } else {
      layout.append(el('p', { class: 'notice' }, 'This image was imported without its file.'));
    }
    const side = el('div');
    side.append(el('p', { class: 'adj-caption' }, `“${detail.caption_a.text}”`),
      el('p', { class: 'meta' }, `by ${(detail.caption_a.captioners || []).join(', ')}`));
    if (detail.caption_b) side.append(el('p', { class: 'adj-caption' }, `B: “${detail.caption_b.text}”`));
    const rt = el('table', { class: 'table table-compact', id: 'adjudication-ratings' });
    const rh = el('tr');
    for (const c of ['Annotator', ...detail.criteria, 'Comment']) rh.append(el('th', { scope: 'col' }, c));
    const rthead = el('thead');
    rthead.append(rh);
    const rbody = el('tbody');
    for (const r of detail.ratings) {
      const tr = el('tr', { class: r.excluded ? 'is-excluded' : '' });
      tr.append(el('th', { scope: 'row' }, `${r.annotator}${r.excluded ? ' (excluded)' : ''}`));
      for (const c of detail.criteria) tr.append(el('td', { class: 'num' }, r.answers ? num(r.answers[c], 2).replace(/\.00$/, '') : (r.choice || '—')));
      tr.append(el('td', {}, r.comment || ''));
      rbody.append(tr);
    }
    rt.append(rthead, rbody);
    const rw = el('div', { class: 'table-wrap' });
    rw.append(rt);
    side.append(rw);
    layout.append(side);
    form.append(layout);
    const crit = item.criterion;
    const inForce = (detail.in_force || {})[crit];
    const row = el('div', { class: 'field-row' });
    const vField = el('div', { class: 'field' });
    const rubric = (ctx.campaign().rubric || {}).criteria || [];
    const scale = (rubric.find((c) => c.key === crit) || {}).scale || { min: 1, max: 5 };
    const value = el('input', { id: 'adj-value', name: 'value', type: 'number', min: String(scale.min), max: String(scale.max), step: 'any', inputmode: 'decimal', required: '' });
    if (inForce && typeof inForce.value === 'number') value.value = String(inForce.value);
    vField.append(el('label', { for: 'adj-value' }, `Adjudicated ${crit} (${scale.min}–${scale.max})`), value);
    const nField = el('div', { class: 'field' });
    const note = el('input', { id: 'adj-note', name: 'note', type: 'text', maxlength: '2000', autocomplete: 'off' });
    nField.append(el('label', { for: 'adj-note' }, 'Note (why)'), note);
    row.append(vField, nField);
    form.append(row, el('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' }));
    const actions = el('div', { class: 'actions' });
    const cancel = el('button', { type: 'button', class: 'btn' }, 'Close');
    cancel.addEventListener('click', () => d.close());
    actions.append(cancel, el('button', { type: 'submit', class: 'btn btn-primary', id: 'adj-save' }, 'Set the value'));
    form.append(actions);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const v = Number(value.value);
      if (value.value === '' || !Number.isFinite(v)) {
        showProblems(form, { message: 'Enter the value the item deserves.', field: 'value' });
        return;
      }
      await busy(form, async () => {
        try {
          await api('PUT', `${ctx.base}/adjudication/${item.task_id}`, { criterion: crit, value: v, note: note.value });
        } catch (err) {
          showProblems(form, err);
          return;
        }
        d.close();
        ctx.changed({ adjudication: true });
        await load();
        statusLine.textContent = `Image ${detail.image.external_id}: ${crit} set to ${v}; it replaces the consensus everywhere.`;
        statusLine.className = 'form-status is-ok';
      });
    });
    d.replaceChildren(form);
    d.showModal();
    value.focus();
  }

  // ---- Downloads ----

  function downloads() {
    const sec = el('section', { class: 'subsection', 'aria-labelledby': 'lb-dl-title' });
    sec.append(el('h3', { id: 'lb-dl-title' }, 'Export for a review'));
    const p = el('p', { class: 'actions actions-start downloads', id: 'lb-downloads' });
    for (const [f, label] of FORMATS) {
      const a = el('a', { class: 'btn', href: '#', 'data-format': f, download: '' }, label);
      a.addEventListener('click', () => { a.href = `${ctx.base}/export?${query({ format: f })}`; });
      a.href = `${ctx.base}/export?${query({ format: f })}`;
      p.append(a);
    }
    sec.append(p, el('p', { class: 'hint' }, 'With the weights above. Every export records its settings, a hash of the data and the metric versions; the same data gives the same file.'));
    return sec;
  }

  document.addEventListener('campaign:changed', (event) => {
    const what = event.detail || {};
    if (what.weights || what.adjudication) return; // reloaded already
    load();
  });

  load(true);
}
