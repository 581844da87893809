import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DockerRunner } from '../src/execution/docker/docker-runner.js';
import {
  createRunner,
  describeWithDocker,
  listSandboxContainers,
  probeDocker,
  runScript,
  socketPath,
  type CollectedRun,
  type ScriptRunOptions,
} from './docker-support.js';

/**
 * Attacks a script might try from inside a Docker sandbox. Several scripts undo the
 * runtime's Python-level hardening first (the original socket class, a fresh `_socket`
 * module, ctypes through importlib), so each check tests the container's own boundary.
 */

const probe = await probeDocker();
const suite = `docker-battery-${process.pid}`;

const secretName = 'POLICY_LOGIC_STUDIO_TEST_SECRET';
const secretValue = `secret-${randomUUID()}`;
const hostFile = `/tmp/policy-logic-studio-host-file-${randomUUID()}`;

let server: net.Server;
let serverPort = 0;
let serverConnections = 0;

interface AttackCase {
  name: string;
  script: () => string;
  options?: ScriptRunOptions;
  check: (run: CollectedRun) => void | Promise<void>;
}

function resultOf(run: CollectedRun): Record<string, unknown> {
  expect(run.error).toBeUndefined();
  expect(run.outcome).toEqual({ kind: 'exited' });
  expect(run.results).toHaveLength(1);
  return run.results[0] as Record<string, unknown>;
}

