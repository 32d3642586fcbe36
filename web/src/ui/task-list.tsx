import { useRef, useState } from 'preact/hooks';
import type { ViewTask } from '../state/ops.js';
import { TaskItem, type Draft, type RowHandlers } from './task-item.js';
import { useWindowedList } from './windowing.js';

export interface TaskListProps extends RowHandlers {
  /** The rows to show, in order (filtered and searched already). */
  rows: ViewTask[];
  drafts: ReadonlyMap<string, Draft>;
  online: boolean;
  fresh: ReadonlySet<string>;
  /** Filled in by the list: what the dashboard's shortcuts and focus moves call. */
  control: { current: ListControl | null };
}

export interface ListControl {
  /** Focuses the row (scrolling it into view); false when it is not in the list. */
  focusRow(id: string): boolean;
  focusIndex(index: number): boolean;
  /** The focused row's id, if focus is on or in a row. */
  focusedId(): string | null;
}

/**
 * The task list: windowed (windowing.ts), one roving tab stop among the rows,
 * and the row keys (↑/↓ or j/k to move, Enter or e to edit, x or Space to
 * mark done, Delete to delete) on a focused row.
 */
export function TaskList({ rows, drafts, online, fresh, control, ...handlers }: TaskListProps) {
  const listRef = useRef<HTMLUListElement>(null);
  const [activeId, setActiveId] = useState<string | null>(null);
  const [focusedId, setFocusedId] = useState<string | null>(null);
  const keys = useKeys(rows);
  const pinned = new Set(drafts.keys());
  if (focusedId) pinned.add(focusedId);
  if (activeId) pinned.add(activeId);
  const win = useWindowedList(listRef, keys, pinned);
  const active = activeId !== null && keys.includes(activeId) ? activeId : keys[0];
  const pendingFocus = useRef<string | null>(null);

  const focusIndex = (index: number): boolean => {
    const id = keys[index];
    if (id === undefined) return false;
    setActiveId(id);
    win.scrollToIndex(index);
    const el = win.element(id);
    if (el) el.focus({ preventScroll: true });
    else pendingFocus.current = id;
    return true;
  };
  control.current = {
    focusRow: (id) => focusIndex(keys.indexOf(id)),
    focusIndex,
    focusedId: () => {
      const li = document.activeElement?.closest?.('li[data-key]') as HTMLElement | null;
      return li && listRef.current?.contains(li) ? (li.dataset.key ?? null) : null;
    },
  };
  // A row asked to be focused before it was rendered.
  const want = pendingFocus.current;
  if (want) {
    queueMicrotask(() => {
      const el = win.element(want);
      if (el && pendingFocus.current === want) {
        pendingFocus.current = null;
        el.focus({ preventScroll: true });
      }
    });
  }

  function onKeyDown(e: KeyboardEvent) {
    const li = e.target as HTMLElement;
    // Only on the row itself: inside an editor or on a button the keys keep their meaning.
    if (li.tagName !== 'LI' || e.altKey || e.ctrlKey || e.metaKey) return;
    const id = li.dataset.key;
    if (!id) return;
    const index = keys.indexOf(id);
    const task = rows[index];
    if (!task) return;
    const move = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 }[e.key];
    if (move !== undefined) focusIndex(Math.max(0, Math.min(keys.length - 1, index + move)));
    else if (e.key === 'Home') focusIndex(0);
    else if (e.key === 'End') focusIndex(keys.length - 1);
    else if (e.key === 'Enter' || e.key === 'e') handlers.onEdit(id);
    else if (e.key === 'x' || e.key === ' ') handlers.onToggle(id, !task.completed);
    else if (e.key === 'Delete' || e.key === 'Backspace' || e.key === '#') handlers.onDelete(id);
    else return;
    e.preventDefault();
    e.stopPropagation();
  }

  return (
    <ul
      ref={listRef}
      class="tasks"
      aria-label="Tasks"
      data-testid="task-list"
      data-count={rows.length}
      style={{ height: `${win.height}px` }}
      onKeyDown={onKeyDown}
      onFocusIn={(e) => {
        const li = (e.target as HTMLElement).closest('li[data-key]') as HTMLElement | null;
        const id = li?.dataset.key ?? null;
        setFocusedId(id);
        if (id) setActiveId(id);
      }}
      onFocusOut={(e) => {
        if (!listRef.current?.contains(e.relatedTarget as Node | null)) setFocusedId(null);
      }}
    >
      {win.items.map(({ index, key, top }) => (
        <TaskItem
          key={key}
          task={rows[index]!}
          draft={drafts.get(key)}
          online={online}
          position={index + 1}
          size={rows.length}
          top={top}
          active={key === active}
          fresh={fresh.has(key)}
          rowRef={win.measure(key)}
          {...handlers}
        />
      ))}
    </ul>
  );
}

/** The rows' ids, as the same array while they do not change (the layout is computed per array). */
function useKeys(rows: ViewTask[]): string[] {
  const last = useRef<{ rows: ViewTask[]; keys: string[] } | null>(null);
  if (last.current?.rows === rows) return last.current.keys;
  const keys = rows.map((r) => r.id);
  const prev = last.current?.keys;
  if (prev && prev.length === keys.length && prev.every((k, i) => k === keys[i])) {
    last.current = { rows, keys: prev };
    return prev;
  }
  last.current = { rows, keys };
  return keys;
}
