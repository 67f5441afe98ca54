// lead.js: the Campaigns home. The campaign API arrives with a later issue;
// until the server answers GET /api/v1/campaigns this page shows an empty
// state that says how campaigns come into being.

import { api } from './api.js';
import { el, shell } from './shell.js';

await shell();
const box = document.getElementById('campaigns');
const status = document.getElementById('campaigns-status');

async function load() {
  let campaigns = [];
  try {
    const data = await api('GET', '/api/v1/campaigns');
    campaigns = (data && data.campaigns) || [];
  } catch (err) {
    // 404/405: the endpoint does not exist yet, which is the empty state.
    if (err.status !== 404 && err.status !== 405) {
      status.textContent = `Could not load campaigns: ${err.message}`;
      status.className = 'form-status is-error';
    }
  }
  if (campaigns.length === 0) {
    box.replaceChildren(emptyState());
    return;
  }
  const list = el('ul', { class: 'card-list' });
  for (const c of campaigns) {
    const li = el('li', { class: 'card campaign' });
    const h = el('h3');
    h.append(el('a', { href: `/lead/campaigns/${encodeURIComponent(c.id)}` }, c.name));
    const meta = el('p', { class: 'meta' });
    meta.append(el('span', { class: 'badge' }, c.status || 'draft'), ` ${c.mode || 'likert'}`);
    li.append(h, meta);
    if (c.description) li.append(el('p', {}, c.description));
    list.append(li);
  }
  box.replaceChildren(list);
}

function emptyState() {
  const wrap = el('div', { class: 'empty card' });
  wrap.append(
    el('img', { src: '/static/img/empty.svg', alt: '', width: '96', height: '72' }),
    el('h3', {}, 'No campaigns yet'),
    el('p', {}, 'A campaign brings together images, reference captions and one results file per captioner. Automatic metrics rank the captioners; the best outputs go to annotators.'),
  );
  const cli = el('p', { class: 'muted' }, 'From the command line: ');
  cli.append(el('code', {}, 'capeval import --campaign NAME --images DIR --references FILE --results NAME=FILE'));
  wrap.append(cli);
  return wrap;
}

await load();
