import { TTL_USER_IDENTITY } from '../../lambdas/events/task-events.js';
import type { AttributeValue as StreamsAttributeValue, _Record as StreamsRecord } from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBRecord, DynamoDBStreamEvent, StreamRecord } from 'aws-lambda';

export interface StreamEventContext {
  /** The stream ARN; Lambda puts it in every record as `eventSourceARN`. */
  eventSourceARN: string;
  /**
   * `awsRegion` of every record. Default: the record's own value. DynamoDB Local says
   * `ddblocal`; the local runtime passes LOCAL.region so handlers see a real region name.
   */
  awsRegion?: string;
}

/**
 * One attribute value as Lambda's JSON event carries it. The SDK hands binary values
 * over as Uint8Array; the event has them base64-encoded, like the DynamoDB wire format.
 */
export function toLambdaAttributeValue(value: StreamsAttributeValue): AttributeValue {
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.SS !== undefined) return { SS: [...value.SS] };
  if (value.NS !== undefined) return { NS: [...value.NS] };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaAttributeValue) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  throw new TypeError(`Unsupported attribute value: ${JSON.stringify(value)}`);
}

export function toLambdaImage(image: Record<string, StreamsAttributeValue>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(image)) out[name] = toLambdaAttributeValue(value);
  return out;
}

/**
 * A GetRecords record as Lambda delivers it to a DynamoDB stream handler: the same
 * fields in the same order as AWS's event (eventID, eventName, eventVersion,
 * eventSource, awsRegion, dynamodb, eventSourceARN), `ApproximateCreationDateTime` as
 * epoch seconds (DynamoDB Streams rounds it down to the second), and `userIdentity`
 * (`{type, principalId}`, e.g. TTL deletions by `dynamodb.amazonaws.com`) only when
 * the stream record has one.
 */
export function toLambdaStreamRecord(record: StreamsRecord, context: StreamEventContext): DynamoDBRecord {
  const source = record.dynamodb ?? {};
  const dynamodb: StreamRecord = {};
  if (source.ApproximateCreationDateTime !== undefined) {
    dynamodb.ApproximateCreationDateTime = Math.floor(source.ApproximateCreationDateTime.getTime() / 1000);
  }
  if (source.Keys) dynamodb.Keys = toLambdaImage(source.Keys);
  if (source.NewImage) dynamodb.NewImage = toLambdaImage(source.NewImage);
  if (source.OldImage) dynamodb.OldImage = toLambdaImage(source.OldImage);
  if (source.SequenceNumber !== undefined) dynamodb.SequenceNumber = source.SequenceNumber;
  if (source.SizeBytes !== undefined) dynamodb.SizeBytes = source.SizeBytes;
  if (source.StreamViewType !== undefined) dynamodb.StreamViewType = source.StreamViewType;

  const ttlRemoval = isDynamoDbLocalTtlRemoval(record);
  const out: DynamoDBRecord = {
    eventID: record.eventID,
    eventName: ttlRemoval ? 'REMOVE' : record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: record.eventSource ?? 'aws:dynamodb',
    awsRegion: context.awsRegion ?? record.awsRegion,
    dynamodb,
    eventSourceARN: context.eventSourceARN,
  };
  if (record.userIdentity) {
    out.userIdentity = { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId };
  } else if (ttlRemoval) {
    out.userIdentity = { ...TTL_USER_IDENTITY };
  }
  return out;
}

/**
 * DynamoDB Local (3.x) streams its TTL deletions with `eventName`
 * `UNKNOWN_TO_SDK_VERSION` (its Java SDK's name for a value it has no enum
 * for), an OldImage, no NewImage and no `userIdentity`. AWS streams the same
 * deletion as a REMOVE by the DynamoDB service, which is what handlers are
 * written against, so that is what the emulator delivers.
 */
function isDynamoDbLocalTtlRemoval(record: StreamsRecord): boolean {
  const name = record.eventName as string | undefined;
  return (
    name !== undefined &&
    !['INSERT', 'MODIFY', 'REMOVE'].includes(name) &&
    !record.dynamodb?.NewImage &&
    !!record.dynamodb?.OldImage
  );
}

/** `{ Records: [...] }`, the DynamoDBStreamEvent a stream event source mapping invokes with. */
export function buildDynamoDBStreamEvent(records: readonly StreamsRecord[], context: StreamEventContext): DynamoDBStreamEvent {
  return { Records: records.map((record) => toLambdaStreamRecord(record, context)) };
}
