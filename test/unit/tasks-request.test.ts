import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lambdas/tasks/errors.js';
import { findDuplicateKey, isJsonMediaType, parseIfMatch, parseJson, readBody } from '../../lambdas/tasks/request.js';
import { httpEvent } from './fixtures/http-events.js';

describe('findDuplicateKey', () => {
  it('finds nothing in anything JSON.stringify produces', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => findDuplicateKey(JSON.stringify(value)) === undefined));
  });

  it('finds a key repeated in any object, however deep', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.jsonValue(), (object, repeated) => {
        const key = Object.keys(object)[0] ?? '';
        const members = Object.entries(object).map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`);
        members.push(`${JSON.stringify(key)}:${JSON.stringify(repeated)}`);
        const text = `{"before":[null,{"wrap":0}],"inner":{${members.join(',')}}}`;
        expect(findDuplicateKey(text)).toBe(key);
      }),
    );
  });

  it.each([
    ['a nested object', '{"a":{"b":1,"b":2}}', 'b'],
    ['an escaped spelling', '{"title":1,"\\u0074itle":2}', 'title'],
    ['sibling objects', '[{"a":1},{"a":2}]', undefined],
    ['a key reused at another depth', '{"a":{"x":1},"x":2}', undefined],
    ['strings that look like keys', '{"a":"{\\"a\\":1}","b":["a","a"]}', undefined],
    ['whitespace around tokens', '{ "a" : 1 ,\n "a" : 2 }', 'a'],
  ])('handles %s', (_name, text, expected) => {
    expect(findDuplicateKey(text)).toBe(expected);
  });
});

describe('parseJson', () => {
  it('fails only with a ValidationError, whatever the text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseJson(text);
          return true;
        } catch (error) {
          return error instanceof ValidationError;
        }
      }),
    );
  });

  it('refuses a duplicate key that JSON.parse would silently drop', () => {
    expect(() => parseJson('{"completed":true,"completed":false}')).toThrow(ValidationError);
  });
});

describe('isJsonMediaType', () => {
  it.each([
    ['application/json', true],
    ['application/json;charset=utf-8', true],
    ['APPLICATION/JSON; charset="UTF-8"', true],
    ['application/json; foo=bar', true],
    ['application/json; charset=utf-16', false],
    ['application/problem+json', false],
    ['text/json', false],
    ['', false],
    [undefined, false],
  ])('%j → %s', (value, expected) => {
    expect(isJsonMediaType(value)).toBe(expected);
  });
});

describe('parseIfMatch', () => {
  it.each([
    [undefined, undefined],
    ['*', undefined],
    [' * ', undefined],
    ['"3"', [3]],
    ['W/"3"', [3]],
    ['3', [3]],
    ['"1", "2",W/"3"', [1, 2, 3]],
  ])('reads %j as %j', (value, expected) => {
    expect(parseIfMatch(value)).toEqual(expected);
  });

  it('refuses more than 20 entity tags', () => {
    const tags = Array.from({ length: 21 }, (_, i) => `"${i}"`).join(',');
    expect(() => parseIfMatch(tags)).toThrow(ValidationError);
  });

  it('refuses a version beyond safe integers', () => {
    expect(() => parseIfMatch('"1234567890123456"')).toThrow(ValidationError);
  });
});

describe('readBody', () => {
  it('answers undefined for a request without a body', () => {
    expect(readBody(httpEvent({ routeKey: 'DELETE /tasks/{id}', pathParameters: { id: 'x' } }))).toBeUndefined();
  });

  it('finds a content type whose header name was not lower-cased', () => {
    const event = httpEvent({ routeKey: 'POST /tasks', body: '{}', headers: { 'content-type': undefined } });
    event.headers['Content-Type'] = 'application/json';
    expect(readBody(event)).toBe('{}');
  });
});