const cases: AttackCase[] = [
  {
    name: 'network: no interface, no TCP to the host, no DNS',
    script: () => `
import importlib, os, socket, sys
result = {'interfaces': sorted(os.listdir('/sys/class/net'))}
connection = socket.SocketType(socket.AF_INET, socket.SOCK_STREAM)
connection.settimeout(3)
try:
    connection.connect(('127.0.0.1', ${serverPort}))
    result['tcp'] = 'connected'
except OSError as error:
    result['tcp'] = type(error).__name__
del sys.modules['_socket']
fresh_socket = importlib.import_module('_socket')
try:
    fresh_socket.getaddrinfo('policy-logic-studio-test.invalid', 80)
    result['dns'] = 'resolved'
except OSError as error:
    result['dns'] = type(error).__name__
done(result)
`,
    check: (run) => {
      const result = resultOf(run);
      expect(result.interfaces).toEqual(['lo']);
      expect(result.tcp).toBe('ConnectionRefusedError');
      expect(result.dns).toBe('gaierror');
      expect(serverConnections).toBe(0);
    },
  },
  {
    name: 'root file system is read-only',
    script: () => `
result = {}
for path in ['/pls-probe', '/etc/pls-probe', '/opt/sandbox/pls-probe', '/usr/lib/python3/pls-probe']:
    try:
        with open(path, 'w') as handle:
            handle.write('x')
        result[path] = 'written'
    except OSError as error:
        result[path] = type(error).__name__
with open('/proc/self/mountinfo') as handle:
    mounts = {fields[4]: fields[5].split(',') for fields in (line.split() for line in handle)}
result['root_options'] = mounts['/']
with open('/tmp/probe.txt', 'w') as handle:
    handle.write('tmp is writable')
with open('/tmp/probe.txt') as handle:
    result['tmp'] = handle.read()
done(result)
`,
    check: (run) => {
      const result = resultOf(run);
      for (const path of ['/pls-probe', '/etc/pls-probe', '/opt/sandbox/pls-probe', '/usr/lib/python3/pls-probe']) {
        expect(result[path]).not.toBe('written');
      }
      expect(result.root_options).toContain('ro');
      expect(result.tmp).toBe('tmp is writable');
    },
  },
  {
    name: '/tmp is noexec, nosuid and 64 MiB',
    script: () => `
import mmap, os
result = {}
with open('/proc/self/mountinfo') as handle:
    mounts = {fields[4]: fields[5].split(',') for fields in (line.split() for line in handle)}
result['tmp_options'] = mounts['/tmp']
with open('/tmp/payload.bin', 'wb') as handle:
    handle.write(b'\\xc3' * 4096)
descriptor = os.open('/tmp/payload.bin', os.O_RDONLY)
try:
    mmap.mmap(descriptor, 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC)
    result['exec_mapping'] = 'mapped'
except OSError as error:
    result['exec_mapping'] = type(error).__name__
try:
    with open('/tmp/filler.bin', 'wb') as handle:
        for _ in range(100):
            handle.write(b'\\0' * 1024 * 1024)
    result['fill_100_mib'] = 'written'
except OSError as error:
    result['fill_100_mib'] = error.strerror
done(result)
`,
    check: (run) => {
      const result = resultOf(run);
      expect(result.tmp_options).toContain('noexec');
      expect(result.tmp_options).toContain('nosuid');
      expect(result.exec_mapping).toBe('PermissionError');
      expect(result.fill_100_mib).toBe('No space left on device');
    },
  },
  {
    name: 'runs as 1001 without capabilities',
    script: () => `
import os
with open('/proc/self/status') as handle:
    status = dict(line.rstrip('\\n').split(':\\t', 1) for line in handle if ':\\t' in line)
done({
    'uid': os.getuid(), 'euid': os.geteuid(), 'gid': os.getgid(), 'groups': os.getgroups(),
    'caps': {name: status[name].strip() for name in ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']},
    'no_new_privs': status['NoNewPrivs'].strip(),
    'seccomp': status['Seccomp'].strip(),
})
`,
    check: (run) => {
      const result = resultOf(run);
      expect(result.uid).toBe(1001);
      expect(result.euid).toBe(1001);
      expect(result.gid).toBe(1001);
      expect(result.groups).toEqual([1001]);
      for (const mask of Object.values(result.caps as Record<string, string>)) {
        expect(mask).toBe('0000000000000000');
      }
      expect(result.no_new_privs).toBe('1');
      // 2 is filter mode: the engine's default seccomp profile applies.
      expect(result.seccomp).toBe('2');
    },
  },
  {
    name: 'fork bomb stops at the PID limit',
    script: () => `
import importlib, os, time
ctypes = importlib.import_module('ctypes')
libc = ctypes.CDLL(None, use_errno=True)
children = 0
failure = None
while children < 10000:
    pid = libc.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    if pid < 0:
        failure = os.strerror(ctypes.get_errno())
        break
    children += 1
done({'children': children, 'failure': failure})
`,
    check: (run) => {
      const result = resultOf(run);
      expect(result.children).toBeLessThan(128);
      expect(result.failure).toBe('Resource temporarily unavailable');
    },
  },
  {
    name: 'thread bomb fails as a Python error',
    script: () => `
import threading, time
threads = []
while True:
    thread = threading.Thread(target=time.sleep, args=(60,), daemon=True)
    thread.start()
    threads.append(thread)
`,
    check: (run) => {
      expect(run.outcome).toEqual({ kind: 'exited' });
      expect(run.error?.type).toBe('RuntimeError');
      expect(run.error?.message).toContain("can't start new thread");
      expect(run.error?.line).toBe(6);
    },
  },
  {
    name: 'memory bomb ends with the memory limit',
    script: () => `
blocks = []
while True:
    blocks.append(bytearray(10_000_000))
`,
    check: (run) => {
      expect(run.outcome.kind).toBe('crashed');
      if (run.outcome.kind === 'crashed') {
        expect(run.outcome.error.type).toBe('MemoryLimitExceeded');
        expect(run.outcome.error.message).toBe('memory limit exceeded (512m)');
      }
    },
  },
  {
    name: 'busy loop times out and leaves no container',
    script: () => 'while True:\n    pass\n',
    options: { timeoutMs: 2_000 },
    check: async (run) => {
      expect(run.outcome).toEqual({ kind: 'timed_out', timeoutMs: 2_000 });
      expect(await listSandboxContainers({ runId: run.runId })).toEqual([]);
    },
  },
  {
    name: 'environment holds no secret of the service',
    script: () => `
import os
with open('/proc/self/environ', 'rb') as handle:
    initial = handle.read().decode('utf-8', 'replace').split('\\0')
done({'environ': dict(os.environ), 'initial': [entry for entry in initial if entry]})
`,
    check: (run) => {
      const result = resultOf(run);
      const text = JSON.stringify(result);
      expect(text).not.toContain(secretValue);
      expect(text).not.toContain(secretName);
      expect(result.initial).not.toContainEqual(expect.stringMatching(/^DOCKER_|^NODE_|^npm_/));
    },
  },
  {
    name: 'host files are out of sight',
    script: () => `
import os
done({'host_file': os.path.exists(${JSON.stringify(hostFile)}), 'repository': os.path.exists('/work'), 'root_home': os.path.exists('/root/.npm')})
`,
    check: (run) => {
      const result = resultOf(run);
      expect(result.host_file).toBe(false);
      expect(result.repository).toBe(false);
      expect(result.root_home).toBe(false);
    },
  },
  {
    name: 'Docker socket is out of reach',
    script: () => `
import os, socket
result = {}
for path in [${JSON.stringify(socketPath)}, '/var/run/docker.sock', '/run/docker.sock']:
    client = socket.SocketType(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
        result[path] = 'connected'
    except OSError as error:
        result[path] = type(error).__name__
done(result)
`,
    check: (run) => {
      const result = resultOf(run);
      for (const outcome of Object.values(result)) {
        expect(outcome).toBe('FileNotFoundError');
      }
    },
  },
];

describeWithDocker('Docker sandbox boundary', probe, () => {
  let runner: DockerRunner;

  beforeAll(async () => {
    process.env[secretName] = secretValue;
    writeFileSync(hostFile, 'visible only on the host');
    server = net.createServer((socket) => {
      serverConnections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serverPort = (server.address() as net.AddressInfo).port;
    runner = createRunner(suite);
  });

  afterAll(async () => {
    delete process.env[secretName];
    rmSync(hostFile, { force: true });
    await runner.close();
    await new Promise((resolve) => server.close(resolve));
    expect(await listSandboxContainers({ suite })).toEqual([]);
  });

  it.each(cases)('$name', async ({ script, options, check }) => {
    const run = await runScript(runner, script(), options);
    await check(run);

    const next = await runScript(runner, "done({'ok': True})");
    expect(next.outcome).toEqual({ kind: 'exited' });
    expect(next.results).toEqual([{ ok: true }]);
  });
});
