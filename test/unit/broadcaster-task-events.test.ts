import { describe, expect, it } from 'vitest';
import { parseTaskRecord, PoisonRecordError } from '../../lambdas/events/task-events.js';
import { sequenceNumber, streamRecord, task } from './fixtures/stream-events.js';

describe('parseTaskRecord', () => {
  it('turns an INSERT into TASK_CREATED carrying the task without userId and with taskId as id', () => {
    const created = task({ title: 'Buy milk', description: 'semi-skimmed' });
    const record = streamRecord({ eventName: 'INSERT', userId: 'user-a', task: created, seq: 1 });

    const parsed = parseTaskRecord(record);

    expect(parsed).toEqual({
      userId: 'user-a',
      sequenceNumber: sequenceNumber(1),
      event: { type: 'TASK_CREATED', eventId: record.eventID, at: created.updatedAt, taskId: created.id, task: created },
    });
    expect(Object.keys(parsed.event)).toEqual(['type', 'eventId', 'at', 'taskId', 'task']);
  });

  it('turns a MODIFY into TASK_UPDATED stamped with the new updatedAt', () => {
    const updated = task({ completed: true, version: 3, updatedAt: '2026-11-27T11:30:00.000Z' });

    const { event } = parseTaskRecord(streamRecord({ eventName: 'MODIFY', userId: 'user-a', task: updated, seq: 2 }));

    expect(event).toMatchObject({ type: 'TASK_UPDATED', at: '2026-11-27T11:30:00.000Z', task: updated });
  });

  it('turns a REMOVE into TASK_DELETED stamped with the approximate creation time of the record', () => {
    const removed = task();
    const record = streamRecord({
      eventName: 'REMOVE',
      userId: 'user-a',
      task: removed,
      seq: 3,
      approximateCreationDateTime: 1_795_780_800,
    });

    expect(parseTaskRecord(record).event).toEqual({
      type: 'TASK_DELETED',
      eventId: record.eventID,
      at: new Date(1_795_780_800_000).toISOString(),
      taskId: removed.id,
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

    expect(parseTaskRecord(record).event.at).toBe('2026-11-27T10:00:21.141Z');
  });

  it('treats a REMOVE made by TTL as a delete like any other', () => {
    const record = streamRecord({ eventName: 'REMOVE', userId: 'user-a', task: task(), seq: 4, byTtl: true });

    expect(parseTaskRecord(record).event.type).toBe('TASK_DELETED');
  });

  it('stamps a REMOVE without ApproximateCreationDateTime with the current time', () => {
    const record = streamRecord({ eventName: 'REMOVE', userId: 'user-a', task: task(), seq: 5 });
    delete record.dynamodb!.ApproximateCreationDateTime;

    const { event } = parseTaskRecord(record, () => new Date('2026-11-27T12:00:00.000Z'));

    expect(event.at).toBe('2026-11-27T12:00:00.000Z');
  });

  it('sends only the task fields of the contract, whatever else the item stores', () => {
    const record = streamRecord({ eventName: 'INSERT', userId: 'user-a', task: task(), seq: 6 });
    record.dynamodb!.NewImage!.internalNote = { S: 'server-side only' };

    const { event } = parseTaskRecord(record);

    expect(event.type === 'TASK_CREATED' && Object.keys(event.task).sort()).toEqual(
      ['completed', 'createdAt', 'description', 'id', 'title', 'updatedAt', 'version'],
    );
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
