import { describe, expect, it } from 'vitest';
import { interpretBatchResponse } from '../../local/streams/batch-response.js';

const SEQ = ['100', '200', '300', '400'];

describe('interpretBatchResponse (ReportBatchItemFailures)', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an object without batchItemFailures', {}],
    ['null batchItemFailures', { batchItemFailures: null }],
    ['an empty batchItemFailures list', { batchItemFailures: [] }],
  ])('treats %s as complete success', (_name, response) => {
    expect(interpretBatchResponse(response, SEQ)).toEqual({ kind: 'success' });
  });

  it('retries from the lowest reported sequence number, whatever the order of the list', () => {
    const outcome = interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: '400' }, { itemIdentifier: '200' }] }, SEQ);

    expect(outcome).toEqual({ kind: 'partial', index: 1 });
  });

  it('reports the first record as the retry point when it failed', () => {
    expect(interpretBatchResponse({ batchItemFailures: [{ itemIdentifier: '100' }] }, SEQ)).toEqual({
      kind: 'partial',
      index: 0,
    });
  });

  it.each([
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a wrongly named key', { batchItemFailures: [{ sequenceNumber: '200' }] }],
    ['a sequence number not in the batch', { batchItemFailures: [{ itemIdentifier: '250' }] }],
    ['one bad entry among good ones', { batchItemFailures: [{ itemIdentifier: '200' }, { itemIdentifier: 'x' }] }],
    ['batchItemFailures that is not a list', { batchItemFailures: { itemIdentifier: '200' } }],
    ['a response that is not an object', 'ok'],
    ['a list instead of an object', [{ itemIdentifier: '200' }]],
  ])('treats %s as a failure of the whole batch', (_name, response) => {
    expect(interpretBatchResponse(response, SEQ).kind).toBe('error');
  });
});
