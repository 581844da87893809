import pino, { type Logger } from 'pino';

/** The backend's one structured logger; execution lines add runId, policyId and blockTag. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'policy-logic-studio' } });
}
