import type { ViewTask } from './ops.js';

/** The list's filters, kept in the URL as `?filter=active|completed` (none: all). */
export type Filter = 'all' | 'active' | 'completed';
export const FILTERS: readonly Filter[] = ['all', 'active', 'completed'];

export function parseFilter(search: string): Filter {
  const value = new URLSearchParams(search).get('filter');
  return value === 'active' || value === 'completed' ? value : 'all';
}

/** `href` with its filter set (other query parameters and the hash kept). */
export function withFilter(href: string, filter: Filter): string {
  const url = new URL(href);
  if (filter === 'all') url.searchParams.delete('filter');
  else url.searchParams.set('filter', filter);
  return url.pathname + url.search + url.hash;
}

/** Lower case and without accents, so "cafe" finds "Café". */
export function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** Folded title and description per task object: views are reused while a task is unchanged (ops.ts). */
const folded = new WeakMap<ViewTask, string>();

function searchText(task: ViewTask): string {
  let text = folded.get(task);
  if (text === undefined) {
    text = fold(`${task.title}\n${task.description}`);
    folded.set(task, text);
  }
  return text;
}

export interface ListView {
  /** What the list shows, newest first. */
  rows: ViewTask[];
  /** Tasks not done, whatever the filter and search. */
  left: number;
  completed: number;
  total: number;
}

/**
 * The rows for a filter and a search, newest first (ids are ULIDs: id order
 * is creation order), so a new task appears at the top, under the form that
 * made it. `keep`: ids shown whatever the filter says (a task being edited
 * must not vanish when a change elsewhere completes it).
 */
export function listView(
  tasks: readonly ViewTask[],
  filter: Filter,
  query: string,
  keep: ReadonlySet<string> = new Set(),
): ListView {
  const words = fold(query).split(/\s+/).filter(Boolean);
  const rows: ViewTask[] = [];
  let completed = 0;
  for (let i = tasks.length - 1; i >= 0; i--) {
    const task = tasks[i]!;
    if (task.completed) completed++;
    if (!keep.has(task.id)) {
      if (filter === 'active' ? task.completed : filter === 'completed' ? !task.completed : false) continue;
      if (words.length > 0) {
        const text = searchText(task);
        if (!words.every((w) => text.includes(w))) continue;
      }
    }
    rows.push(task);
  }
  return { rows, left: tasks.length - completed, completed, total: tasks.length };
}
