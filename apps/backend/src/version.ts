import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repositoryRoot } from './paths.js';

/** The product's semantic version, from the root package.json. */
export const productVersion: string = (
  JSON.parse(readFileSync(path.join(repositoryRoot, 'package.json'), 'utf8')) as { version: string }
).version;
