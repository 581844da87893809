import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import supertest from 'supertest';
import { loadConfig, type Config } from '../../src/config.js';
import { createApp } from '../../src/http/app.js';
import { repositoryRoot } from '../../src/paths.js';
import { createServices, type Services } from '../../src/services.js';

export interface TestService {
  api: ReturnType<typeof supertest>;
  services: Services;
  config: Config;
  dataDir: string;
  /** Stop the runners and close the database; keeps the data directory. */
  stop: () => Promise<void>;
  /** Stop and delete the data directory. */
  close: () => Promise<void>;
}

/**
 * Start the real service (SQLite, runners) from the committed template with
 * `overrides`, in a data directory of its own unless one is given.
 */
export async function startTestService(overrides: Record<string, string> = {}, dataDir?: string): Promise<TestService> {
  const dir = dataDir ?? mkdtempSync(path.join(tmpdir(), 'pls-test-'));
  const config = loadConfig({
    env: { LOG_LEVEL: 'silent', PYODIDE_POOL_SIZE: '2', ...overrides, DATA_DIR: dir },
    defaultsFile: path.join(repositoryRoot, '.env.defaults'),
    localFile: path.join(dir, 'no-local.env'),
  });
  const logger = pino({ level: config.logLevel });
  const services = await createServices(config, logger);
  const app = createApp(services.appDependencies);
  const stop = () => services.close();
  return {
    api: supertest(app),
    services,
    config,
    dataDir: dir,
    stop,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
