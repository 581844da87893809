/** Describes the machine and the checkout a measurement was taken on. */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repositoryRoot } from './backend.mjs';

function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repositoryRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repositoryRoot, encoding: 'utf8' }).trim();
    return dirty === '' ? commit : `${commit} (with uncommitted changes)`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/**
 * Returns the newest modification time among the compiled backend's files. Another build
 * in the same checkout during a measurement changes it, and the report then warns that
 * its numbers mix two builds.
 */
export function newestBuildTime() {
  const distDir = path.join(repositoryRoot, 'apps', 'backend', 'dist');
  let newest = 0;
  for (const entry of readdirSync(distDir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      newest = Math.max(newest, statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
    }
  }
  return new Date(newest).toISOString();
}

/** Returns a warning when the compiled backend changed since `buildTimeAtStart`, or undefined. */
export function buildChangeWarning(buildTimeAtStart) {
  const buildTimeNow = newestBuildTime();
  if (buildTimeNow === buildTimeAtStart) {
    return undefined;
  }
  return `WARNING: apps/backend/dist changed during the measurement (newest file ${buildTimeAtStart} at the start, ${buildTimeNow} at the end), so these numbers mix two builds. Run again when nobody builds in this checkout.`;
}

export function describeMachine() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    loadAverage: os.loadavg().map((value) => Number(value.toFixed(2))),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    commit: gitCommit(),
    backendBuildTime: newestBuildTime(),
    date: new Date().toISOString(),
  };
}

export function formatMachine(machine) {
  return [
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB memory, ${machine.kernel}`,
    `node: ${machine.node}; commit: ${machine.commit}; backend built: ${machine.backendBuildTime}`,
    `date: ${machine.date}; load average at start: ${machine.loadAverage.join(' ')}`,
  ].join('\n');
}
