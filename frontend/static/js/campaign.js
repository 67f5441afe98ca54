// campaign.js: the lead's page of one campaign (/lead/campaigns/:id). This
// module loads the campaign, renders its header, settings and audit log, and
// starts the panels of the other sections: import, automatic scores and the
// selection. The panels tell the page that the campaign changed with a
// "campaign:changed" event, and the page reloads what shows it.

import { api } from './api.js';
import { busy, clearErrors, formValues, showProblems, showStatus } from './forms.js';
import { el, shell } from './shell.js';
import * as fmt from './format.js';
import { initImport } from './campaign-import.js';
import { initAutoeval } from './campaign-autoeval.js';
import { initSelection } from './campaign-selection.js';
import { confirmClose, initProgress } from './campaign-progress.js';
import { initLeaderboard } from './campaign-leaderboard.js';

await shell();
const id = Number(window.location.pathname.split('/').pop());
const base = `/api/v1/campaigns/${id}`;
const status = document.getElementById('campaign-status');
const settings = document.getElementById('campaign-form');

// The order statuses move in: the select offers only the current one and
// those after it, as the server allows.
const STATUSES = ['draft', 'collecting', 'closed'];
const COUNTS = [['images', 'Images'], ['captioners', 'Captioners'], ['captions', 'Captions'], ['tasks', 'Tasks']];

let campaign = null;
let loadError = null;

async function loadCampaign() {
  try {
    campaign = await api('GET', base);
  } catch (err) {
    loadError = err;
    status.textContent = err.status === 404 ? 'There is no such campaign. It may have been removed.' : `Could not load the campaign: ${err.message}`;
    status.className = 'form-status is-error';
    return null;
  }
  renderHeader();
  return campaign;
}

function renderHeader() {
  const c = campaign;
  document.title = `${c.name} · capeval`;
  document.getElementById('campaign-name').textContent = c.name;
  const meta = document.getElementById('campaign-meta');
  meta.replaceChildren(
    el('span', { class: `badge badge-${c.status}` }, c.status),
    ` ${c.mode === 'pairwise' ? 'Pairwise comparison' : 'Likert ratings'} · `,
    annotatorsText(c.annotators),
  );
  document.getElementById('campaign-desc').textContent = c.description || '';
  const dl = document.getElementById('campaign-counts');
  const items = [];
  for (const [key, label] of COUNTS) {
    const box = el('div', { class: 'stat' });
    box.append(el('dt', {}, label), el('dd', { 'data-count': key }, fmt.count((c.counts || {})[key])));
    items.push(box);
  }
  dl.replaceChildren(...items);
}

function annotatorsText(list) {
  if (!list || list.length === 0) return 'All annotators';
  if (list.length <= 3) return `Annotators: ${list.map((a) => a.email).join(', ')}`;
  return `${list.length} annotators`;
}

function fillSettings() {
  const c = campaign;
  const f = settings.elements;
  f.namedItem('name').value = c.name;
  f.namedItem('description').value = c.description || '';
  f.namedItem('mode').value = c.mode;
  const statusSelect = f.namedItem('status');
  const at = STATUSES.indexOf(c.status);
  for (const opt of statusSelect.options) opt.disabled = STATUSES.indexOf(opt.value) < at;
  statusSelect.value = c.status;
  f.namedItem('annotators').value = (c.annotators || []).map((a) => a.email).join(', ');
  f.namedItem('rubric').value = JSON.stringify(c.rubric, null, 2);
  renderRubric(c.rubric);
}

function renderRubric(rubric) {
  const box = document.getElementById('rubric-view');
  const list = el('dl', { class: 'criteria' });
  for (const cr of (rubric && rubric.criteria) || []) {
    list.append(el('dt', {}, `${cr.name} (${cr.key})`), el('dd', {}, cr.description || ''));
  }
  box.replaceChildren(list);
}

