// rate-view.js: the rating form of one task, built from what the API sent
// and nothing else (no captioner, score or gold flag ever reaches the
// page). Each Likert criterion is a fieldset of native radio buttons (a
// radio group to assistive technology: one Tab stop, arrows change the
// value); a pairwise task has one group of four choices. The session
// drives it through set/focus/state; rendering of the rubric and the
// instructions for the intro and the help dialog lives here too.

import { el } from './shell.js';

/** CHOICES are the pairwise answers with their keys, A and B as shown. */
export const CHOICES = [
  { value: 'A', key: 'a', label: 'A is better' },
  { value: 'B', key: 'b', label: 'B is better' },
  { value: 'tie', key: 't', label: 'About the same' },
  { value: 'both_bad', key: 'x', label: 'Both are bad' },
];

/** criteriaOf returns a rubric's criteria with their scale bounds filled in. */
export function criteriaOf(rubric) {
  const list = Array.isArray(rubric) ? rubric : (rubric && Array.isArray(rubric.criteria) ? rubric.criteria : []);
  return list.map((c) => {
    const scale = c.scale || {};
    const min = Number.isInteger(scale.min) ? scale.min : 1;
    const max = Number.isInteger(scale.max) ? scale.max : 5;
    return {
      key: String(c.key),
      name: c.name || String(c.key),
      description: c.description || '',
      min,
      max,
      labels: Array.isArray(scale.labels) ? scale.labels : [],
    };
  });
}

/** TaskView renders a task into the rating form's containers. */
export class TaskView {
  constructor(task, rubric, { question, captions, criteria, comment }) {
    this.task = task;
    this.pairwise = task.kind === 'pair';
    this.criteria = criteriaOf(rubric);
    this.comment = comment;
    this.groups = [];
    this.current = 0;
    question.textContent = this.pairwise ? 'Which caption describes the image better?' : 'How well does the caption describe the image?';
    captions.replaceChildren(...(this.pairwise ? pairCaptions(task) : singleCaption(task)));
    criteria.replaceChildren(...(this.pairwise ? this.choiceGroup() : this.criterionGroups()));
  }

  criterionGroups() {
    return this.criteria.map((c, i) => {
      const base = `rc-${c.key}`;
      const fs = el('fieldset', {
        class: 'rate-criterion', role: 'radiogroup', 'aria-labelledby': `${base}-name`,
        'aria-required': 'true', 'data-index': String(i),
      });
      const legend = el('legend', { class: 'rate-legend' });
      const value = el('span', { class: 'rate-crit-value', 'aria-hidden': 'true' });
      legend.append(el('span', { class: 'rate-crit-name', id: `${base}-name` }, c.name), value);
      fs.append(legend);
      if (c.description) {
        fs.setAttribute('aria-describedby', `${base}-desc`);
        fs.append(el('p', { class: 'rate-desc', id: `${base}-desc` }, c.description));
      }
      const scale = el('div', { class: 'rate-scale' });
      const inputs = [];
      for (let v = c.min; v <= c.max; v += 1) {
        const id = `${base}-${v}`;
        const input = el('input', { type: 'radio', class: 'rate-radio', id, name: `c-${c.key}`, value: String(v) });
        const label = el('label', { for: id, class: 'rate-point' });
        label.append(el('span', { class: 'rate-point-num' }, String(v)));
        const text = c.labels[v - c.min];
        if (text) {
          label.append(el('span', { class: 'rate-point-label' }, text));
          label.title = `${v}: ${text}`;
        }
        scale.append(input, label);
        inputs.push(input);
      }
      fs.append(scale);
      this.groups.push({ fieldset: fs, inputs, value, criterion: c });
      return fs;
    });
  }

