/**
 * Resource limits of a Docker sandbox container and the parsers for the environment
 * variables that set them. Each parser throws an error naming the variable, so the
 * service fails at start-up instead of at the first run.
 */

export interface SandboxLimits {
  /** Memory and memory+swap limit in Docker's notation (`512m`, `1g`). */
  memory: string;
  /** CPU share; 1.5 means one and a half cores. */
  cpus: number;
  /** Maximum number of processes and threads in the container. */
  pids: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  memory: '512m',
  cpus: 1,
  pids: 128,
};

const MEMORY_PATTERN = /^(\d+(?:\.\d+)?)([bkmg]?)$/i;
const MEMORY_UNIT_BYTES: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};
/** Docker rejects memory limits below 6 MiB. */
const MIN_MEMORY_BYTES = 6 * 1024 ** 2;
/** Docker accepts NanoCpus in steps of 0.01 CPU. */
const MIN_CPUS = 0.01;
/** Python needs a few threads of its own; fewer PIDs fail before the script starts. */
const MIN_PIDS = 8;

/** Convert a Docker memory string (`512m`) to bytes, or return undefined when it is not one. */
export function memoryToBytes(memory: string): number | undefined {
  const match = MEMORY_PATTERN.exec(memory.trim());
  if (match === null) {
    return undefined;
  }
  const amount = Number(match[1]);
  const unit = (match[2] ?? '').toLowerCase();
  return Math.floor(amount * (MEMORY_UNIT_BYTES[unit] ?? 1));
}

/** Parse `PYTHON_SANDBOX_MEMORY`: a number with an optional b, k, m or g suffix, at least 6m. */
export function parseSandboxMemory(value: string, variable = 'PYTHON_SANDBOX_MEMORY'): string {
  const bytes = memoryToBytes(value);
  if (bytes === undefined) {
    throw new Error(
      `${variable} is invalid: ${JSON.stringify(value)}. Use a number of bytes with an optional unit b, k, m or g, such as 512m or 1g.`,
    );
  }
  if (bytes < MIN_MEMORY_BYTES) {
    throw new Error(`${variable} is too small: ${JSON.stringify(value)}. Docker needs at least 6m.`);
  }
  return value.trim().toLowerCase();
}

/** Parse `PYTHON_SANDBOX_CPUS`: a positive decimal number of CPUs, such as 1 or 0.5. */
export function parseSandboxCpus(value: string, variable = 'PYTHON_SANDBOX_CPUS'): number {
  const trimmed = value.trim();
  const cpus = Number(trimmed);
  if (trimmed === '' || !Number.isFinite(cpus) || cpus < MIN_CPUS) {
    throw new Error(
      `${variable} is invalid: ${JSON.stringify(value)}. Use a number of CPUs of at least ${MIN_CPUS}, such as 1 or 0.5.`,
    );
  }
  return cpus;
}

/** Parse `PYTHON_SANDBOX_PIDS`: a whole number of processes and threads, at least 8. */
export function parseSandboxPids(value: string, variable = 'PYTHON_SANDBOX_PIDS'): number {
  const trimmed = value.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) < MIN_PIDS) {
    throw new Error(
      `${variable} is invalid: ${JSON.stringify(value)}. Use a whole number of at least ${MIN_PIDS}, such as 128.`,
    );
  }
  return Number(trimmed);
}

/**
 * Read the three limit variables from an environment, with defaults for the ones
 * that are unset or empty.
 */
export function parseSandboxLimits(env: Record<string, string | undefined>): SandboxLimits {
  const memory = env.PYTHON_SANDBOX_MEMORY?.trim();
  const cpus = env.PYTHON_SANDBOX_CPUS?.trim();
  const pids = env.PYTHON_SANDBOX_PIDS?.trim();
  return {
    memory: memory ? parseSandboxMemory(memory) : DEFAULT_SANDBOX_LIMITS.memory,
    cpus: cpus ? parseSandboxCpus(cpus) : DEFAULT_SANDBOX_LIMITS.cpus,
    pids: pids ? parseSandboxPids(pids) : DEFAULT_SANDBOX_LIMITS.pids,
  };
}
