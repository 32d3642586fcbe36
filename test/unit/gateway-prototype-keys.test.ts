import { describe, expect, it } from 'vitest';
import { normalizeHeaders, parseQueryString } from '../../local/gateway/http/event-builder.js';
import { headerMaps, queryMaps } from '../../local/gateway/websocket/event-builders.js';

// Names that an object literal inherits from Object.prototype. Found by the
// hostile-websocket fuzzer: `wsUrl?constructor=1` crashed the handshake with 500.
const INHERITED = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

const own = (record: object, name: string) => Object.getOwnPropertyDescriptor(record, name)?.value;

describe('gateway event builders with prototype-named keys', () => {
  it('keeps WebSocket query parameters named after Object.prototype members as sent', () => {
    for (const name of INHERITED) {
      const maps = queryMaps(`${name}=1&token=abc&${name}=2`);
      expect(own(maps!.queryStringParameters, name), name).toBe('2');
      expect(own(maps!.multiValueQueryStringParameters, name), name).toEqual(['1', '2']);
      expect(maps!.queryStringParameters.token).toBe('abc');
      expect(Object.getPrototypeOf(maps!.queryStringParameters)).toBe(Object.prototype);
    }
  });

  it('keeps WebSocket handshake headers named after Object.prototype members as sent', () => {
    for (const name of INHERITED) {
      const maps = headerMaps([name, 'a', 'Host', 'h', name, 'b']);
      expect(own(maps.headers, name), name).toBe('b');
      expect(own(maps.multiValueHeaders, name), name).toEqual(['a', 'b']);
      expect(maps.headers.Host).toBe('h');
    }
  });

  it('joins repeated HTTP query parameters and headers without inherited values leaking in', () => {
    for (const name of INHERITED) {
      const params = parseQueryString(`${name}=1&limit=5&${name}=2`)!;
      expect(own(params, name), name).toBe('1,2');
      expect(params.limit).toBe('5');
      const single = parseQueryString(`${name}=x`)!;
      expect(Object.keys(single), name).toEqual([name]);
      expect(own(single, name), name).toBe('x');

      const lower = name.toLowerCase();
      const { headers } = normalizeHeaders([name, 'a', 'Content-Type', 'application/json', name, 'b']);
      expect(own(headers, lower), name).toBe('a,b');
      expect(headers['content-type']).toBe('application/json');
    }
  });

  it('survives a JSON round trip with the same keys, as the event AWS sends does', () => {
    const params = parseQueryString('__proto__=x&a=1')!;
    expect(JSON.parse(JSON.stringify(params))).toEqual(params);
    expect(Object.keys(params)).toEqual(['__proto__', 'a']);
  });
});
