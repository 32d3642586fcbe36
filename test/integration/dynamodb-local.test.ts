import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLES } from '../../lib/definitions.js';
import { DynamoDbLocalError, startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb/dynamodb-local.js';
import { ensureTables } from '../../local/dynamodb/tables.js';

const root = path.resolve(import.meta.dirname, '../..');
let ddb: DynamoDbLocal;
let client: DynamoDBClient;
let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'dynamodb-local-test-'));
  ddb = await startDynamoDbLocal({ dataDir: path.join(workDir, 'data') });
  console.info(`DynamoDB Local ready in ${ddb.startupMs} ms`);
  client = new DynamoDBClient(ddb.clientConfig);
});

afterAll(async () => {
  client?.destroy();
  await ddb?.stop();
  await rm(workDir, { recursive: true, force: true });
});

const getTask = (taskId: string) =>
  client.send(new GetItemCommand({ TableName: TABLES.tasks.localName, Key: { userId: { S: 'u1' }, taskId: { S: taskId } } }));

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('DynamoDB Local', () => {
  it('answers on the endpoint it reports, on a port it picked', async () => {
    expect(ddb.endpoint).toBe(`http://127.0.0.1:${ddb.port}`);
    expect(ddb.port).toBeGreaterThan(0);
    expect(ddb.running).toBe(true);

    await expect(client.send(new ListTablesCommand({}))).resolves.toHaveProperty('TableNames');
  });

  it('creates the tables of lib/definitions.ts with their keys, stream and TTL', async () => {
    const tables = await ensureTables(client);

    expect(tables.tasks.LatestStreamArn).toMatch(/^arn:aws:dynamodb:.*:table\/tasks\/stream\//);
    const tasks = (await client.send(new DescribeTableCommand({ TableName: TABLES.tasks.localName }))).Table!;
    expect(tasks.TableStatus).toBe('ACTIVE');
    expect(tasks.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(tasks.KeySchema).toEqual([
      { AttributeName: 'userId', KeyType: 'HASH' },
      { AttributeName: 'taskId', KeyType: 'RANGE' },
    ]);
    expect(tasks.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    const connections = (await client.send(new DescribeTableCommand({ TableName: TABLES.connections.localName }))).Table!;
    expect(connections.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'KEYS_ONLY' });
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: TABLES.connections.localName }));
    expect(ttl.TimeToLiveDescription).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
  });

  it('ensureTables keeps existing tables, their items and their stream', async () => {
    const first = await ensureTables(client);
    await client.send(
      new PutItemCommand({ TableName: TABLES.tasks.localName, Item: { userId: { S: 'u1' }, taskId: { S: 'kept' } } }),
    );

    const second = await ensureTables(client);

    expect(second.tasks.LatestStreamArn).toBe(first.tasks.LatestStreamArn);
    expect((await getTask('kept')).Item).toBeDefined();
  });

  it('keeps data and port across restart() with a data directory', async () => {
    await ensureTables(client);
    await client.send(
      new PutItemCommand({ TableName: TABLES.tasks.localName, Item: { userId: { S: 'u1' }, taskId: { S: 'survivor' } } }),
    );
    const { port } = ddb;
    const before = ddb.pid;

    await ddb.restart();

    expect(ddb.port).toBe(port);
    expect(ddb.pid).not.toBe(before);
    expect((await getTask('survivor')).Item?.taskId).toEqual({ S: 'survivor' });
  }, 60_000);

  it('kill() ends the process abruptly; restart() brings the data back', async () => {
    await client.send(
      new PutItemCommand({ TableName: TABLES.tasks.localName, Item: { userId: { S: 'u1' }, taskId: { S: 'crash' } } }),
    );
    const pid = ddb.pid!;

    await ddb.kill();

    expect(ddb.running).toBe(false);
    expect(isAlive(pid)).toBe(false);
    await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
    await ddb.restart();
    expect((await getTask('crash')).Item).toBeDefined();
  }, 60_000);

  it('refuses a port that is already taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      await expect(startDynamoDbLocal({ port })).rejects.toThrow(DynamoDbLocalError);
    } finally {
      blocker.close();
    }
  });

  // Reads /proc to tell a dead-but-unreaped Java from a live one: Linux only.
  it.skipIf(process.platform !== 'linux')(
    'does not outlive a parent process that is SIGKILLed',
    async () => {
      const script = `
      const { startDynamoDbLocal } = await import(${JSON.stringify(path.join(root, 'local/dynamodb/dynamodb-local.ts'))});
      const ddb = await startDynamoDbLocal();
      console.log('JAVA_PID=' + ddb.pid);
      setInterval(() => {}, 1000);
    `;
      const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      parent.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      parent.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const deadline = Date.now() + 60_000;
      while (!/JAVA_PID=\d+/.test(output)) {
        if (Date.now() > deadline || parent.exitCode !== null) throw new Error(`helper did not start DynamoDB Local:\n${output}`);
        await sleep(50);
      }
      const javaPid = Number(/JAVA_PID=(\d+)/.exec(output)![1]);
      expect(isAlive(javaPid)).toBe(true);

      parent.kill('SIGKILL');
      const gone = Date.now() + 10_000;
      // A zombie (exited, not yet reaped by init) still answers kill 0; /proc tells the state.
      const running = async () => {
        const stat = await readFile(`/proc/${javaPid}/stat`, 'utf8').catch(() => '');
        return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
      };
      while ((await running()) && Date.now() < gone) await sleep(100);

      expect(await running()).toBe(false);
    },
    90_000,
  );
});
