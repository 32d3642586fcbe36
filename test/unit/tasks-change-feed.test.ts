import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHANGE_FEED } from '../../lib/definitions.js';
import type { Task } from '../../lambdas/contract.js';
import {
  buildChangesPage,
  changeKey,
  entryRange,
  isExpired,
  listSyncPosition,
  WINDOW_MS,
  type StoredTask,
} from '../../lambdas/tasks/change-feed.js';
import type { FeedPosition } from '../../lambdas/tasks/sync-token.js';

const A = '01JDZ3V8Q6T3N4W0F2H7K9M5PA';
const B = '01JDZ3V8Q6T3N4W0F2H7K9M5PB';
const C = '01JDZ3V8Q6T3N4W0F2H7K9M5PC';
const T0 = Date.parse('2026-12-01T10:00:00.000Z');

const task = (id: string, version: number): Task => ({
  id,
  title: `task ${id.slice(-1)}`,
  description: '',
  completed: false,
  createdAt: new Date(T0).toISOString(),
  updatedAt: new Date(T0).toISOString(),
  version,
});
const live = (id: string, version: number): StoredTask => ({ kind: 'task', task: task(id, version) });
const tombstone = (id: string, version: number): StoredTask => ({ kind: 'tombstone', taskId: id, version });
const entry = (stamp: number, taskId: string) => ({ key: changeKey(stamp, taskId), taskId });
const fresh = (since: number): FeedPosition => ({ since, after: '', passEnd: 0 });

describe('change keys', () => {
  it('sort by stamp as strings, whatever the digits', () => {
    fc.assert(
      fc.property(fc.nat(2 ** 45), fc.nat(2 ** 45), (a, b) => {
        fc.pre(a !== b);
        expect(changeKey(a, A) < changeKey(b, A)).toBe(a < b);
      }),
    );
  });

  it('start a fresh read at the first entry stamped at `since` or later, and a resumed one strictly after the last key', () => {
    const range = entryRange(fresh(T0));
    expect(changeKey(T0 - 1, C) > range.exclusiveStart).toBe(false);
    expect(changeKey(T0, A) > range.exclusiveStart).toBe(true);
    expect(entryRange({ since: T0, after: changeKey(T0 + 5, B), passEnd: T0 }).exclusiveStart).toBe(changeKey(T0 + 5, B));
  });
});

describe('buildChangesPage', () => {
  // Each row: what was read, and what the answer must be (the Replicache-style pull patch, no I/O).
  const cases: {
    name: string;
    position: FeedPosition;
    startedAt: number;
    entries: { key: string; taskId: string }[];
    more: boolean;
    items: [string, StoredTask][];
    changes: unknown[];
    next: FeedPosition;
    hasMore: boolean;
  }[] = [
    {
      name: 'nothing changed: the token moves to the request start less the safety window',
      position: fresh(T0),
      startedAt: T0 + 60_000,
      entries: [],
      more: false,
      items: [],
      changes: [],
      next: fresh(T0 + 60_000 - WINDOW_MS),
      hasMore: false,
    },
    {
      name: 'a request inside the window never moves the token backwards',
      position: fresh(T0),
      startedAt: T0 + 1_000,
      entries: [],
      more: false,
      items: [],
      changes: [],
      next: fresh(T0),
      hasMore: false,
    },
    {
      name: 'one entry per task at its latest change, oldest first, with current state',
      position: fresh(T0),
      startedAt: T0 + 60_000,
      entries: [entry(T0 + 1, A), entry(T0 + 2, B), entry(T0 + 3, A)],
      more: false,
      items: [
        [A, live(A, 3)],
        [B, live(B, 1)],
      ],
      changes: [
        { type: 'upsert', task: task(B, 1) },
        { type: 'upsert', task: task(A, 3) },
      ],
      next: fresh(T0 + 60_000 - WINDOW_MS),
      hasMore: false,
    },
    {
      name: 'a tombstone is a versioned delete; an entry whose task does not exist is left out',
      position: fresh(T0),
      startedAt: T0 + 60_000,
      entries: [entry(T0 + 1, A), entry(T0 + 2, C)],
      more: false,
      items: [[A, tombstone(A, 4)]],
      changes: [{ type: 'delete', taskId: A, version: 4 }],
      next: fresh(T0 + 60_000 - WINDOW_MS),
      hasMore: false,
    },
    {
      name: 'more entries: resume after the last key read, and remember where the pass ends',
      position: fresh(T0),
      startedAt: T0 + 60_000,
      entries: [entry(T0 + 1, A), entry(T0 + 2, B)],
      more: true,
      items: [
        [A, live(A, 1)],
        [B, live(B, 1)],
      ],
      changes: [
        { type: 'upsert', task: task(A, 1) },
        { type: 'upsert', task: task(B, 1) },
      ],
      next: { since: T0, after: changeKey(T0 + 2, B), passEnd: T0 + 60_000 - WINDOW_MS },
      hasMore: true,
    },
    {
      name: 'the last page of a pass ends it with the first page\u2019s token, not its own request time',
      position: { since: T0, after: changeKey(T0 + 2, B), passEnd: T0 + 60_000 - WINDOW_MS },
      startedAt: T0 + 600_000,
      entries: [entry(T0 + 3, C)],
      more: false,
      items: [[C, live(C, 2)]],
      changes: [{ type: 'upsert', task: task(C, 2) }],
      next: fresh(T0 + 60_000 - WINDOW_MS),
      hasMore: false,
    },
  ];

  it.each(cases)('$name', ({ position, startedAt, entries, more, items, changes, next, hasMore }) => {
    const page = buildChangesPage({ position, requestStartedAt: startedAt, entries, moreEntries: more, items: new Map(items) });
    expect(page).toEqual({ changes, next, hasMore });
  });

  it('cannot skip: a change committed after the request began is stamped at or after the token it answers', () => {
    // The model behind the argument in change-feed.ts: a write stamped s commits
    // at c with s ≤ c ≤ s + W. Whatever the request time R and however late the
    // commit, if the request did not see the change (c > R), the next request
    // reads it because s ≥ the new token.
    fc.assert(
      fc.property(
        fc.nat(10 ** 9),
        fc.nat(10 ** 9),
        fc.nat(WINDOW_MS),
        fc.nat(10 ** 6),
        (since, stampOffset, lag, requestOffset) => {
          const s = since + stampOffset;
          const c = s + lag;
          const R = s + requestOffset;
          fc.pre(c > R);
          const page = buildChangesPage({
            position: fresh(since),
            requestStartedAt: R,
            entries: [],
            moreEntries: false,
            items: new Map(),
          });
          expect(s).toBeGreaterThanOrEqual(page.next.since);
        },
      ),
    );
  });
});

describe('list sync token and retention', () => {
  it('gives the list\u2019s last page the token of the moment its first page was asked for, less the window', () => {
    expect(listSyncPosition(T0)).toEqual(fresh(T0 - CHANGE_FEED.safetyWindowSeconds * 1000));
  });

  it('expires a position older than the retention, and not one a second younger', () => {
    const retention = 3600;
    expect(isExpired(fresh(T0), T0 + retention * 1000 + 1, retention)).toBe(true);
    expect(isExpired(fresh(T0), T0 + retention * 1000 - 1000, retention)).toBe(false);
  });
});
