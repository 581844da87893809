import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { DockerRunner } from './docker/docker-runner.js';
import { JavaScriptRunner } from './javascript/javascript-runner.js';
import { PyodideRunner } from './pyodide/pyodide-runner.js';
import type { PythonPackageService } from './pyodide/packages/package-service.js';
import type { ScriptRunner } from './runner.js';

export interface Runners {
  python: ScriptRunner;
  javascript: ScriptRunner;
}

/** Create the Python runner for the configured mode and the JavaScript runner. */
export async function createRunners(
  config: Config,
  logger: Logger,
  pythonPackages: PythonPackageService,
): Promise<Runners> {
  const javascript = new JavaScriptRunner({ logger: logger.child({ runner: 'isolated-vm' }) });
  if (config.pythonMode === 'docker') {
    const python = new DockerRunner({ ...config.docker, logger: logger.child({ runner: 'docker' }) });
    python.prepareContainers();
    return { python, javascript };
  }

  const python = new PyodideRunner({
    poolSize: config.pyodide.poolSize,
    maxRunningRuns: config.pyodide.maxRunningRuns,
    maxQueuedRuns: config.pyodide.maxQueuedRuns,
    memoryLimitBytes: config.pyodide.memoryLimitBytes,
    packages: pythonPackages.planSettings(),
    logger: logger.child({ runner: 'pyodide' }),
  });
  await python.start();
  return { python, javascript };
}