  choiceGroup() {
    const nodes = [];
    if (this.criteria.length > 0) {
      // Named in one line; what each means is a click (or ?) away, so
      // that the captions and the choice stay on one screen.
      const aspects = el('details', { class: 'rate-aspects' });
      const summary = el('summary', {}, 'Judge by: ');
      summary.append(el('span', {}, this.criteria.map((c) => c.name).join(', ')));
      aspects.append(summary);
      const ul = el('ul');
      for (const c of this.criteria) {
        const li = el('li');
        li.append(el('strong', {}, c.name));
        if (c.description) li.append(' ', el('span', { class: 'rate-desc' }, c.description));
        ul.append(li);
      }
      aspects.append(ul);
      nodes.push(aspects);
    }
    const fs = el('fieldset', { class: 'rate-criterion rate-choice', role: 'radiogroup', 'aria-labelledby': 'rc-choice-name', 'aria-required': 'true', 'data-index': '0' });
    const legend = el('legend', { class: 'rate-legend' });
    const value = el('span', { class: 'rate-crit-value', 'aria-hidden': 'true' });
    legend.append(el('span', { class: 'rate-crit-name', id: 'rc-choice-name' }, 'Your choice'), value);
    fs.append(legend);
    const box = el('div', { class: 'rate-choices' });
    const inputs = [];
    for (const ch of CHOICES) {
      const id = `rc-choice-${ch.key}`;
      const input = el('input', { type: 'radio', class: 'rate-radio', id, name: 'choice', value: ch.value, 'aria-keyshortcuts': ch.key.toUpperCase() });
      const label = el('label', { for: id, class: 'rate-point rate-point-choice' });
      label.append(el('kbd', { 'aria-hidden': 'true' }, ch.key.toUpperCase()), el('span', { class: 'rate-point-text' }, ch.label));
      box.append(input, label);
      inputs.push(input);
    }
    fs.append(box);
    this.groups.push({ fieldset: fs, inputs, value, criterion: { name: 'your choice' } });
    nodes.push(fs);
    return nodes;
  }

  /** indexOf returns the group that holds node, or -1. */
  indexOf(node) {
    return this.groups.findIndex((g) => node instanceof Node && g.fieldset.contains(node));
  }

  checked(i) {
    const g = this.groups[i];
    return g ? g.inputs.find((x) => x.checked) || null : null;
  }

  /** set checks value v in group i; false when v is not on its scale. */
  set(i, v) {
    const g = this.groups[i];
    const input = g && g.inputs.find((x) => x.value === String(v));
    if (!input) return false;
    input.checked = true;
    this.refresh(i);
    return true;
  }

  /** refresh writes group i's chosen value into its legend. */
  refresh(i) {
    const g = this.groups[i];
    const input = this.checked(i);
    if (!input) {
      g.value.textContent = '';
      return;
    }
    if (this.pairwise) {
      g.value.textContent = CHOICES.find((c) => c.value === input.value).label;
      return;
    }
    const c = g.criterion;
    const label = c.labels[Number(input.value) - c.min];
    g.value.textContent = label ? `${input.value}: ${label}` : input.value;
  }

  /** focus moves focus into group i: to its chosen value, or its first. */
  focus(i) {
    const g = this.groups[Math.max(0, Math.min(i, this.groups.length - 1))];
    if (!g) return;
    (g.inputs.find((x) => x.checked) || g.inputs[0]).focus();
  }

  /** missing returns the first group without an answer, or -1. */
  missing() {
    return this.groups.findIndex((_, i) => !this.checked(i));
  }

  missingMessage(i) {
    return this.pairwise ? 'Choose A, B, tie (T) or both bad (X) first.' : `Rate ${this.groups[i].criterion.name} first.`;
  }

  /** state is what the annotator has entered. */
  state() {
    const s = { answers: {}, choice: '', comment: this.comment.value };
    if (this.pairwise) {
      s.choice = this.checked(0)?.value || '';
    } else {
      this.groups.forEach((g, i) => {
        const input = this.checked(i);
        if (input) s.answers[g.criterion.key] = Number(input.value);
      });
    }
    return s;
  }