settings.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors(settings);
  const v = formValues(settings);
  if (!v.name.trim()) {
    showProblems(settings, { message: 'Enter a name.', field: 'name' });
    return;
  }
  // Only what changed is sent: a PATCH of an unchanged field would still be
  // checked (and refused, for the mode of a campaign with tasks).
  const patch = {};
  if (v.name.trim() !== campaign.name) patch.name = v.name.trim();
  if (v.description !== (campaign.description || '')) patch.description = v.description;
  if (v.mode !== campaign.mode) patch.mode = v.mode;
  if (v.status !== campaign.status) patch.status = v.status;
  const annotators = v.annotators.split(',').map((s) => s.trim()).filter(Boolean);
  const before = (campaign.annotators || []).map((a) => a.email);
  if (annotators.join(',') !== before.join(',')) patch.annotators = annotators;
  const rubricText = v.rubric.trim();
  if (rubricText === '') {
    patch.rubric = null;
  } else if (rubricText !== JSON.stringify(campaign.rubric, null, 2)) {
    try {
      patch.rubric = JSON.parse(rubricText);
    } catch (err) {
      showProblems(settings, { message: `The rubric is not valid JSON: ${err.message}`, field: 'rubric' });
      return;
    }
  }
  if (Object.keys(patch).length === 0) {
    showStatus(settings, 'Nothing to save: the settings are unchanged.', true);
    return;
  }
  if (patch.status === 'closed' && !(await confirmClose(campaign.name))) return;
  await busy(settings, async () => {
    try {
      campaign = await api('PATCH', base, patch);
    } catch (err) {
      if (err.field && err.field.startsWith('rubric')) settings.querySelector('details.rubric').open = true;
      showProblems(settings, err);
      return;
    }
    renderHeader();
    fillSettings();
    showStatus(settings, 'Settings saved.', true);
    changed({ campaign: true, status: patch.status !== undefined });
  });
});

async function loadAudit() {
  const box = document.getElementById('audit-log');
  let entries;
  try {
    entries = (await api('GET', `${base}/audit?limit=50`)).entries || [];
  } catch (err) {
    box.replaceChildren(el('p', { class: 'muted' }, `Could not load the audit log: ${err.message}`));
    return;
  }
  if (entries.length === 0) {
    box.replaceChildren(el('p', { class: 'muted' }, 'No changes recorded yet.'));
    return;
  }
  const t = el('table', { class: 'table', id: 'audit-table' });
  t.append(el('caption', { class: 'visually-hidden' }, 'Changes to this campaign, newest first'));
  const head = el('tr');
  for (const label of ['When', 'Who', 'What', 'Change']) head.append(el('th', { scope: 'col' }, label));
  const thead = el('thead');
  thead.append(head);
  const tbody = el('tbody');
  for (const e of entries) {
    const tr = el('tr');
    const change = el('td');
    change.append(diff(e.before, e.after));
    tr.append(el('td', { class: 'nowrap' }, fmt.when(e.created_at)),
      el('td', {}, e.actor ? e.actor.email : 'command line'),
      el('td', {}, e.action), change);
    tbody.append(tr);
  }
  t.append(thead, tbody);
  box.replaceChildren(t);
}

// diff shows an audit entry's before and after, folded: they can be long
// JSON documents.
function diff(before, after) {
  const d = el('details', { class: 'diff' });
  d.append(el('summary', {}, summaryOf(before, after)));
  const grid = el('div', { class: 'diff-grid' });
  grid.append(el('div', { class: 'diff-label' }, 'Before'), el('pre', {}, pretty(before)),
    el('div', { class: 'diff-label' }, 'After'), el('pre', {}, pretty(after)));
  d.append(grid);
  return d;
}

function summaryOf(before, after) {
  if (after && typeof after === 'object' && !Array.isArray(after) && before && typeof before === 'object' && !Array.isArray(before)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    if (keys.length > 0) return `Changed ${keys.join(', ')}`;
  }
  if (before === null || before === undefined) return 'Set';
  if (after === null || after === undefined) return 'Cleared';
  return 'Changed';
}

function pretty(v) {
  return v === null || v === undefined ? 'none' : JSON.stringify(v, null, 2);
}

/** changed tells every section that the campaign changed (what: {campaign, captioners, tasks}). */
function changed(what) {
  document.dispatchEvent(new CustomEvent('campaign:changed', { detail: what }));
}

document.addEventListener('campaign:changed', async (event) => {
  const what = event.detail || {};
  // Counts and the audit log change with nearly everything; reload both.
  if (!what.campaign) {
    const c = await loadCampaign();
    if (c && (what.thresholds || what.status)) fillSettings();
  }
  loadAudit();
});

if (await loadCampaign()) {
  fillSettings();
  const ctx = { id, base, campaign: () => campaign, changed };
  initImport(ctx);
  initAutoeval(ctx);
  initSelection(ctx);
  initProgress(ctx);
  initLeaderboard(ctx);
  loadAudit();
  // A link to a section (#selection) lands after the page is built.
  if (window.location.hash) document.querySelector(window.location.hash)?.scrollIntoView();
} else {
  // Without a campaign the sections could only fail one by one.
  for (const node of document.querySelectorAll('.section, .toc')) node.hidden = true;
  if (loadError && loadError.status === 404) document.getElementById('campaign-name').textContent = 'Campaign not found';
}
