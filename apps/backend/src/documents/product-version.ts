import { productVersion as rootPackageVersion } from '../version.js';

/**
 * A semantic version (major.minor.patch, optional pre-release and build metadata), the
 * pattern from semver.org 2.0.0.
 */
export const SEMANTIC_VERSION_PATTERN =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)' +
  '(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?' +
  '(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$';

const semanticVersion = new RegExp(SEMANTIC_VERSION_PATTERN);

export function isSemanticVersion(value: string): boolean {
  return semanticVersion.test(value);
}

/** The product version from the root package.json, read once at start. */
const versionAtStart = checkVersion(rootPackageVersion);

function checkVersion(version: string): string {
  if (typeof version !== 'string' || !isSemanticVersion(version)) {
    throw new Error(
      `The root package.json version ${JSON.stringify(version)} is not a semantic version. ` +
        'Set "version" to a value such as "1.2.3" so output documents can record it.',
    );
  }
  return version;
}

/** Returns the product version that output documents record in `guardianVersion`. */
export function productVersion(): string {
  return versionAtStart;
}
