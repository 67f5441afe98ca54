// annotate.js: the annotator home. Rating tasks arrive with the annotation
// issue; for now it greets the annotator and shows an empty queue.

import { el, shell } from './shell.js';

const user = await shell();
const queue = document.getElementById('queue');

const wrap = el('div', { class: 'empty card' });
wrap.append(
  el('img', { src: '/static/img/empty.svg', alt: '', width: '96', height: '72' }),
  el('h3', {}, 'No tasks yet'),
  el('p', {}, `Thanks, ${user.name || user.email}. There is nothing to rate right now; a lead will assign tasks when a campaign starts collecting ratings.`),
);
queue.replaceChildren(queue.querySelector('h2'), wrap);
