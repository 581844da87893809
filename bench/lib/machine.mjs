/** Describes the machine and the checkout a measurement was taken on. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
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
    date: new Date().toISOString(),
  };
}

export function formatMachine(machine) {
  return [
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB memory, ${machine.kernel}`,
    `node: ${machine.node}; commit: ${machine.commit}; date: ${machine.date}; load average at start: ${machine.loadAverage.join(' ')}`,
  ].join('\n');
}
