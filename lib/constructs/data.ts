import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLES, type KeyDefinition, type TableDefinition } from '../definitions.js';

export interface DataStoreProps {
  /**
   * What happens to the tasks table when it leaves the stack (or the stack is
   * destroyed). RETAIN also turns on deletion protection.
   * @default RemovalPolicy.RETAIN
   */
  readonly tasksRemovalPolicy?: RemovalPolicy;
}

/**
 * The three tables, built from TABLES (the definitions DynamoDB Local gets too):
 * on-demand, point-in-time recovery, encrypted with the AWS-owned key.
 */
export class DataStore extends Construct {
  readonly tasksTable: dynamodb.Table;
  readonly connectionsTable: dynamodb.Table;
  /** The change feed's entries; kept and dropped with the tasks table, which it indexes. */
  readonly changesTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: DataStoreProps = {}) {
    super(scope, id);
    const tasksRemoval = props.tasksRemovalPolicy ?? RemovalPolicy.RETAIN;

    this.tasksTable = tableFrom(this, TABLES.tasks, {
      removalPolicy: tasksRemoval,
      deletionProtection: tasksRemoval === RemovalPolicy.RETAIN,
    });

    // A retained tasks table with a fresh, empty changes table would let sync
    // tokens issued before the teardown skip what changed in between, so the
    // entries live and die with the tasks (they expire by TTL anyway).
    this.changesTable = tableFrom(this, TABLES.changes, {
      removalPolicy: tasksRemoval,
      deletionProtection: tasksRemoval === RemovalPolicy.RETAIN,
    });

    // Connection rows describe sockets that die with the WebSocket API (at most
    // 2 h old, TTL-expired after that), so nothing in this table outlives a
    // teardown usefully: it is destroyed with the stack. PITR costs next to
    // nothing at this size and keeps the table under the same baseline as the other.
    this.connectionsTable = tableFrom(this, TABLES.connections, {
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
    });
  }
}

function tableFrom(
  scope: Construct,
  definition: TableDefinition,
  options: { removalPolicy: RemovalPolicy; deletionProtection: boolean },
): dynamodb.Table {
  return new dynamodb.Table(scope, definition.id, {
    partitionKey: attribute(definition.partitionKey),
    sortKey: attribute(definition.sortKey),
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // AWS-owned key: encrypted at rest at no KMS cost; no key policy to manage.
    encryption: dynamodb.TableEncryption.DEFAULT,
    ...(definition.stream ? { stream: dynamodb.StreamViewType[definition.stream] } : {}),
    ...(definition.timeToLiveAttribute ? { timeToLiveAttribute: definition.timeToLiveAttribute } : {}),
    removalPolicy: options.removalPolicy,
    deletionProtection: options.deletionProtection,
  });
}

function attribute(key: KeyDefinition): dynamodb.Attribute {
  const type = key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER;
  return { name: key.name, type };
}
