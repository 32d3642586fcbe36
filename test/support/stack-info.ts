/** What the local stack prints when ready (one `READY {json}` line on stdout with --ready-json). */
export interface StackInfo {
  webUrl: string;
  apiUrl: string;
  wsUrl: string;
  tokenUrl: string;
  managementEndpoint: string;
  dynamodbEndpoint: string;
  /** DynamoDB Local's Java process at start; the runtime restarts it on the same port if it dies. */
  dynamodbPid: number;
  failureFile: string;
  /** GET: the runtime's counters (stream poller, WebSocket/@connections, DynamoDB Local restarts). */
  statsUrl: string;
  pid: number;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}
