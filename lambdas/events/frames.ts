import { LIMITS } from '../../lib/definitions.js';
import type { TaskEvent } from '../contract.js';

const BATCH_OPEN = '{"type":"BATCH","events":[';
const BATCH_CLOSE = ']}';
const BATCH_OVERHEAD_BYTES = Buffer.byteLength(BATCH_OPEN) + Buffer.byteLength(BATCH_CLOSE);

/**
 * The frames that carry `events` (one user's events of one stream batch, in
 * stream order) to each of that user's connections. One event travels as the
 * event object itself; several travel as `{"type":"BATCH","events":[...]}`,
 * split in order so that no BATCH frame exceeds `maxBytes` of UTF-8. A chunk
 * left with a single event is sent as that event. An event larger than
 * `maxBytes` on its own (impossible within the task field limits) still goes
 * out alone, under API Gateway's 128 KB frame limit.
 */
export function encodeFrames(events: readonly TaskEvent[], maxBytes: number = LIMITS.batchFrameMaxBytes): string[] {
  const encoded = events.map((event) => JSON.stringify(event));
  const frames: string[] = [];
  let chunk: string[] = [];
  let chunkBytes = BATCH_OVERHEAD_BYTES;

  const flush = () => {
    if (chunk.length === 1) frames.push(chunk[0] as string);
    if (chunk.length > 1) frames.push(`${BATCH_OPEN}${chunk.join(',')}${BATCH_CLOSE}`);
    chunk = [];
    chunkBytes = BATCH_OVERHEAD_BYTES;
  };

  for (const json of encoded) {
    const bytes = Buffer.byteLength(json);
    const separator = chunk.length > 0 ? 1 : 0;
    if (chunk.length > 0 && chunkBytes + separator + bytes > maxBytes) flush();
    chunkBytes += (chunk.length > 0 ? 1 : 0) + bytes;
    chunk.push(json);
  }
  flush();
  return frames;
}
