import { describe, expect, it } from 'vitest';
import type { ViewTask } from '../../web/src/state/ops.js';
import { fold, listView, parseFilter, withFilter } from '../../web/src/state/view.js';
import { makeLayout } from '../../web/src/ui/windowing.js';

const T0 = '2026-11-27T10:00:00.000Z';

function view(id: string, title: string, completed = false, description = ''): ViewTask {
  return { id, title, description, completed, createdAt: T0, updatedAt: T0, version: 1, pending: false, conflict: false };
}

// Ids in creation order, as ULIDs sort.
const tasks = [
  view('01A', 'Buy milk', true),
  view('01B', 'Call the plumber', false, 'about the boiler'),
  view('01C', 'Café with Ana'),
  view('01D', 'Pay rent', true),
];
const ids = (rows: ViewTask[]) => rows.map((t) => t.id);

describe('listView', () => {
  it('lists newest first, so a new task shows at the top, and counts what is left', () => {
    const v = listView(tasks, 'all', '');
    expect(ids(v.rows)).toEqual(['01D', '01C', '01B', '01A']);
    expect(v).toMatchObject({ left: 2, completed: 2, total: 4 });
  });

  it('filters active and completed tasks; the counts stay those of every task', () => {
    expect(ids(listView(tasks, 'active', '').rows)).toEqual(['01C', '01B']);
    expect(ids(listView(tasks, 'completed', '').rows)).toEqual(['01D', '01A']);
    expect(listView(tasks, 'completed', '')).toMatchObject({ left: 2, completed: 2 });
  });

  it('searches titles and descriptions, every word, ignoring case and accents', () => {
    expect(ids(listView(tasks, 'all', 'BOILER').rows)).toEqual(['01B']);
    expect(ids(listView(tasks, 'all', 'cafe ana').rows)).toEqual(['01C']);
    expect(ids(listView(tasks, 'all', 'cafe bob').rows)).toEqual([]);
    expect(ids(listView(tasks, 'active', 'pay').rows)).toEqual([]);
    expect(ids(listView(tasks, 'all', '   ').rows)).toHaveLength(4);
  });

  it('keeps the tasks it is told to keep whatever the filter and search say (an open editor, a task just added)', () => {
    expect(ids(listView(tasks, 'active', 'plumber', new Set(['01A'])).rows)).toEqual(['01B', '01A']);
  });

  it('answers a search over 10,000 tasks from what it folded before (the same task objects)', () => {
    const many = Array.from({ length: 10_000 }, (_, i) =>
      view(`T${String(i).padStart(5, '0')}`, `Task ${String(i).padStart(5, '0')} · errands`),
    );
    // Each word anywhere: "0123" is in Task 00123 and in Task 01230 to 01239.
    expect(listView(many, 'all', 'task 0123').rows).toHaveLength(11);
    expect(listView(many, 'all', 'task 01234').rows.map((t) => t.title)).toEqual(['Task 01234 · errands']);
  });

  it('folds text for search', () => {
    expect(fold('Crème BRÛLÉE')).toBe('creme brulee');
  });
});

describe('the filter in the URL', () => {
  it('reads ?filter=, with anything else meaning all', () => {
    expect(parseFilter('?filter=active')).toBe('active');
    expect(parseFilter('?filter=completed&x=1')).toBe('completed');
    expect(parseFilter('?filter=bogus')).toBe('all');
    expect(parseFilter('')).toBe('all');
  });

  it('writes it, keeping other parameters and the hash, and drops it for all', () => {
    expect(withFilter('https://app.example/?x=1#top', 'active')).toBe('/?x=1&filter=active#top');
    expect(withFilter('https://app.example/?filter=active', 'all')).toBe('/');
  });
});

describe('the windowed list layout', () => {
  const keys = Array.from({ length: 10_000 }, (_, i) => `k${i}`);

  it('places rows of the same height arithmetically and finds the rows overlapping a span', () => {
    const layout = makeLayout(keys, 60, new Map());
    expect(layout.total).toBe(600_000);
    expect(layout.offset(100)).toBe(6_000);
    expect(layout.range(6_000, 6_600)).toEqual({ start: 100, end: 110 });
    expect(layout.range(-800, 800)).toEqual({ start: 0, end: 14 });
    expect(layout.range(599_000, 601_000)).toEqual({ start: 9_983, end: 10_000 });
  });

  it('accounts for a row that grew (an open editor) in every position after it', () => {
    const layout = makeLayout(keys, 60, new Map([['k10', 300]]));
    expect(layout.total).toBe(600_240);
    expect(layout.offset(10)).toBe(600);
    expect(layout.offset(11)).toBe(900);
    expect(layout.size(10)).toBe(300);
    // 650 px falls inside row 10, 950 px inside row 11.
    expect(layout.range(650, 950)).toEqual({ start: 10, end: 12 });
  });
});
