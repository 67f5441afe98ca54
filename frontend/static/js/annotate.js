// annotate.js: the annotator's page. /annotate lists the collecting
// campaigns this annotator may rate, with their progress; /annotate?campaign=ID
// is the rating screen of one (rate-session.js). The outbox of answers not
// yet acknowledged belongs to the page, not to a campaign: it keeps sending
// while the annotator moves between the list and a campaign, and after a
// reload it sends what the last page could not.

import { api } from './api.js';
import * as fmt from './format.js';
import { Outbox, Store } from './rate-outbox.js';
import { NetStatus, Session, wireDialogs } from './rate-session.js';
import { el, shell } from './shell.js';

const user = await shell();
const queue = document.getElementById('queue');
const store = new Store(`capeval.rate.${user.id}.`);
let session = null;

const net = new NetStatus(() => outbox.size);
const outbox = new Outbox(store, {
  sent: (e, answer) => session?.sent(e, answer),
  failed: (e, err) => {
    if (session) {
      session.failed(e, err);
    } else {
      showListProblem(`An answer could not be saved: ${err.message}`);
    }
  },
  trouble: (err, ms) => net.trouble(err, ms),
  ok: () => net.ok(),
  idle: () => session?.fill(),
});

wireDialogs((reason) => session?.skip(reason));

// Leaving with answers not yet sent would lose them once the tab is gone
// (sessionStorage keeps them only for this tab).
window.addEventListener('beforeunload', (e) => {
  if (outbox.size > 0) e.preventDefault();
});

// Links marked data-nav move between the list and a campaign without
// loading the page again; a modified click opens a new tab as usual.
document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[data-nav], #rate-back') : null;
  if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  history.pushState(null, '', a.getAttribute('href'));
  route();
});
window.addEventListener('popstate', route);

async function campaigns() {
  try {
    const data = await api('GET', '/api/v1/annotator/campaigns');
    return (data && data.campaigns) || [];
  } catch (err) {
    // A server without the rating service (404, 405 or not_configured)
    // simply has nothing to rate.
    if (err.status === 404 || err.status === 405 || err.code === 'not_configured') return [];
    throw err;
  }
}

// routing counts route() calls: one that finds a newer one started while it
// waited (a double click, Back pressed quickly) gives way to it.
let routing = 0;

async function route() {
  routing += 1;
  const seq = routing;
  const id = Number.parseInt(new URLSearchParams(window.location.search).get('campaign') || '', 10);
  if (session) {
    session.close();
    session = null;
  }
  document.getElementById('rate-problem').hidden = true;
  let list;
  try {
    list = await campaigns();
  } catch (err) {
    if (seq !== routing) return;
    queue.hidden = false;
    showListProblem(`Could not load your campaigns: ${err.message}`);
    return;
  }
  if (seq !== routing) return;
  if (Number.isFinite(id) && id > 0) {
    const camp = list.find((c) => c.id === id);
    if (camp) {
      session = new Session({ campaign: camp, outbox, store, net });
      session.open();
      outbox.flush();
      return;
    }
    renderList(list, 'That campaign is not open to you: it is closed, or not assigned to you. Here are the ones that are.');
    return;
  }
  renderList(list);
  outbox.flush();
}

function renderList(list, notice = '') {
  queue.hidden = false;
  document.getElementById('rater').hidden = true;
  const nodes = [queue.querySelector('h2')];
  if (notice) nodes.push(el('p', { class: 'notice', role: 'status' }, notice));
  nodes.push(list.length === 0 ? emptyState() : cards(list));
  queue.replaceChildren(...nodes);
  document.title = 'Rate · capeval';
}

function cards(list) {
  const ul = el('ul', { class: 'card-list rate-campaigns', id: 'rate-campaigns' });
  for (const c of list) {
    const li = el('li', { class: 'card rate-campaign' });
    const titleId = `camp-${c.id}-name`;
    li.setAttribute('aria-labelledby', titleId);
    const head = el('div', { class: 'rate-campaign-head' });
    head.append(el('h3', { id: titleId }, c.name), el('span', { class: 'badge' }, c.mode === 'pairwise' ? 'Pairwise' : 'Likert'));
    li.append(head);
    const total = c.tasks_total || 0;
    const done = Math.min(c.tasks_done || 0, total);
    const barId = `camp-${c.id}-bar`;
    const bar = el('progress', { id: barId, max: String(Math.max(1, total)), value: String(done), 'aria-labelledby': `${barId}-text` });
    li.append(bar, el('p', { class: 'meta', id: `${barId}-text` }, `${fmt.count(done)} of ${fmt.count(total)} tasks complete`));
    const mine = el('p', { class: 'rate-campaign-mine' });
    const today = c.daily_cap > 0 ? `${fmt.count(c.done_today || 0)} of ${fmt.count(c.daily_cap)} today` : `${fmt.count(c.done_today || 0)} today`;
    mine.append('You rated ', el('strong', {}, fmt.count(c.done_by_me || 0)), ` (${today}); `,
      el('strong', {}, fmt.count(c.remaining_for_me || 0)), ' left for you.');
    li.append(mine);
    const actions = el('div', { class: 'actions actions-start' });
    if ((c.remaining_for_me || 0) > 0) {
      const label = (c.done_by_me || 0) > 0 ? 'Continue rating' : 'Start rating';
      const a = el('a', { class: 'btn btn-primary', href: `/annotate?campaign=${encodeURIComponent(c.id)}`, 'data-nav': 'campaign', 'aria-describedby': titleId }, label);
      actions.append(a);
    } else {
      actions.append(el('p', { class: 'muted' }, 'Nothing left for you to rate here. Thank you!'));
    }
    li.append(actions);
    ul.append(li);
  }
  return ul;
}

function emptyState() {
  const wrap = el('div', { class: 'empty card' });
  wrap.append(
    el('img', { src: '/static/img/empty.svg', alt: '', width: '96', height: '72' }),
    el('h3', {}, 'No tasks yet'),
    el('p', {}, `Thanks, ${user.name || user.email}. There is nothing to rate right now; a lead will assign tasks when a campaign starts collecting ratings.`),
  );
  return wrap;
}

function showListProblem(text) {
  let box = document.getElementById('list-problem');
  if (!box) {
    box = el('p', { class: 'notice notice-error', id: 'list-problem', role: 'alert' });
    queue.prepend(box);
  }
  box.textContent = text;
}

await route();
// Browser tests wait for this before pressing keys.
document.body.dataset.ready = 'true';
