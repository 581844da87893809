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

  await typeScript('const total = documents.length;\nconst missing = undefined;\ndone({ total, value: missing.field });\n');
  await page.getByRole('button', { name: 'Test' }).click();
  await dialog.getByLabel('Input documents (JSON)').fill('[]');
  await dialog.getByRole('button', { name: 'Run' }).click();
  await dialog.getByRole('tab', { name: 'Errors', selected: true }).waitFor();
  await snap('test-error');
  await dialog.getByRole('button', { name: /^line 3/ }).click();
  await dialog.waitFor({ state: 'hidden' });
  await snap('cursor-on-error-line');

  page.once('dialog', (confirm) => void confirm.accept());
  await page.getByLabel('Script Language').selectOption({ label: 'Python' });
  await page.getByText('import', { exact: false }).or(page.getByText('done(')).first().waitFor();
  await snap('python-starter');

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

  await page.getByRole('link', { name: /All policies/ }).click();
  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: `Export ${policyName}` }).click();
  const download = await downloadPromise;
  console.log(`export downloaded as ${download.suggestedFilename()}`);

  page.once('dialog', (confirm) => void confirm.accept());
  await page.getByRole('button', { name: `Delete ${policyName}` }).click();
  await page.getByRole('link', { name: policyName }).waitFor({ state: 'detached' });
  await snap('policy-deleted');
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
