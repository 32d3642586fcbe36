import type { _Record as StreamsRecord } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import {
  buildDynamoDBStreamEvent,
  toLambdaAttributeValue,
  toLambdaStreamRecord,
} from '../../local/streams/stream-event-builder.js';

const STREAM_ARN = 'arn:aws:dynamodb:ddblocal:000000000000:table/tasks/stream/2026-11-27T08:34:23.990';

/** A GetRecords record as @aws-sdk/client-dynamodb-streams returns it from DynamoDB Local. */
function streamsRecord(overrides: Partial<StreamsRecord> = {}): StreamsRecord {
  return {
    eventID: 'af580675-7ce6-45af-a455-4e4b9e0a4347',
    eventName: 'MODIFY',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'ddblocal',
    dynamodb: {
      ApproximateCreationDateTime: new Date('2026-11-27T08:31:46.789Z'),
      Keys: { userId: { S: 'u1' }, taskId: { S: 't1' } },
      NewImage: { userId: { S: 'u1' }, taskId: { S: 't1' }, title: { S: 'new' }, version: { N: '2' } },
      OldImage: { userId: { S: 'u1' }, taskId: { S: 't1' }, title: { S: 'old' }, version: { N: '1' } },
      SequenceNumber: '000000000000000000042',
      SizeBytes: 87,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
    ...structuredClone(overrides),
  };
}

describe('stream event builder', () => {
  it('builds the record Lambda sends, fields in AWS order', () => {
    const record = toLambdaStreamRecord(streamsRecord(), { eventSourceARN: STREAM_ARN, awsRegion: 'us-east-1' });

    expect(record).toEqual({
      eventID: 'af580675-7ce6-45af-a455-4e4b9e0a4347',
      eventName: 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: Date.parse('2026-11-27T08:31:46Z') / 1000,
        Keys: { userId: { S: 'u1' }, taskId: { S: 't1' } },
        NewImage: { userId: { S: 'u1' }, taskId: { S: 't1' }, title: { S: 'new' }, version: { N: '2' } },
        OldImage: { userId: { S: 'u1' }, taskId: { S: 't1' }, title: { S: 'old' }, version: { N: '1' } },
        SequenceNumber: '000000000000000000042',
        SizeBytes: 87,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
      eventSourceARN: STREAM_ARN,
    });
    expect(Object.keys(record)).toEqual([
      'eventID',
      'eventName',
      'eventVersion',
      'eventSource',
      'awsRegion',
      'dynamodb',
      'eventSourceARN',
    ]);
    expect(Object.keys(record.dynamodb!)).toEqual([
      'ApproximateCreationDateTime',
      'Keys',
      'NewImage',
      'OldImage',
      'SequenceNumber',
      'SizeBytes',
      'StreamViewType',
    ]);
  });

  it('gives ApproximateCreationDateTime as whole epoch seconds, rounded down', () => {
    const record = toLambdaStreamRecord(
      streamsRecord({ dynamodb: { ApproximateCreationDateTime: new Date(1_764_232_306_999) } }),
      {
        eventSourceARN: STREAM_ARN,
      },
    );

    expect(record.dynamodb!.ApproximateCreationDateTime).toBe(1_764_232_306);
  });

  it("keeps the record's own region when none is given", () => {
    expect(toLambdaStreamRecord(streamsRecord(), { eventSourceARN: STREAM_ARN }).awsRegion).toBe('ddblocal');
  });

  it('leaves out images the record does not have (REMOVE has only OldImage)', () => {
    const source = streamsRecord({ eventName: 'REMOVE' });
    delete source.dynamodb!.NewImage;

    const record = toLambdaStreamRecord(source, { eventSourceARN: STREAM_ARN });

    expect(record.eventName).toBe('REMOVE');
    expect(record.dynamodb).not.toHaveProperty('NewImage');
    expect(record.dynamodb!.OldImage).toEqual(source.dynamodb!.OldImage);
  });

  it('adds userIdentity in Lambda casing only for records that have one (TTL deletions)', () => {
    const ttl = toLambdaStreamRecord(
      streamsRecord({ eventName: 'REMOVE', userIdentity: { Type: 'Service', PrincipalId: 'dynamodb.amazonaws.com' } }),
      {
        eventSourceARN: STREAM_ARN,
      },
    );
    const user = toLambdaStreamRecord(streamsRecord(), { eventSourceARN: STREAM_ARN });

    expect(ttl.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(user).not.toHaveProperty('userIdentity');
  });

  it("delivers DynamoDB Local's TTL deletion (eventName UNKNOWN_TO_SDK_VERSION, no identity) as AWS does: a REMOVE by the DynamoDB service", () => {
    // What DynamoDB Local 3.3 streams when TTL deletes an item (seen with GetRecords).
    const source = streamsRecord({ eventName: 'UNKNOWN_TO_SDK_VERSION' as never });
    delete source.dynamodb!.NewImage;

    const record = toLambdaStreamRecord(source, { eventSourceARN: STREAM_ARN });

    expect(record.eventName).toBe('REMOVE');
    expect(record.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(record.dynamodb!.OldImage).toEqual(source.dynamodb!.OldImage);
  });

  it('base64-encodes binary values, nested ones included, and keeps every other type as JSON has it', () => {
    const bytes = new Uint8Array([0, 1, 2, 250]);

    expect(toLambdaAttributeValue({ B: bytes })).toEqual({ B: 'AAEC+g==' });
    expect(toLambdaAttributeValue({ BS: [bytes, new Uint8Array([255])] })).toEqual({ BS: ['AAEC+g==', '/w=='] });
    expect(
      toLambdaAttributeValue({
        M: {
          list: { L: [{ N: '1.50' }, { BOOL: false }, { NULL: true }, { B: bytes }] },
          sets: { M: { ss: { SS: ['a', 'b'] }, ns: { NS: ['1', '2'] } } },
          empty: { S: '' },
        },
      }),
    ).toEqual({
      M: {
        list: { L: [{ N: '1.50' }, { BOOL: false }, { NULL: true }, { B: 'AAEC+g==' }] },
        sets: { M: { ss: { SS: ['a', 'b'] }, ns: { NS: ['1', '2'] } } },
        empty: { S: '' },
      },
    });
  });

  it('produces a JSON-serializable event that round-trips unchanged', () => {
    const event = buildDynamoDBStreamEvent([streamsRecord(), streamsRecord({ eventName: 'INSERT' })], {
      eventSourceARN: STREAM_ARN,
    });

    expect(event.Records).toHaveLength(2);
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
  });
});
