import type { LocalRuntimeInfo } from '../../local/runtime.js';

/** What the local stack prints when ready (one `READY {json}` line on stdout with --ready-json). */
export type StackInfo = LocalRuntimeInfo & {
  /** The `bin/local.ts` process. */
  pid: number;
};

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}
