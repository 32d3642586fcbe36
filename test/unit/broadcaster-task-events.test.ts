import { describe, expect, it } from 'vitest';
import { parseTaskRecord, PoisonRecordError } from '../../lambdas/events/task-events.js';
import { sequenceNumber, streamRecord, task, tombstoneRecord } from './fixtures/stream-events.js';

const parse = (...args: Parameters<typeof parseTaskRecord>) => {
  const parsed = parseTaskRecord(...args);
  if (!parsed) throw new Error('record was ignored');
  return parsed;
};

describe('parseTaskRecord', () => {
  it('turns an INSERT into TASK_CREATED carrying the task without userId and with taskId as id', () => {
    const created = task({ title: 'Buy milk', description: 'semi-skimmed' });
    const record = streamRecord({ eventName: 'INSERT', userId: 'user-a', task: created, seq: 1 });

    const parsed = parse(record);

    expect(parsed).toEqual({
      userId: 'user-a',
      sequenceNumber: sequenceNumber(1),
      event: { type: 'TASK_CREATED', eventId: record.eventID, at: created.updatedAt, taskId: created.id, task: created },
    });
    expect(Object.keys(parsed.event)).toEqual(['type', 'eventId', 'at', 'taskId', 'task']);
  });

  it('turns a MODIFY into TASK_UPDATED stamped with the new updatedAt', () => {
    const updated = task({ completed: true, version: 3, updatedAt: '2026-11-27T11:30:00.000Z' });

    const { event } = parse(streamRecord({ eventName: 'MODIFY', userId: 'user-a', task: updated, seq: 2 }));

    expect(event).toMatchObject({ type: 'TASK_UPDATED', at: '2026-11-27T11:30:00.000Z', task: updated });
  });

  it('turns the MODIFY that leaves a tombstone into TASK_DELETED carrying the tombstone version', () => {
    const live = task({ version: 4 });
    const record = tombstoneRecord({ userId: 'user-a', task: live, seq: 8, deletedAt: '2026-11-27T12:00:00.000Z' });

    expect(parse(record)).toEqual({
      userId: 'user-a',
      sequenceNumber: sequenceNumber(8),
      event: { type: 'TASK_DELETED', eventId: record.eventID, at: '2026-11-27T12:00:00.000Z', taskId: live.id, version: 5 },
    });
  });

  it('ignores TTL removing a tombstone: bookkeeping, not a user change', () => {
    const record = tombstoneRecord({ userId: 'user-a', task: task({ version: 2 }), seq: 9 });
    const removal = streamRecord({ eventName: 'REMOVE', userId: 'user-a', task: task(), seq: 10, byTtl: true });
    removal.dynamodb!.OldImage = record.dynamodb!.NewImage;

    expect(parseTaskRecord(removal)).toBeUndefined();
  });

  it('ignores any removal by TTL, whatever the item was', () => {
    const record = streamRecord({ eventName: 'REMOVE', userId: 'user-a', task: task(), seq: 4, byTtl: true });

    expect(parseTaskRecord(record)).toBeUndefined();
  });

  it('ignores a removal of a tombstone made outside TTL (cleanup), and a write to an item that was a tombstone', () => {
    const tombstone = tombstoneRecord({ userId: 'user-a', task: task({ version: 2 }), seq: 11 });
    const removal = streamRecord({ eventName: 'REMOVE', userId: 'user-a', task: task(), seq: 12 });
    removal.dynamodb!.OldImage = tombstone.dynamodb!.NewImage;
    const rewrite = tombstoneRecord({ userId: 'user-a', task: task({ version: 2 }), seq: 13 });
    rewrite.dynamodb!.OldImage = tombstone.dynamodb!.NewImage;

    expect(parseTaskRecord(removal)).toBeUndefined();
    expect(parseTaskRecord(rewrite)).toBeUndefined();
  });

  it('rejects a tombstone without a version as poison', () => {
    const record = tombstoneRecord({ userId: 'user-a', task: task(), seq: 14 });
    delete record.dynamodb!.NewImage!.version;

    expect(() => parseTaskRecord(record)).toThrow(PoisonRecordError);
  });

  it('turns a REMOVE of a live task (outside the API) into TASK_DELETED at the next version, stamped with the approximate creation time of the record', () => {
    const removed = task();
    const record = streamRecord({
      eventName: 'REMOVE',
      userId: 'user-a',
      task: removed,
      seq: 3,
      approximateCreationDateTime: 1_795_780_800,
    });

    expect(parse(record).event).toEqual({
      type: 'TASK_DELETED',
      eventId: record.eventID,
      at: new Date(1_795_780_800_000).toISOString(),
      taskId: removed.id,
      version: removed.version + 1,
    });
  });

  it('never stamps a REMOVE earlier than the last update of the task it removes', () => {
    // DynamoDB Local rounds ApproximateCreationDateTime down to the minute, AWS to the second.
    const removed = task({ updatedAt: '2026-11-27T10:00:21.141Z', version: 2 });
    const record = streamRecord({
      eventName: 'REMOVE',
      userId: 'user-a',
      task: removed,
      seq: 3,
      approximateCreationDateTime: Date.parse('2026-11-27T10:00:00.000Z') / 1000,
    });

    expect(parse(record).event.at).toBe('2026-11-27T10:00:21.141Z');
  });

  it('stamps a REMOVE without ApproximateCreationDateTime with the current time', () => {
    const record = streamRecord({ eventName: 'REMOVE', userId: 'user-a', task: task(), seq: 5 });
    delete record.dynamodb!.ApproximateCreationDateTime;

    const { event } = parse(record, () => new Date('2026-11-27T12:00:00.000Z'));

    expect(event.at).toBe('2026-11-27T12:00:00.000Z');
  });

  it('sends only the task fields of the contract, whatever else the item stores', () => {
    const record = streamRecord({ eventName: 'INSERT', userId: 'user-a', task: task(), seq: 6 });
    record.dynamodb!.NewImage!.internalNote = { S: 'server-side only' };

    const { event } = parse(record);

    expect(event.type === 'TASK_CREATED' && Object.keys(event.task).sort()).toEqual([
      'completed',
      'createdAt',
      'description',
      'id',
      'title',
      'updatedAt',
      'version',
    ]);
  });

  const poisons: [string, (record: ReturnType<typeof streamRecord>) => void][] = [
    ['Keys without userId', (r) => delete r.dynamodb!.Keys!.userId],
    ['Keys with a number userId', (r) => (r.dynamodb!.Keys!.userId = { N: '7' })],
    ['no Keys', (r) => delete r.dynamodb!.Keys],
    ['no NewImage on INSERT', (r) => delete r.dynamodb!.NewImage],
    ['a version that is not a number', (r) => (r.dynamodb!.NewImage!.version = { S: 'one' })],
    ['a version that is not a positive integer', (r) => (r.dynamodb!.NewImage!.version = { N: '1.5' })],
    ['a completed flag that is not a boolean', (r) => (r.dynamodb!.NewImage!.completed = { S: 'true' })],
    ['a NewImage without title', (r) => delete r.dynamodb!.NewImage!.title],
    ['a NewImage of another user', (r) => (r.dynamodb!.NewImage!.userId = { S: 'user-b' })],
    ['a malformed attribute value', (r) => (r.dynamodb!.NewImage!.title = { BOGUS: 'x' } as never)],
    ['no SequenceNumber', (r) => delete r.dynamodb!.SequenceNumber],
    ['no eventID', (r) => delete r.eventID],
    ['an unknown eventName', (r) => (r.eventName = 'UPSERT' as never)],
  ];

  it.each(poisons)('rejects a record with %s as poison', (_label, corrupt) => {
    const record = streamRecord({ eventName: 'INSERT', userId: 'user-a', task: task(), seq: 7 });
    corrupt(record);

    expect(() => parseTaskRecord(record)).toThrow(PoisonRecordError);
  });
});
