import path from 'node:path';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { repositoryRoot } from './paths.js';
import { createServices } from './services.js';
import { createApp } from './http/app.js';

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Configuration error: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function main() {
  const config = readConfig();
  const logger = createLogger(config.logLevel);
  const services = await createServices(config, logger);
  const app = createApp({
    ...services.appDependencies,
    editorDir: path.join(repositoryRoot, 'apps', 'editor', 'dist'),
  });

  const server = app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host}:${port}/`;
    logger.info({ url, pythonMode: config.pythonMode, dataDir: config.dataDir }, 'Policy Logic Studio is listening');
    process.stdout.write(`Policy Logic Studio is running at ${url}\n`);
  });
  server.on('error', (error) => {
    logger.fatal({ err: error }, `cannot listen on ${config.host}:${config.port}`);
    process.exit(1);
  });

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down');
    server.close();
    void services.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

void main();
