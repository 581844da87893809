/**
 * Writes a small pure-Python wheel (a zip archive with stored, uncompressed entries), so the
 * package-load benchmark needs no network and no Python tooling on the host.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { zipSync } from 'fflate';

const WHEEL_VERSION = '1.0.0';
// A fixed entry time makes the same package name give the same bytes and sha256 in every run.
const FIXED_MTIME = new Date('1980-01-01T00:00:00Z');

/** Builds the wheel's module: enough code that importing it does some real work. */
function moduleSource() {
  const functions = Array.from(
    { length: 200 },
    (_, index) => `def scale_${index}(value):\n    return value * ${index + 1}\n`,
  );
  return `"""Generated for the package-load benchmark."""\n\n${functions.join('\n')}\nTOTAL = sum(scale_${199}(1) for _ in range(10))\n`;
}

function recordLine(name, data) {
  const digest = createHash('sha256').update(data).digest('base64url');
  return `${name},sha256=${digest},${data.length}`;
}

/**
 * Writes a wheel whose distribution and module are both named `packageName` into `folder`.
 * Returns its path, file name, version, size in bytes, hex sha256 and the module name to import.
 */
export async function writeBenchmarkWheel(folder, packageName) {
  const distInfo = `${packageName}-${WHEEL_VERSION}.dist-info`;
  const files = [
    [`${packageName}/__init__.py`, Buffer.from(moduleSource())],
    [`${distInfo}/METADATA`, Buffer.from(`Metadata-Version: 2.1\nName: ${packageName}\nVersion: ${WHEEL_VERSION}\n`)],
    [`${distInfo}/WHEEL`, Buffer.from('Wheel-Version: 1.0\nGenerator: bench/lib/wheel.mjs\nRoot-Is-Purelib: true\nTag: py3-none-any\n')],
    [`${distInfo}/top_level.txt`, Buffer.from(`${packageName}\n`)],
  ];
  const record = [...files.map(([name, data]) => recordLine(name, data)), `${distInfo}/RECORD,,`, ''].join('\n');
  files.push([`${distInfo}/RECORD`, Buffer.from(record)]);

  const fileName = `${packageName}-${WHEEL_VERSION}-py3-none-any.whl`;
  const wheelPath = path.join(folder, fileName);
  // Level 0 stores the entries uncompressed, so unpacking costs Pyodide no decompression.
  const content = Buffer.from(zipSync(Object.fromEntries(files), { level: 0, mtime: FIXED_MTIME }));
  await writeFile(wheelPath, content);
  return {
    wheelPath,
    fileName,
    version: WHEEL_VERSION,
    bytes: content.length,
    sha256: createHash('sha256').update(content).digest('hex'),
    moduleName: packageName,
  };
}
