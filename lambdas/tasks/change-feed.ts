import { CHANGE_FEED } from '../../lib/definitions.js';
import type { ChangeEntry, Task } from '../contract.js';
import type { FeedPosition } from './sync-token.js';

/**
 * The change feed's logic, free of I/O (the store reads, this decides), in
 * the manner of Replicache's pull: what to read for a position, and what to
 * answer from what was read.
 *
 * Data: every task write first puts a change entry `<stamp>#<taskId>` (the
 * stamp is the tasks function's clock when the request began) in the
 * Changes table, then writes the task item. Entries carry no state: the
 * answer holds each task's current item, read strongly consistent after the
 * entries, so an entry whose task write failed or never happened is harmless.
 *
 * Why no change is skipped. W (CHANGE_FEED.safetyWindowSeconds) bounds how
 * long after its stamp s a write can commit: commit c ≤ s + W, because the
 * function stops at its timeout. A position `since` = t means every change
 * stamped before t is reflected. A request that began at R reads every entry
 * stamped ≥ t (a strongly consistent Query of the base table; a GSI is only
 * eventually consistent on AWS) and answers t' = max(t, R − W). Take a change
 * (s, c) that the client continuing from t' has not seen. If s ≥ t and its
 * entry committed before the Query, the answer has it (the entry commits
 * before the task, and the task is read after the entry). Otherwise the entry
 * committed after R, so s ≥ c − W > R − W, so s ≥ t' and the next request
 * reads it. If s < t, the same argument one request earlier. Nothing depends
 * on the order in which writers commit, only on W, so writers of one user
 * committing out of order are covered. Multi-page passes resume after the
 * last entry key read and end with the first page's t', so entries committed
 * during the pass are read again by the next one. The list's syncToken is
 * t' of the list's first page (its cursor carries the start time).
 *
 * The price: entries of the last W seconds are answered again (the client
 * drops versions it holds), and `behind` stays true up to W after a change.
 */

export const WINDOW_MS = CHANGE_FEED.safetyWindowSeconds * 1000;

/** Sort key of a change entry: zero-padded epoch ms, so string order is time order. */
export function changeKey(stampMs: number, taskId: string): string {
  return `${stampPrefix(stampMs)}#${taskId}`;
}

function stampPrefix(stampMs: number): string {
  return String(Math.max(0, Math.trunc(stampMs))).padStart(15, '0');
}

/** Where a read of the entries begins: strictly after `after`, or at the first key stamped `since` or later. */
export interface EntryRange {
  /** Keys strictly greater than this. */
  exclusiveStart: string;
}

export function entryRange(position: FeedPosition): EntryRange {
  // '#' sorts before every digit, so `<prefix(since - 1)>~` excludes stamp since-1 and keeps since.
  return { exclusiveStart: position.after !== '' ? position.after : `${stampPrefix(position.since - 1)}~` };
}

/** The token of the list's last page: every change committed before the listing began is in its pages. */
export function listSyncPosition(listStartedAt: number): FeedPosition {
  return { since: Math.max(0, listStartedAt - WINDOW_MS), after: '', passEnd: 0 };
}

/** A position older than the retention may need entries or tombstones TTL has removed. */
export function isExpired(position: FeedPosition, nowMs: number, retentionSeconds: number): boolean {
  return position.since < nowMs - retentionSeconds * 1000;
}

export interface ChangeEntryKey {
  key: string;
  taskId: string;
}

/** A task item as the feed needs it: live, or a tombstone with its delete version. */
export type StoredTask = { kind: 'task'; task: Task } | { kind: 'tombstone'; taskId: string; version: number };

export interface ChangesPage {
  changes: ChangeEntry[];
  next: FeedPosition;
  hasMore: boolean;
}

/**
 * The answer to a changes request that began at `requestStartedAt`, from the
 * entries read after the position (in key order, at most the page) and
 * whether more entries follow, and the current items of their tasks
 * (missing: the task does not exist, e.g. a create that failed after its
 * entry was written).
 */
export function buildChangesPage(input: {
  position: FeedPosition;
  requestStartedAt: number;
  entries: readonly ChangeEntryKey[];
  moreEntries: boolean;
  items: ReadonlyMap<string, StoredTask>;
}): ChangesPage {
  const { position, requestStartedAt, entries, moreEntries, items } = input;
  const passEnd = position.after !== '' ? position.passEnd : Math.max(position.since, requestStartedAt - WINDOW_MS);

  // Each task once, placed at its latest entry: oldest change first.
  const latest = new Map<string, number>();
  entries.forEach((entry, index) => {
    latest.delete(entry.taskId);
    latest.set(entry.taskId, index);
  });
  const changes: ChangeEntry[] = [];
  for (const taskId of latest.keys()) {
    const item = items.get(taskId);
    if (!item) continue;
    changes.push(item.kind === 'task' ? { type: 'upsert', task: item.task } : { type: 'delete', taskId, version: item.version });
  }

  const last = entries.at(-1);
  if (moreEntries && last) {
    return { changes, next: { since: position.since, after: last.key, passEnd }, hasMore: true };
  }
  return { changes, next: { since: passEnd, after: '', passEnd: 0 }, hasMore: false };
}
