/**
 * A private copy of the compiled backend for one benchmark or load-test run. Several people
 * build in the same checkout, and a build that replaces the sandbox worker files while the
 * backend runs mixes two versions of the code in one measurement. The copy contains the
 * compiled backend and shared package, the backend sources read at run time and the
 * configuration files, and links every other npm package from the checkout's node_modules.
 */
import { cp, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repositoryRoot } from './backend.mjs';
import { newestBuildTime } from './machine.mjs';

const COPIED_PATHS = [
  'package.json',
  '.env.defaults',
  '.env',
  'apps/backend/package.json',
  'apps/backend/dist',
  // Files read at run time from src/: runtime.py, table.py, the JavaScript isolate runtime.
  'apps/backend/src',
  'packages/shared/package.json',
  'packages/shared/dist',
];
const WORKSPACE_SCOPE = '@policy-logic-studio';
const WORKSPACE_LINKS = { shared: 'packages/shared', backend: 'apps/backend' };
const COPY_ATTEMPTS = 3;

/**
 * Copies the current build into a temporary folder and returns its root, the build time it
 * was copied at, and a function that removes it. Throws when a build kept changing the
 * files during every attempt.
 */
export async function freezeBuild() {
  for (let attempt = 1; attempt <= COPY_ATTEMPTS; attempt += 1) {
    const buildTime = newestBuildTime();
    const root = await mkdtemp(path.join(tmpdir(), 'pls-bench-build-'));
    await copyBuild(root);
    if (newestBuildTime() === buildTime) {
      return { root, buildTime, remove: () => rm(root, { recursive: true, force: true }) };
    }
    await rm(root, { recursive: true, force: true });
    // Wait for the other build to finish before the next attempt.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
  throw new Error(`apps/backend/dist changed during each of ${COPY_ATTEMPTS} copies; run again when no build is running in ${repositoryRoot}.`);
}

async function copyBuild(root) {
  for (const relativePath of COPIED_PATHS) {
    const source = path.join(repositoryRoot, relativePath);
    if (existsSync(source)) {
      await cp(source, path.join(root, relativePath), { recursive: true });
    }
  }

  const modulesDir = path.join(root, 'node_modules');
  await mkdir(path.join(modulesDir, WORKSPACE_SCOPE), { recursive: true });
  for (const entry of await readdir(path.join(repositoryRoot, 'node_modules'))) {
    if (entry !== WORKSPACE_SCOPE) {
      await symlink(path.join(repositoryRoot, 'node_modules', entry), path.join(modulesDir, entry));
    }
  }
  for (const [name, relativePath] of Object.entries(WORKSPACE_LINKS)) {
    await symlink(path.join(root, relativePath), path.join(modulesDir, WORKSPACE_SCOPE, name));
  }
}
