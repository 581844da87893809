/**
 * Reads process facts from /proc (Linux only): children of a process, resident memory
 * and thread count.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Returns the fields of /proc/<pid>/status as a map, or undefined when the process is gone. */
export function readProcStatus(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = new Map();
  for (const line of text.split('\n')) {
    const separator = line.indexOf(':');
    if (separator > 0) {
      fields.set(line.slice(0, separator), line.slice(separator + 1).trim());
    }
  }
  return fields;
}

/** Resident set size (VmRSS) of a process in MiB, or undefined when the process is gone. */
export function residentMb(pid) {
  const value = readProcStatus(pid)?.get('VmRSS');
  if (value === undefined) {
    return undefined;
  }
  // /proc reports VmRSS in kB (KiB).
  return Number.parseInt(value, 10) / 1024;
}

/** Number of threads of a process, or undefined when the process is gone. */
export function threadCount(pid) {
  const value = readProcStatus(pid)?.get('Threads');
  return value === undefined ? undefined : Number.parseInt(value, 10);
}

/** Returns the arguments of a process, or an empty list when it is gone. */
export function readCommandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((part) => part !== '');
  } catch {
    return [];
  }
}

function readParentPid(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in field 2 may contain spaces, so fields are counted after its closing bracket.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number.parseInt(fields[1], 10);
  } catch {
    return undefined;
  }
}

/** Returns every process below `rootPid`, each with its parent and command line. */
export function listDescendants(rootPid) {
  const parentOf = new Map();
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry)) {
      const parent = readParentPid(entry);
      if (parent !== undefined) {
        parentOf.set(Number(entry), parent);
      }
    }
  }
  const descendants = [];
  const frontier = [rootPid];
  while (frontier.length > 0) {
    const current = frontier.shift();
    for (const [pid, parent] of parentOf) {
      if (parent === current) {
        descendants.push({ pid, parentPid: parent, commandLine: readCommandLine(pid) });
        frontier.push(pid);
      }
    }
  }
  return descendants;
}

/**
 * Finds the Pyodide sandbox host below the backend: the Node process running
 * sandbox-host.js. The backend may start it through `choom` and `unshare`, whose command
 * lines name the script as well, so those wrappers are skipped.
 */
export function findSandboxHostPid(backendPid) {
  const wrappers = new Set(['unshare', 'choom']);
  const host = listDescendants(backendPid).find(
    ({ commandLine }) =>
      commandLine.some((part) => part.endsWith('sandbox-host.js')) && !wrappers.has(commandLine[0]?.split('/').pop()),
  );
  return host?.pid;
}
