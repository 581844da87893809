#!/usr/bin/env node
/**
 * Walks through the editor in headless Chromium against a running backend, saves a
 * screenshot per step and fails when the page requests anything from another origin.
 *
 *   node apps/editor/scripts/check-in-browser.mjs [BASE_URL] [SCREENSHOT_DIR]
 *
 * BASE_URL defaults to http://127.0.0.1:3000/ and must serve the built editor and the
 * API. The walk creates a policy named "Browser check <time>" and deletes it at the end.
 * It uses playwright-core, installed with the e2e workspace's @playwright/test.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const baseUrl = new URL(process.argv[2] ?? 'http://127.0.0.1:3000/');
const screenshotDir = path.resolve(process.argv[3] ?? 'editor-screenshots');
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Without the background-networking flags Chromium contacts Google services on its own.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

mkdirSync(screenshotDir, { recursive: true });
const requestedUrls = [];
const consoleErrors = [];

const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
const context = await browser.newContext({ viewport: { width: 1400, height: 950 }, acceptDownloads: true });
context.on('request', (request) => requestedUrls.push(request.url()));
const page = await context.newPage();
page.on('console', (message) => {
  if (message.type() === 'error') {
    consoleErrors.push(message.text());
  }
});

let step = 0;
async function snap(name) {
  step += 1;
  const file = path.join(screenshotDir, `${String(step).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  console.log(`screenshot ${file}`);
}

/** Replaces the whole Monaco script through the keyboard, as an author would. */
async function typeScript(text) {
  const editor = page.getByRole('textbox', { name: 'Script', exact: true });
  await editor.focus();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // Monaco auto-indents and closes brackets while typing, so paste-like insertion keeps the text exact.
  await page.keyboard.insertText(text);
}

const policyName = `Browser check ${new Date().toISOString()}`;
/** Wall-clock durations of single steps, printed for information only. */
const timings = {};

