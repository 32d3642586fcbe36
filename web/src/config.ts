import type { RuntimeConfig } from '../../lambdas/contract.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `GET /config.json` from the page's origin: written by `npm start` locally and by the deploy on S3. */
export async function loadConfig(
  fetchFn: typeof fetch = globalThis.fetch.bind(globalThis),
  origin = location.origin,
): Promise<RuntimeConfig> {
  let raw: unknown;
  try {
    const response = await fetchFn(new URL('/config.json', origin).href, { cache: 'no-store' });
    if (!response.ok) throw new ConfigError(`config.json answered HTTP ${response.status}`);
    raw = await response.json();
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    throw new ConfigError('config.json could not be loaded', { cause });
  }
  return parseConfig(raw);
}

/** Hand-written checks instead of zod: zod would triple the bundle for one object. */
export function parseConfig(raw: unknown): RuntimeConfig {
  const c = raw as Partial<RuntimeConfig> | null;
  const str = (v: unknown) => typeof v === 'string' && v.length > 0;
  if (!c || !str(c.apiUrl) || !str(c.wsUrl) || !c.auth) throw new ConfigError('config.json lacks apiUrl, wsUrl or auth');
  const a = c.auth as Record<string, unknown>;
  // A heartbeat that is not a sane period is ignored: the production default applies.
  const { heartbeatMs, ...rest } = c;
  const config = (typeof heartbeatMs === 'number' && heartbeatMs >= 100 && heartbeatMs <= 3_600_000 ? c : rest) as RuntimeConfig;
  if (a.mode === 'local' && str(a.tokenUrl)) return config;
  if (a.mode === 'cognito' && str(a.domain) && str(a.clientId)) return config;
  throw new ConfigError(`config.json has an unusable auth block (mode ${String(a.mode)})`);
}
