// campaign-import.js: the Import section. The files go up in one multipart
// request with a progress bar (XMLHttpRequest's upload events); then the
// server checks and imports them and the import report is shown: what was
// added or already there, warnings, or every problem with its file and line.

import { upload } from './api.js';
import { busy, clearErrors, problemList, showError, showStatus } from './forms.js';
import { el } from './shell.js';
import * as fmt from './format.js';

export function initImport(ctx) {
  const form = document.getElementById('import-form');
  const rows = document.getElementById('results-rows');
  const bar = document.getElementById('upload-bar');
  const barBox = document.getElementById('upload');
  const barText = document.getElementById('upload-text');
  const report = document.getElementById('import-report');

  document.getElementById('add-results').addEventListener('click', () => {
    const n = rows.querySelectorAll('.results-row').length + 1;
    const row = el('div', { class: 'field-row results-row' });
    const file = el('div', { class: 'field' });
    file.append(el('label', { for: `im-results-${n}` }, `Results file ${n}`),
      el('input', { id: `im-results-${n}`, name: 'results', type: 'file', accept: '.json,.jsonl,.ndjson,.csv' }));
    const name = el('div', { class: 'field' });
    name.append(el('label', { for: `im-captioner-${n}` }, `Captioner of file ${n}`),
      el('input', { id: `im-captioner-${n}`, name: 'captioner', type: 'text', autocomplete: 'off', placeholder: 'name@version', 'aria-describedby': 'im-captioner-hint' }));
    row.append(file, name);
    rows.append(row);
    row.querySelector('input').focus();
  });

  // A captioner name defaults to the results file's name without
  // "results-" and the extension, which the lead can still change.
  rows.addEventListener('change', (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== 'file' || !input.files.length) return;
    const name = input.closest('.results-row').querySelector('input[name="captioner"]');
    if (name.value.trim() === '') {
      name.value = input.files[0].name.replace(/\.(json|jsonl|ndjson|csv)$/i, '').replace(/^results[-_]/i, '');
    }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = new FormData();
    const images = form.elements.namedItem('images').files;
    for (const f of images) body.append('images', f, f.name);
    const refs = form.elements.namedItem('references').files;
    if (refs.length) body.append('references', refs[0], refs[0].name);
    const ratings = form.elements.namedItem('ratings').files;
    if (ratings.length) body.append('ratings', ratings[0], ratings[0].name);
    if (form.elements.namedItem('without_images').checked) body.append('without_images', 'true');
    let results = 0;
    for (const row of rows.querySelectorAll('.results-row')) {
      const file = row.querySelector('input[type="file"]');
      const name = row.querySelector('input[name="captioner"]');
      if (!file.files.length) {
        if (name.value.trim()) {
          showError(form, { message: 'Choose the results file of this captioner, or clear its name.', field: file.id });
          return;
        }
        continue;
      }
      if (!name.value.trim()) {
        showError(form, { message: 'Name the captioner of this results file (NAME or NAME@VERSION).', field: name.id });
        return;
      }
      body.append('results', file.files[0], file.files[0].name);
      body.append('captioner', name.value.trim());
      results++;
    }
    if (images.length === 0 && refs.length === 0 && results === 0 && ratings.length === 0) {
      showError(form, { message: 'Choose at least one file: images, references, a results file or ratings.', field: 'im-images' });
      return;
    }
    report.replaceChildren();
    barBox.hidden = false;
    bar.value = 0;
    barText.textContent = 'Uploading…';
    // Announcing every percent would flood a screen reader: the live text
    // changes at most every 10 %.
    let said = -1;
    await busy(form, async () => {
      let rep;
      try {
        rep = await upload(`${ctx.base}/import`, body, (sent, total) => {
          const pct = Math.floor((sent / total) * 100);
          bar.value = pct;
          if (Math.floor(pct / 10) !== said) {
            said = Math.floor(pct / 10);
            barText.textContent = `Uploading: ${pct} % of ${size(total)}`;
          }
          if (sent >= total) barText.textContent = 'Uploaded. Checking and importing the files…';
        });
      } catch (err) {
        bar.value = 0;
        barBox.hidden = true;
        showStatus(form, err.message);
        if (err.problems && err.problems.length) {
          form.querySelector('.form-status').append(problemList(err.problems));
        }
        return;
      }
      bar.value = 100;
      barText.textContent = 'Import done.';
      renderReport(rep);
      showStatus(form, rep.unchanged ? 'These files were imported before: nothing changed.' : 'Imported.', true);
      form.reset();
      ctx.changed({ captioners: true });
      report.focus();
    });
  });

  function renderReport(rep) {
    const box = el('div', { class: 'report-body', id: 'import-summary' });
    box.append(el('h3', { id: 'import-report-title' }, 'Import report'));
    const t = el('table', { class: 'table table-compact', id: 'import-table' });
    t.append(el('caption', { class: 'visually-hidden' }, 'What the import added and what was there already'));
    const head = el('tr');
    for (const [label, num] of [['What', false], ['Added', true], ['Already there', true]]) {
      head.append(el('th', num ? { scope: 'col', class: 'num' } : { scope: 'col' }, label));
    }
    const thead = el('thead');
    thead.append(head);
    const tbody = el('tbody');
    const line = (what, counts, note) => {
      const tr = el('tr');
      const th = el('th', { scope: 'row' }, what);
      if (note) th.append(' ', el('span', { class: 'badge badge-on' }, note));
      tr.append(th, el('td', { class: 'num' }, fmt.count(counts.added)), el('td', { class: 'num' }, fmt.count(counts.unchanged)));
      tbody.append(tr);
    };
    line('Images', rep.images || {});
    line('References', rep.references || {});
    for (const c of rep.captioners || []) {
      line(`Captions of ${fmt.captioner(c)} (${c.file})`, c.captions || {}, c.new ? 'new captioner' : '');
    }
    if (rep.ratings) line(`Ratings (${rep.ratings.file})`, rep.ratings, 'imported');
    t.append(thead, tbody);
    const wrap = el('div', { class: 'table-wrap' });
    wrap.append(t);
    box.append(wrap);
    if (rep.warnings && rep.warnings.length) {
      box.append(el('h4', {}, `Warnings (${rep.warnings.length})`));
      const ul = el('ul', { class: 'warnings' });
      for (const w of rep.warnings) ul.append(el('li', {}, w));
      box.append(ul);
    }
    report.replaceChildren(box);
  }
}

function size(bytes) {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
