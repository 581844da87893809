/**
 * Routes about the Python sandbox: the supported libraries with their availability, the
 * package cache status, and a way to run the cache warm-up again. Mounted at `/api/sandbox`.
 */
import express, { type Router } from 'express';
import type { SandboxStatusResponse } from '@policy-logic-studio/shared';
import { AppError } from '../errors.js';
import type { PythonPackageService } from '../execution/pyodide/packages/package-service.js';

export interface SandboxRouteDependencies {
  pythonPackages: PythonPackageService;
}

export function createSandboxRouter(deps: SandboxRouteDependencies): Router {
  const router = express.Router();
  const { pythonPackages } = deps;

  router.get('/packages', (_req, res) => {
    res.json(pythonPackages.libraries());
  });

  router.get('/status', (_req, res) => {
    const body: SandboxStatusResponse = { mode: pythonPackages.mode, packageCache: pythonPackages.status() };
    res.json(body);
  });

  // Starts a warm-up (or joins the running one) and returns at once; progress shows in GET /status.
  router.post('/warm-up', (_req, res) => {
    if (pythonPackages.mode !== 'pyodide') {
      throw new AppError(409, 'not_pyodide_mode', 'The package cache is used in Pyodide mode only; this backend runs Python in Docker mode (PYTHON_SANDBOX_MODE=docker).');
    }
    pythonPackages.cache.startWarmUp();
    const body: SandboxStatusResponse = { mode: pythonPackages.mode, packageCache: pythonPackages.status() };
    res.status(202).json(body);
  });

  return router;
}
