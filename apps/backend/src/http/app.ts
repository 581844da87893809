import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import { dryRunRequestSchema, savedBlockDryRunRequestSchema, type PolicyBlock } from '@policy-logic-studio/shared';
import { AppError, ServiceBusyError, ValidationError } from '../errors.js';
import type { DryRunService } from '../execution/dry-run-service.js';
import type { PolicyService } from '../policies/policy-service.js';
import type { PythonPackageService } from '../execution/pyodide/packages/package-service.js';
import { guardianRoutes } from './guardian-routes.js';
import { createSandboxRouter } from './sandbox-routes.js';
import { parseBody } from './validation.js';

export interface HealthReport {
  status: 'ok' | 'degraded';
  [field: string]: unknown;
}

export interface AppDependencies {
  policies: PolicyService;
  dryRuns: DryRunService;
  pythonPackages: PythonPackageService;
  health: () => Promise<HealthReport>;
  logger: Logger;
  requestMaxBytes: number;
  /** Built editor to serve at `/`; omitted in API-only tests. */
  editorDir?: string;
}

/** Build the Express app; only `main.ts` listens. */
export function createApp(deps: AppDependencies) {
  const app = express();
  app.disable('x-powered-by');
  app.use(pinoHttp({ logger: deps.logger, autoLogging: { ignore: (req) => req.url === '/api/health' } }));
  app.use(express.json({ limit: deps.requestMaxBytes }));

  app.get('/api/health', async (_req, res) => {
    res.json(await deps.health());
  });
  app.use('/api/policies', policyRoutes(deps));
  app.use('/api/v1', guardianRoutes(deps));
  app.use('/api/sandbox', createSandboxRouter({ pythonPackages: deps.pythonPackages }));
  app.post('/api/dry-run', dryRunHandler(deps, (req) => {
    const body = parseBody(dryRunRequestSchema, req.body);
    return { block: body.block, input: body.input };
  }));

  app.use('/api', (req, _res, next) => {
    next(new AppError(404, 'not_found', `No API route for ${req.method} ${req.originalUrl}.`));
  });
  if (deps.editorDir) {
    serveEditor(app, deps.editorDir);
  }
  app.use(errorHandler(deps.logger));
  return app;
}

function policyRoutes(deps: AppDependencies) {
  const router = express.Router();
  const { policies } = deps;

  router.get('/', (_req, res) => {
    res.json(policies.list());
  });
  router.post('/', (req, res) => {
    const created = policies.create(req.body);
    res.status(201).location(`/api/policies/${created.id}`).set('ETag', etag(created.version)).json(created);
  });
  router.post('/import', (req, res) => {
    const created = policies.import(req.body);
    res.status(201).location(`/api/policies/${created.id}`).set('ETag', etag(created.version)).json(created);
  });
  router.get('/:id', (req, res) => {
    const policy = policies.get(req.params.id);
    res.set('ETag', etag(policy.version)).json(policy);
  });
  router.get('/:id/export', (req, res) => {
    const document = policies.export(req.params.id);
    const fileName = `${document.name.replace(/[^\w.-]+/g, '_')}.policy.json`;
    res.attachment(fileName).json(document);
  });
  router.put('/:id', (req, res) => {
    const updated = policies.update(req.params.id, req.body, parseIfMatch(req));
    res.set('ETag', etag(updated.version)).json(updated);
  });
  router.get('/:id/schemas', (req, res) => {
    res.json(policies.listSchemas(req.params.id));
  });
  router.post('/:id/schemas', (req, res) => {
    const saved = policies.saveSchema(req.params.id, req.body, parseIfMatch(req));
    res.status(201).set('ETag', etag(saved.policy.version)).json(saved.schema);
  });
  router.delete('/:id/schemas/:schemaId', (req, res) => {
    const updated = policies.deleteSchema(req.params.id, req.params.schemaId, parseIfMatch(req));
    res.status(204).set('ETag', etag(updated.version)).end();
  });
  router.delete('/:id', (req, res) => {
    policies.delete(req.params.id);
    res.status(204).end();
  });
  router.post(
    '/:id/blocks/:tag/dry-run',
    dryRunHandler(deps, (req) => {
      const params = req.params as { id: string; tag: string };
      const body = parseBody(savedBlockDryRunRequestSchema, req.body);
      const saved = policies.findBlock(params.id, params.tag);
      const block: PolicyBlock = body.block ? { ...body.block, tag: body.block.tag ?? params.tag } : saved;
      return { block, policyId: params.id, input: body.input };
    }),
  );
  return router;
}

type DryRunTargetReader = (req: Request) => Parameters<DryRunService['run']>[0];

function dryRunHandler(deps: AppDependencies, readTarget: DryRunTargetReader): RequestHandler {
  return async (req, res) => {
    const target = readTarget(req);
    const clientGone = new AbortController();
    res.on('close', () => {
      if (!res.writableEnded) {
        clientGone.abort();
      }
    });
    const response = await deps.dryRuns.run({ ...target, signal: clientGone.signal });
    res.json(response);
  };
}

function etag(version: number): string {
  return `"${version}"`;
}

/** The version an update is based on, from `If-Match: "<version>"`. */
function parseIfMatch(req: Request): number {
  const header = req.get('If-Match');
  if (!header) {
    throw new AppError(
      428,
      'precondition_required',
      'Updates need an If-Match header with the version they are based on, for example If-Match: "3" (the ETag of GET /api/policies/:id).',
    );
  }
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(header.trim());
  if (!match) {
    throw new ValidationError(`If-Match "${header}" is invalid; send the policy's ETag, for example "3".`);
  }
  return Number(match[1]);
}

function serveEditor(app: express.Express, editorDir: string) {
  const indexFile = path.join(editorDir, 'index.html');
  app.use(express.static(editorDir, { index: false, maxAge: '1h' }));
  app.get(/^(?!\/api\/).*/, (_req, res: Response, next) => {
    if (!existsSync(indexFile)) {
      next(new AppError(404, 'editor_not_built', `The editor is not built (${indexFile} is missing). Run npm run build.`));
      return;
    }
    res.sendFile(indexFile);
  });
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      logger.error({ err: error, method: req.method, url: req.originalUrl }, 'request failed');
    }
    if (appError instanceof ServiceBusyError) {
      res.set('Retry-After', String(appError.retryAfterSeconds));
    }
    res.status(appError.status).json({
      error: { code: appError.code, message: appError.message, details: appError.details ?? null },
    });
  };
}

/** Map body-parser and unknown errors onto the API's error shape. */
function toAppError(error: unknown): AppError {
  if (error instanceof AppError) {
    return error;
  }
  const parserError = error as { type?: string; status?: number; limit?: number; message?: string };
  if (parserError.type === 'entity.too.large') {
    return new AppError(413, 'body_too_large', `Request body is larger than ${parserError.limit} bytes. Send less data or raise REQUEST_MAX_BYTES.`);
  }
  if (parserError.type === 'entity.parse.failed') {
    return new AppError(400, 'invalid_json', `Request body is not valid JSON: ${parserError.message}`);
  }
  if (typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    return new AppError(parserError.status, 'bad_request', parserError.message ?? 'Bad request.');
  }
  return new AppError(500, 'internal_error', 'Internal error; the service log has the details.');
}
