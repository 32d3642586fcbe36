import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../web/src/config.js';

const base = {
  apiUrl: 'http://127.0.0.1:3001',
  wsUrl: 'ws://127.0.0.1:3002/local',
  auth: { mode: 'local', tokenUrl: 'http://127.0.0.1:3001/_local/token' },
};

describe('parseConfig', () => {
  it('keeps heartbeatMs when it is a sane period', () => {
    expect(parseConfig({ ...base, heartbeatMs: 1000 })).toEqual({ ...base, heartbeatMs: 1000 });
  });

  it('leaves heartbeatMs out when absent or unusable, so the production default applies', () => {
    expect(parseConfig(base)).toEqual(base);
    for (const heartbeatMs of [0, -5, 10, '1000', null, Number.NaN, 86_400_000]) {
      expect(parseConfig({ ...base, heartbeatMs })).not.toHaveProperty('heartbeatMs');
    }
  });

  it('still refuses a config without urls', () => {
    expect(() => parseConfig({ auth: base.auth, heartbeatMs: 1000 })).toThrow(ConfigError);
  });
});
