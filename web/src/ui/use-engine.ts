import { useEffect, useReducer } from 'preact/hooks';
import type { EngineState, SyncEngine } from '../sync/engine.js';

/** Re-renders on every engine change; Preact batches the renders. */
export function useEngineState(engine: SyncEngine): EngineState {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => engine.subscribe(() => bump(undefined)), [engine]);
  return engine.getState();
}
