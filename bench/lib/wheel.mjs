/**
 * Writes a small pure-Python wheel (a zip archive with stored, uncompressed entries), so the
 * package-load benchmark needs no network and no Python tooling on the host.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';

const WHEEL_VERSION = '1.0.0';

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
  const content = zipStored(files);
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

/** Encodes files as a zip archive without compression (method 0). */
function zipStored(files) {
  const localParts = [];
  const centralParts = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const checksum = crc32(data);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed to extract: 2.0
    local.writeUInt32LE(checksum, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    localParts.push(local, nameBytes, data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(checksum, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    centralParts.push(central, nameBytes);

    offset += local.length + nameBytes.length + data.length;
  }
  const centralSize = centralParts.reduce((sum, part) => sum + part.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...localParts, ...centralParts, end]);
}
