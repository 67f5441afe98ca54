// lead.js: the Campaigns home. Lists the campaigns with their size and
// state, each linking to its page; with none (or on a server without the
// campaign service) it shows an empty state that says how campaigns come
// into being. The "New campaign" form creates one and opens its page.

import { api } from './api.js';
import { busy, clearErrors, formValues, showProblems } from './forms.js';
import { el, shell } from './shell.js';
import * as fmt from './format.js';

await shell();
const box = document.getElementById('campaigns');
const status = document.getElementById('campaigns-status');
const form = document.getElementById('new-campaign');

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
    name.append(el('a', { class: 'campaign-name', href: `/lead/campaigns/${encodeURIComponent(c.id)}` }, c.name));
    if (c.description) name.append(el('span', { class: 'campaign-desc', title: c.description }, c.description));
    const st = el('td');
    st.append(el('span', { class: `badge badge-${c.status || 'draft'}` }, c.status || 'draft'));
    tr.append(name, el('td', {}, c.mode || ''), st);
    const counts = c.counts || {};
    for (const [key] of COUNTS) {
      tr.append(el('td', { class: 'num' }, fmt.count(counts[key])));
    }
    // 0 named annotators means that every annotator may rate it.
    tr.append(el('td', { class: 'num' }, c.annotators === 0 ? 'All annotators' : fmt.count(c.annotators)));
    tbody.append(tr);
  }
  t.append(el('caption', { class: 'visually-hidden' }, 'Campaigns with their size and state'), thead, tbody);
  wrap.append(t);
  return wrap;
}

function emptyState() {
  const wrap = el('div', { class: 'empty card' });
  wrap.append(
    el('img', { src: '/static/img/empty.svg', alt: '', width: '96', height: '72' }),
    el('h3', {}, 'No campaigns yet'),
    el('p', {}, 'A campaign brings together images, reference captions and one results file per captioner. Automatic metrics rank the captioners; the best outputs go to annotators. Create one with the form on this page.'),
  );
  const cli = el('p', { class: 'muted' }, 'From the command line: ');
  cli.append(el('code', {}, 'capeval import --campaign NAME --images DIR --references FILE --results NAME=FILE'));
  wrap.append(cli);
  return wrap;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearErrors(form);
  const v = formValues(form);
  if (!v.name.trim()) {
    showProblems(form, { message: 'Enter a name for the campaign.', field: 'name' });
    return;
  }
  await busy(form, async () => {
    let created;
    try {
      created = await api('POST', '/api/v1/campaigns', { name: v.name.trim(), description: v.description.trim(), mode: v.mode });
    } catch (err) {
      showProblems(form, err);
      return;
    }
    window.location.assign(`/lead/campaigns/${encodeURIComponent(created.id)}#import-title`);
  });
});

await load();
