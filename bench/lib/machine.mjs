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

/** Returns the newest modification time among the compiled backend's files, as an ISO date. */
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

/** Describes the machine, the checkout and `buildTime`, the time of the build that is measured. */
export function describeMachine(buildTime) {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    loadAverage: os.loadavg().map((value) => Number(value.toFixed(2))),
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    commit: gitCommit(),
    backendBuildTime: buildTime,
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
