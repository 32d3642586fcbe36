/**
 * The one logger shape of the local runtime's components (gateway, stream
 * poller, ...): what they need of a Powertools Logger or the console.
 */
export interface LocalLogger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

const ignore = (): void => undefined;

/** Problems to stderr with a `[component]` prefix; routine traffic stays quiet. */
export function consoleLogger(component: string): LocalLogger {
  return {
    debug: ignore,
    info: ignore,
    warn: (message, extra) => console.warn(`[${component}] ${message}`, extra ?? ''),
    error: (message, extra) => console.error(`[${component}] ${message}`, extra ?? ''),
  };
}

export const silentLogger: LocalLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
