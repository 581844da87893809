import pino, { type Logger } from 'pino';

/** Create the backend's structured logger. Execution lines add runId, policyId and blockTag. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'policy-logic-studio' } });
}
