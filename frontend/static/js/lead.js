// lead.js: the Campaigns home. Lists the campaigns with their size and
// state; with none (or on a server without the campaign service) it shows
// an empty state that says how campaigns come into being.

import { api } from './api.js';
import { el, shell } from './shell.js';

await shell();
const box = document.getElementById('campaigns');
const status = document.getElementById('campaigns-status');

// Numbers shown per campaign, in column order.
const COUNTS = [['images', 'Images'], ['captioners', 'Captioners'], ['captions', 'Captions'], ['tasks', 'Tasks']];

async function load() {
  let campaigns = [];
  try {
    const data = await api('GET', '/api/v1/campaigns');
    campaigns = (data && data.campaigns) || [];
  } catch (err) {
    // A server without the campaign service (404, 405 or 503
    // not_configured) simply has no campaigns to show.
    const absent = err.status === 404 || err.status === 405 || err.code === 'not_configured';
    if (!absent) {
      status.textContent = `Could not load campaigns: ${err.message}`;
      status.className = 'form-status is-error';
    }
  }
  box.replaceChildren(campaigns.length === 0 ? emptyState() : table(campaigns));
}

function table(campaigns) {
  const wrap = el('div', { class: 'card table-wrap' });
  const t = el('table', { class: 'table', id: 'campaigns-table' });
  const head = el('tr');
  for (const label of ['Campaign', 'Mode', 'Status', ...COUNTS.map(([, l]) => l), 'Annotators']) {
    const numeric = !['Campaign', 'Mode', 'Status'].includes(label);
    head.append(el('th', numeric ? { scope: 'col', class: 'num' } : { scope: 'col' }, label));
  }
  const thead = el('thead');
  thead.append(head);
  const tbody = el('tbody');
  for (const c of campaigns) {
    const tr = el('tr');
    const name = el('th', { scope: 'row' });
    name.append(el('span', { class: 'campaign-name' }, c.name));
    if (c.description) name.append(el('span', { class: 'campaign-desc' }, c.description));
    const st = el('td');
    st.append(el('span', { class: `badge badge-${c.status || 'draft'}` }, c.status || 'draft'));
    tr.append(name, el('td', {}, c.mode || ''), st);
    const counts = c.counts || {};
    for (const [key] of COUNTS) {
      tr.append(el('td', { class: 'num' }, formatCount(counts[key])));
    }
    tr.append(el('td', { class: 'num' }, formatCount(c.annotators)));
    tbody.append(tr);
  }
  t.append(el('caption', { class: 'visually-hidden' }, 'Campaigns with their size and state'), thead, tbody);
  wrap.append(t);
  return wrap;
}

function formatCount(n) {
  return typeof n === 'number' ? n.toLocaleString('en') : '—';
}

function emptyState() {
  const wrap = el('div', { class: 'empty card' });
  wrap.append(
    el('img', { src: '/static/img/empty.svg', alt: '', width: '96', height: '72' }),
    el('h3', {}, 'No campaigns yet'),
    el('p', {}, 'A campaign brings together images, reference captions and one results file per captioner. Automatic metrics rank the captioners; the best outputs go to annotators.'),
  );
  const cli = el('p', { class: 'muted' }, 'From the command line: ');
  cli.append(el('code', {}, 'capeval campaign create --name NAME'));
  wrap.append(cli);
  return wrap;
}

await load();
