import type { RefObject } from 'preact';
import { FILTERS, withFilter, type Filter, type ListView } from '../state/view.js';

const LABEL: Record<Filter, string> = { all: 'All', active: 'Active', completed: 'Completed' };

export interface ToolbarProps {
  view: ListView;
  filter: Filter;
  query: string;
  searchRef: RefObject<HTMLInputElement | null>;
  onFilter(filter: Filter): void;
  onQuery(query: string): void;
  onMarkAll(): void;
  onClearCompleted(): void;
  /** Whether every shown task is done already (the button then marks them all not done). */
  allShownDone: boolean;
  /** Only part of the tasks is read yet (a reload's first screen): no counts. */
  counting: boolean;
}

/** Search, the All / Active / Completed filters (links: the filter lives in the URL), the count and the bulk actions. */
export function Toolbar({
  view,
  filter,
  query,
  searchRef,
  onFilter,
  onQuery,
  onMarkAll,
  onClearCompleted,
  allShownDone,
  counting,
}: ToolbarProps) {
  const counts: Record<Filter, number> = { all: view.total, active: view.left, completed: view.completed };
  return (
    <div class="toolbar">
      <div class="search">
        <label for="search" class="visually-hidden">
          Search tasks
        </label>
        <input
          id="search"
          ref={searchRef}
          type="search"
          placeholder="Search tasks"
          autocomplete="off"
          value={query}
          onInput={(e) => onQuery(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && query) {
              e.preventDefault();
              onQuery('');
            }
          }}
        />
      </div>
      <nav aria-label="Filter tasks">
        <ul class="filters">
          {FILTERS.map((f) => (
            <li key={f}>
              <a
                href={withFilter(location.href, f)}
                aria-current={f === filter ? 'page' : undefined}
                data-testid={`filter-${f}`}
                onClick={(e) => {
                  if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
                  e.preventDefault();
                  onFilter(f);
                }}
              >
                {LABEL[f]} {!counting && <span class="count">({counts[f]})</span>}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div class="bulk">
        <p class="left" data-testid="items-left">
          {counting ? 'Counting…' : `${view.left} ${view.left === 1 ? 'task' : 'tasks'} left`}
        </p>
        <button type="button" onClick={onMarkAll} data-testid="mark-all">
          {allShownDone ? 'Mark all not done' : 'Mark all done'}
        </button>
        {view.completed > 0 && !counting && (
          <button type="button" onClick={onClearCompleted} data-testid="clear-completed">
            Clear completed ({view.completed})
          </button>
        )}
      </div>
    </div>
  );
}
