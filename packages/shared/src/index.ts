export * from './json.js';
export * from './policy.js';
export * from './dry-run.js';
export * from './protocol.js';
export * from './python-packages.js';