  /** fill puts a state (a draft, or a rating being changed) back. */
  fill(s) {
    if (this.pairwise) {
      if (s.choice) this.set(0, s.choice);
    } else {
      this.groups.forEach((g, i) => {
        const v = s.answers ? s.answers[g.criterion.key] : undefined;
        if (v !== undefined) this.set(i, v);
      });
    }
    this.comment.value = s.comment || '';
    this.groups.forEach((_, i) => this.refresh(i));
  }
}

function singleCaption(task) {
  const label = el('p', { class: 'rate-caption-label', id: 'rate-caption-label' }, 'Caption');
  const quote = el('blockquote', { class: 'rate-caption', 'aria-labelledby': 'rate-caption-label' }, task.caption || '');
  return [label, quote];
}

function pairCaptions(task) {
  const wrap = el('div', { class: 'rate-pair' });
  for (const [side, text] of [['A', task.caption_a], ['B', task.caption_b]]) {
    const box = el('div', { class: 'rate-side' });
    const id = `rate-caption-${side.toLowerCase()}-label`;
    box.append(
      el('p', { class: 'rate-caption-label', id }, `Caption ${side}`),
      el('blockquote', { class: 'rate-caption', 'aria-labelledby': id }, text || ''),
    );
    wrap.append(box);
  }
  return [wrap];
}

/** instructionNodes renders the lead's instructions: plain text, blank lines between paragraphs. */
export function instructionNodes(text) {
  const t = (text || '').trim();
  if (!t) {
    return [el('p', { class: 'muted' }, 'The lead has written no instructions for this campaign; the criteria below say what to judge.')];
  }
  return t.split(/\n\s*\n/).map((p) => el('p', { class: 'rate-instructions-p' }, p.trim()));
}

/** rubricNodes lists the criteria with their descriptions and, for Likert, every point of the scale. */
export function rubricNodes(rubric, pairwise) {
  const criteria = criteriaOf(rubric);
  if (criteria.length === 0) return [];
  const heading = el('h3', {}, pairwise ? 'What makes a caption better' : 'The criteria');
  const dl = el('dl', { class: 'criteria rate-rubric' });
  for (const c of criteria) {
    dl.append(el('dt', {}, c.name));
    const dd = el('dd');
    if (c.description) dd.append(el('p', {}, c.description));
    if (!pairwise && c.labels.length > 0) {
      const ol = el('ol', { class: 'rate-scale-list', start: String(c.min) });
      c.labels.forEach((label) => ol.append(el('li', {}, label)));
      dd.append(ol);
    }
    dl.append(dd);
  }
  return [heading, dl];
}

/** keyRows are the help dialog's rows of keys for a mode. */
export function keyRows(pairwise) {
  const rows = pairwise
    ? [[['A'], 'Caption A is better'], [['B'], 'Caption B is better'], [['T'], 'About the same (tie)'], [['X'], 'Both are bad']]
    : [[['1', '5'], 'Rate the focused criterion and move to the next'],
      [['↑', '↓'], 'Move to the criterion above or below (Tab and Shift+Tab too)'],
      [['←', '→'], 'Change the focused criterion’s rating']];
  rows.push(
    [['Enter'], 'Submit'],
    [['S'], 'Skip this task (asks why)'],
    [['U'], 'Undo: open your last rating again to change it (for 5 minutes)'],
    [['Z'], 'Enlarge the image (or click it)'],
    [['?'], 'These keys and the instructions'],
    [['Esc'], 'Close a dialog, leave the comment field, or go back from a change'],
  );
  return rows.map(([keys, what]) => {
    const tr = el('tr');
    const th = el('th', { scope: 'row' });
    keys.forEach((k, i) => {
      if (i > 0) th.append(keys.length === 2 && /\d/.test(k) ? ' – ' : ' ');
      th.append(el('kbd', {}, k));
    });
    tr.append(th, el('td', {}, what));
    return tr;
  });
}