try {
  let startedAt = performance.now();
  await page.goto(baseUrl.href);
  await page.getByRole('heading', { name: 'Policies' }).waitFor();
  timings.policyListMs = performance.now() - startedAt;
  await snap('policy-list');

  await page.getByLabel('New policy name').fill(policyName);
  await page.getByRole('button', { name: 'Create policy' }).click();
  await page.getByRole('heading', { name: policyName }).waitFor();
  startedAt = performance.now();
  await page.getByRole('button', { name: 'Add Custom Logic block' }).click();
  await page.getByRole('textbox', { name: 'Script', exact: true }).waitFor();
  await page.locator('.monaco-editor .view-lines').waitFor();
  timings.firstMonacoMs = performance.now() - startedAt;
  await page.getByText('Unsaved changes').waitFor();
  await snap('new-custom-logic-block');

  // The starter script is untouched, so switching swaps in the Python starter without asking.
  await page.getByLabel('Script Language').selectOption({ label: 'Python' });
  await page.getByText('for record in documents').waitFor();
  await snap('python-starter');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Saved', { exact: true }).waitFor();

  await page.getByRole('button', { name: 'Test' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('button', { name: 'Run' }).click();
  await dialog.getByRole('tab', { name: 'Output', exact: true }).waitFor();
  await snap('test-output');
  await dialog.getByRole('tab', { name: 'Debug log' }).click();
  await snap('test-debug-log');

  await dialog.getByLabel('Input documents (JSON)').fill('[{"document": ');
  await dialog.getByText('Input documents is not valid JSON').waitFor();
  await snap('test-invalid-json');
  await dialog.getByRole('button', { name: 'Close' }).click();

  await typeScript('total = len(documents)\nmissing = None\ndone({"total": total, "value": missing["field"]})\n');
  await page.getByRole('button', { name: 'Test' }).click();
  await dialog.getByLabel('Input documents (JSON)').fill('[]');
  await dialog.getByRole('button', { name: 'Run' }).click();
  await dialog.getByRole('tab', { name: 'Errors', selected: true }).waitFor();
  await snap('test-error');
  await dialog.getByRole('button', { name: /^line 3/ }).click();
  await dialog.waitFor({ state: 'hidden' });
  await snap('cursor-on-error-line');

  // The script is edited now, so switching shows a confirm dialog before it replaces the script.
  page.once('dialog', (confirm) => void confirm.accept());
  await page.getByLabel('Script Language').selectOption({ label: 'JavaScript' });
  await page.getByText('documents.map(').waitFor();
  await snap('javascript-starter');
  await page.getByRole('button', { name: 'Test' }).click();
  await dialog.getByRole('button', { name: 'Run' }).click();
  await dialog.getByRole('tab', { name: 'Output', exact: true, selected: true }).waitFor();
  await dialog.getByText('isolated-vm').waitFor();
  await snap('javascript-test-output');
  await dialog.getByRole('button', { name: 'Close' }).click();

  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Saved', { exact: true }).waitFor();

  // Another editor saves first: the next save from this page must report the conflict.
  const policyId = decodeURIComponent(new URL(page.url()).hash.split('/').pop());
  const current = await (await fetch(new URL(`/api/policies/${policyId}`, baseUrl))).json();
  const renamed = { ...current.policy, description: 'changed by another editor' };
  const response = await fetch(new URL(`/api/policies/${policyId}`, baseUrl), {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', 'If-Match': `"${current.version}"` },
    body: JSON.stringify(renamed),
  });
  if (!response.ok) {
    throw new Error(`PUT from the second editor failed with ${response.status}: ${await response.text()}`);
  }
  await page.getByLabel('Tag').fill('checked_block');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('This policy was changed elsewhere').waitFor();
  await snap('version-conflict');
  await page.getByRole('button', { name: 'Reload latest version' }).click();
  await page.getByText('Saved', { exact: true }).waitFor();

  // A second conflict, resolved the other way: this page's edits replace the other save.
  const latest = await (await fetch(new URL(`/api/policies/${policyId}`, baseUrl))).json();
  await fetch(new URL(`/api/policies/${policyId}`, baseUrl), {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', 'If-Match': `"${latest.version}"` },
    body: JSON.stringify({ ...latest.policy, description: 'changed again elsewhere' }),
  });
  await page.getByLabel('Tag').fill('overwritten_block');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByRole('button', { name: 'Overwrite with my changes' }).click();
  await page.getByText('Saved', { exact: true }).waitFor();
  const overwritten = await (await fetch(new URL(`/api/policies/${policyId}`, baseUrl))).json();
  if (overwritten.policy.config.children[0].tag !== 'overwritten_block') {
    throw new Error(`Overwrite did not store this page's edits: ${JSON.stringify(overwritten.policy.config)}`);
  }

  await page.getByRole('link', { name: /All policies/ }).click();
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: `Export ${policyName}` }).click();
  const download = await downloadPromise;
  console.log(`export downloaded as ${download.suggestedFilename()}`);

  page.once('dialog', (confirm) => void confirm.accept());
  await page.getByRole('button', { name: `Delete ${policyName}` }).click();
  await page.getByRole('link', { name: policyName }).waitFor({ state: 'detached' });
  await snap('policy-deleted');

  const importInput = page.getByLabel('Import Guardian policy (JSON file)');
  await importInput.setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"name": ') });
  await page.getByText('broken.json is not valid JSON').waitFor();
  const guardianPolicy = {
    name: `${policyName} imported`,
    policyTag: 'imported_check',
    config: {
      blockType: 'interfaceContainerBlock',
      tag: 'root',
      uiMetaData: { type: 'blank' },
      children: [{ blockType: 'customLogicBlock', tag: 'legacy_js', expression: 'done(documents)', unknownGuardianField: 7 }],
    },
  };
  await importInput.setInputFiles({ name: 'guardian.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(guardianPolicy)) });
  await page.getByText(`Imported “${guardianPolicy.name}”`).waitFor();
  await snap('policy-imported');
  await page.getByRole('link', { name: 'Open it' }).click();
  await page.getByRole('treeitem', { name: /^legacy_js/ }).click();
  // A block without selectedScriptLanguage is JavaScript.
  const language = await page.getByLabel('Script Language').inputValue();
  if (language !== 'JAVASCRIPT') {
    throw new Error(`An imported block without selectedScriptLanguage shows ${language}, expected JAVASCRIPT.`);
  }
  await page.getByRole('treeitem', { name: /^root/ }).click();
  await page.getByRole('button', { name: 'Add container block' }).click();
  await page.getByRole('treeitem', { name: /^container/ }).waitFor();
  await page.getByRole('button', { name: 'Remove block' }).click();
  await page.getByRole('treeitem', { name: /^container/ }).waitFor({ state: 'detached' });
  await page.getByRole('treeitem', { name: /^legacy_js/ }).click();
  await page.getByLabel('Tag').fill('renamed_js');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.getByText('Saved', { exact: true }).waitFor();
  const importedId = decodeURIComponent(new URL(page.url()).hash.split('/').pop());
  const saved = await (await fetch(new URL(`/api/policies/${importedId}`, baseUrl))).json();
  const savedBlock = saved.policy.config.children[0];
  if (savedBlock.tag !== 'renamed_js' || saved.policy.config.children.length !== 1) {
    throw new Error(`The saved tree is not the edited one: ${JSON.stringify(saved.policy.config)}`);
  }
  if (savedBlock.unknownGuardianField !== 7 || saved.policy.policyTag !== 'imported_check') {
    throw new Error(`Saving dropped fields the editor does not know: ${JSON.stringify(saved.policy)}`);
  }
  await snap('imported-policy-saved');
  await fetch(new URL(`/api/policies/${importedId}`, baseUrl), { method: 'DELETE' });
} catch (error) {
  await snap('failure');
  throw error;
} finally {
  await browser.close();
}

const offOrigin = requestedUrls.filter((url) => {
  const parsed = new URL(url);
  const local = parsed.protocol === 'data:' || parsed.protocol === 'blob:';
  return !local && parsed.origin !== baseUrl.origin;
});
console.log(`requests: ${requestedUrls.length}, to other origins: ${offOrigin.length}`);
for (const [name, durationMs] of Object.entries(timings)) {
  console.log(`${name}: ${Math.round(durationMs)} ms`);
}
if (consoleErrors.length > 0) {
  console.log(`console errors:\n  ${consoleErrors.join('\n  ')}`);
}
if (offOrigin.length > 0) {
  console.error(`The page requested other origins:\n  ${offOrigin.join('\n  ')}`);
  process.exit(1);
}
