import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../lib/definitions.js';
import type { BatchFrame, TaskEvent } from '../../lambdas/contract.js';
import { encodeFrames } from '../../lambdas/events/frames.js';
import { task } from './fixtures/stream-events.js';

function updated(n: number, description = ''): TaskEvent {
  const t = task({ description, version: n + 1 });
  return { type: 'TASK_UPDATED', eventId: `ev-${n}`, at: t.updatedAt, taskId: t.id, task: t };
}

const bytes = (frame: string) => Buffer.byteLength(frame, 'utf8');

/** The events a list of frames carries, in frame order. */
function eventsOf(frames: string[]): TaskEvent[] {
  return frames.flatMap((frame) => {
    const parsed = JSON.parse(frame) as TaskEvent | BatchFrame;
    return parsed.type === 'BATCH' ? parsed.events : [parsed];
  });
}

describe('encodeFrames', () => {
  it('sends a single event as the event object itself', () => {
    const event = updated(1);

    expect(encodeFrames([event])).toEqual([JSON.stringify(event)]);
  });

  it('coalesces several events into one BATCH frame in stream order', () => {
    const events = [updated(1), updated(2), updated(3)];

    const frames = encodeFrames(events);

    expect(frames).toHaveLength(1);
    expect(JSON.parse(frames[0]!)).toEqual({ type: 'BATCH', events });
    expect(frames[0]).toBe(JSON.stringify({ type: 'BATCH', events }));
  });

  it('sends nothing for no events', () => {
    expect(encodeFrames([])).toEqual([]);
  });

  it('splits at 32 KB of UTF-8, counting multi-byte characters as bytes, and keeps the order', () => {
    // 2000 characters of 'é' are 4000 bytes: 8 such events cannot share one 32 KB frame.
    const events = Array.from({ length: 20 }, (_, n) => updated(n, 'é'.repeat(LIMITS.descriptionMaxChars)));

    const frames = encodeFrames(events);

    expect(frames.length).toBeGreaterThan(1);
    for (const frame of frames) expect(bytes(frame)).toBeLessThanOrEqual(LIMITS.batchFrameMaxBytes);
    expect(eventsOf(frames)).toEqual(events);
  });

  it('fills each frame before starting the next one', () => {
    const events = Array.from({ length: 20 }, (_, n) => updated(n, 'é'.repeat(LIMITS.descriptionMaxChars)));

    const frames = encodeFrames(events);

    const perFrame = frames.map((frame) => eventsOf([frame]).length);
    // Every frame but the last was closed only because the next event did not fit.
    perFrame.slice(0, -1).forEach((count, i) => {
      const start = perFrame.slice(0, i).reduce((a, b) => a + b, 0);
      const withNext = encodeFrames(events.slice(start, start + count + 1), Number.MAX_SAFE_INTEGER)[0]!;
      expect(bytes(withNext)).toBeGreaterThan(LIMITS.batchFrameMaxBytes);
    });
  });

  it('sends the event alone when a split leaves one event in a frame', () => {
    const big = updated(1, 'x'.repeat(600));
    const small = updated(2);
    const maxBytes = bytes(JSON.stringify(big)) + 30;

    const frames = encodeFrames([big, small], maxBytes);

    expect(frames).toEqual([JSON.stringify(big), JSON.stringify(small)]);
  });

  it('accepts a frame of exactly the limit', () => {
    const events = [updated(1), updated(2)];
    const exact = bytes(JSON.stringify({ type: 'BATCH', events }));

    expect(encodeFrames(events, exact)).toHaveLength(1);
    expect(encodeFrames(events, exact - 1)).toHaveLength(2);
  });

  it('never exceeds the limit and never loses or reorders an event (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 400 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1_500, max: 8_000 }),
        (descriptions, maxBytes) => {
          const events = descriptions.map((description, n) => updated(n, description));

          const frames = encodeFrames(events, maxBytes);

          expect(eventsOf(frames)).toEqual(events);
          for (const frame of frames) {
            const isBatch = (JSON.parse(frame) as { type: string }).type === 'BATCH';
            if (isBatch) expect(bytes(frame)).toBeLessThanOrEqual(maxBytes);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
