/**
 * A package source that tests build themselves: small pure-Python wheels generated at
 * test time, a lock file for them in the shape of pyodide-lock.json, and an HTTP server
 * on 127.0.0.1 that serves them and counts requests.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import type { PythonLibrary } from '@policy-logic-studio/shared';
import type { LockFile, LockPackage } from '../../src/execution/pyodide/packages/lock-file.js';

export interface TestWheel {
  name: string;
  version: string;
  /** Source of `<name>/__init__.py`. */
  init: string;
  depends?: string[];
}

function recordHash(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('base64url');
}

/** Builds a wheel: a zip with `<name>/__init__.py` and `<name>-<version>.dist-info/` (METADATA, WHEEL, RECORD). */
export function buildWheel(wheel: TestWheel): Uint8Array {
  const distInfo = `${wheel.name}-${wheel.version}.dist-info`;
  const requires = (wheel.depends ?? []).map((dependency) => `Requires-Dist: ${dependency}\n`).join('');
  const files: Record<string, Uint8Array> = {
    [`${wheel.name}/__init__.py`]: strToU8(wheel.init),
    [`${distInfo}/METADATA`]: strToU8(`Metadata-Version: 2.1\nName: ${wheel.name}\nVersion: ${wheel.version}\n${requires}`),
    [`${distInfo}/WHEEL`]: strToU8('Wheel-Version: 1.0\nGenerator: policy-logic-studio-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n'),
  };
  const record = Object.entries(files)
    .map(([name, content]) => `${name},sha256=${recordHash(content)},${content.length}\n`)
    .join('');
  files[`${distInfo}/RECORD`] = strToU8(`${record}${distInfo}/RECORD,,\n`);
  return zipSync(files);
}

export function wheelFileName(wheel: Pick<TestWheel, 'name' | 'version'>): string {
  return `${wheel.name}-${wheel.version}-py3-none-any.whl`;
}

export function sha256Hex(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

export interface WheelSource {
  folder: string;
  /** `file://` URL of the folder, with a trailing slash. */
  folderUrl: string;
  lock: LockFile;
}

/** Writes each wheel into `folder` and returns a lock file whose sha256 values match them. */
export function writeWheelSource(folder: string, wheels: TestWheel[]): WheelSource {
  mkdirSync(folder, { recursive: true });
  const packages: Record<string, LockPackage> = {};
  for (const wheel of wheels) {
    const content = buildWheel(wheel);
    const fileName = wheelFileName(wheel);
    writeFileSync(path.join(folder, fileName), content);
    packages[wheel.name] = {
      name: wheel.name,
      version: wheel.version,
      file_name: fileName,
      install_dir: 'site',
      sha256: sha256Hex(content),
      package_type: 'package',
      imports: [wheel.name],
      depends: wheel.depends ?? [],
      shared_library: false,
    };
  }
  return {
    folder,
    folderUrl: `file://${folder}/`,
    lock: { info: { version: '0.26.4', python: '3.12.1' }, packages },
  };
}

/** Builds a library table entry of category `library`, loadable in Pyodide mode. */
export function testLibrary(name: string, version: string): PythonLibrary {
  return { name, importNames: [name], version, category: 'library', modes: ['pyodide', 'docker'] };
}

export interface WheelServer {
  /** Base URL with a trailing slash. */
  url: string;
  /** Request paths in arrival order. */
  requests: string[];
  close: () => Promise<void>;
}

/** Serves the files of `folder` on 127.0.0.1 at a free port. */
export async function startWheelServer(folder: string): Promise<WheelServer> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const requestPath = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    requests.push(requestPath);
    const filePath = path.join(folder, path.basename(requestPath));
    let content: Buffer;
    try {
      content = readFileSync(filePath);
    } catch {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end(`no such file: ${requestPath}`);
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': content.length }).end(content);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Returns a URL on 127.0.0.1 whose port was free a moment ago, so connecting to it is refused. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/`;
}
