import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createOutputBuilder, keyStore, type DocumentSchema } from './documents/index.js';
import { DryRunService } from './execution/dry-run-service.js';
import { PythonPackageService } from './execution/pyodide/packages/package-service.js';
import { createRunners } from './execution/runners.js';
import type { AppDependencies, HealthReport } from './http/app.js';
import { PolicyService } from './policies/policy-service.js';
import { PolicyStore } from './policies/policy-store.js';
import { productVersion } from './version.js';

export interface Services {
  appDependencies: Omit<AppDependencies, 'editorDir'>;
  policies: PolicyService;
  dryRuns: DryRunService;
  close: () => Promise<void>;
}

/** Wire the store, the runners and the dry-run service from the configuration. */
export async function createServices(config: Config, logger: Logger): Promise<Services> {
  const store = new PolicyStore(config.databasePath);
  const policies = new PolicyService(store);
  const seeded = policies.seedExample();
  if (seeded) {
    logger.info({ policyId: seeded.id }, 'seeded the example policy');
  }

  const pythonPackages = new PythonPackageService({
    mode: config.pythonMode,
    cacheDir: config.pyodide.packageCacheDir,
    sourceUrl: config.pyodide.packageBaseUrl,
    operatorPackages: config.pyodide.operatorPackages,
    logger: logger.child({ component: 'pyodide-packages' }),
  });
  pythonPackages.start();
  const runners = await createRunners(config, logger, pythonPackages);
  const signer = await keyStore(config.dataDir);
  const buildOutputs = createOutputBuilder({
    signer,
    resolveSchema: (schemaId, policyId) => (policyId ? policies.findSchema(policyId, schemaId) : undefined),
  });
  const dryRuns = new DryRunService({
    runners,
    timeouts: {
      pythonMs: config.pythonTimeoutMs,
      javascriptMs: config.javascriptTimeoutMs,
      dryRunMs: config.dryRunTimeoutMs,
    },
    inputLimits: config.inputLimits,
    buildOutputs,
    logger,
  });

  const health = async (): Promise<HealthReport> => {
    const [python, javascript] = await Promise.all([runners.python.health(), runners.javascript.health()]);
    const ready = python.ready && javascript.ready;
    return {
      status: ready ? 'ok' : 'degraded',
      version: productVersion,
      pythonMode: config.pythonMode,
      ready,
      python,
      javascript,
    };
  };

  return {
    appDependencies: { policies, dryRuns, pythonPackages, health, logger, requestMaxBytes: config.requestMaxBytes },
    policies,
    dryRuns,
    close: async () => {
      pythonPackages.close();
      await Promise.allSettled([runners.python.close(), runners.javascript.close()]);
      store.close();
    },
  };
}
