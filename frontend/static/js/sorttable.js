// sorttable.js: a table whose column headers sort it. Each sortable header
// holds a button (so Tab reaches it and Enter or Space presses it); the
// sorted column's header carries aria-sort, which screen readers announce.

import { el } from './shell.js';

/**
 * sortableTable returns a <table> of rows.
 *   columns: [{key, label, numeric, value(row), cell(row) → string|Node, rowHeader}]
 *   value gives the sort key (null or undefined sorts last either way);
 *   cell the content (default: value as text).
 *   sort: {key, dir: 'ascending'|'descending'} shown first.
 */
export function sortableTable({ id, caption, columns, rows, sort }) {
  const table = el('table', { class: 'table sortable', id });
  const head = el('tr');
  const ths = new Map();
  let current = sort || null;
  for (const col of columns) {
    const th = el('th', col.numeric ? { scope: 'col', class: 'num' } : { scope: 'col' });
    const button = el('button', { type: 'button', class: 'sort', 'data-key': col.key });
    button.append(el('span', {}, col.label), el('span', { class: 'sort-icon', 'aria-hidden': 'true' }));
    button.addEventListener('click', () => {
      const dir = current && current.key === col.key
        ? (current.dir === 'ascending' ? 'descending' : 'ascending')
        // Higher is better for every score, so numbers start with the best.
        : (col.numeric ? 'descending' : 'ascending');
      current = { key: col.key, dir };
      render();
    });
    th.append(button);
    ths.set(col.key, th);
    head.append(th);
  }
  const thead = el('thead');
  thead.append(head);
  const tbody = el('tbody');
  table.append(el('caption', { class: 'visually-hidden' }, `${caption}; the column headers sort the table`), thead, tbody);

  function render() {
    let order = rows.slice();
    if (current) {
      const col = columns.find((c) => c.key === current.key);
      const sign = current.dir === 'ascending' ? 1 : -1;
      order = order.map((row, i) => ({ row, i, v: col.value(row) })).sort((a, b) => {
        const am = a.v === null || a.v === undefined;
        const bm = b.v === null || b.v === undefined;
        if (am || bm) return am === bm ? a.i - b.i : (am ? 1 : -1);
        const c = typeof a.v === 'number' && typeof b.v === 'number' ? a.v - b.v : String(a.v).localeCompare(String(b.v), 'en');
        return c === 0 ? a.i - b.i : sign * c;
      }).map((x) => x.row);
    }
    for (const [key, th] of ths) {
      if (current && current.key === key) {
        th.setAttribute('aria-sort', current.dir);
      } else {
        th.removeAttribute('aria-sort');
      }
    }
    tbody.replaceChildren(...order.map((row) => {
      const tr = el('tr');
      for (const col of columns) {
        const attrs = col.numeric ? { class: 'num' } : {};
        const cell = col.rowHeader ? el('th', { ...attrs, scope: 'row' }) : el('td', attrs);
        const content = col.cell ? col.cell(row) : col.value(row);
        cell.append(content instanceof Node ? content : String(content ?? '—'));
        tr.append(cell);
      }
      return tr;
    }));
  }
  render();
  return table;
}
