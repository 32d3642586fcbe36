import { Logger } from '@aws-lambda-powertools/logger';

/** Structured JSON logs (Powertools): one shared shape for every function. */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}
