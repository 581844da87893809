import { expect, test } from '@playwright/test';
import { addCustomLogicBlock, createPolicy, openTestDialog, resultTab, runTest, pasteScript } from './support/studio.js';

test.describe('Network', () => {
  test('no request leaves the origin', async ({ page, context, baseURL }, testInfo) => {
    const origin = `${baseURL}/`;
    const requestedUrls: string[] = [];
    // The context also receives the requests of Monaco's web workers.
    context.on('request', (request) => requestedUrls.push(request.url()));
    page.on('websocket', (socket) => requestedUrls.push(socket.url()));

    await createPolicy(page, `Policy for ${testInfo.title}`);
    await addCustomLogicBlock(page);
    const jsDialog = await openTestDialog(page);
    await runTest(jsDialog);
    await expect(resultTab(jsDialog, 'Output')).toHaveAttribute('aria-selected', 'true');
    await jsDialog.getByRole('button', { name: 'Close' }).click();

    await page.getByLabel('Script Language').selectOption({ label: 'Python' });
    await pasteScript(page, "import statistics\ndone({'mean': statistics.mean([1, 2, 3])})");
    const pythonDialog = await openTestDialog(page);
    await runTest(pythonDialog);
    await expect(pythonDialog.getByLabel('Result 1')).toContainText('"mean": 2');
    await pythonDialog.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByText('Saved', { exact: true })).toBeVisible();

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Python libraries' }).click();
    const librariesPanel = page.getByRole('region', { name: 'Python libraries' });
    // The library table or an error notice shows that the page has requested the list.
    await expect(librariesPanel.getByRole('table').or(librariesPanel.getByRole('alert'))).toBeVisible();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
    await expect(page.getByRole('heading', { name: 'Policies' })).toBeVisible();
    await page.reload();
    await expect(page.getByRole('heading', { name: 'Policies' })).toBeVisible();

    // The walk must have loaded the editor, Monaco's worker and the API for the check to mean anything.
    expect(requestedUrls).toContainEqual(expect.stringMatching(/\/assets\/PolicyView-[^/]+\.js$/));
    expect(requestedUrls).toContainEqual(expect.stringMatching(/\/assets\/editor\.worker-[^/]+\.js$/));
    expect(requestedUrls).toContainEqual(expect.stringMatching(/\/api\/.*dry-run$/));
    expect(requestedUrls).toContainEqual(expect.stringMatching(/\/api\/sandbox\/packages$/));
    const elsewhere = requestedUrls.filter((url) => !url.startsWith(origin));
    expect(elsewhere).toEqual([]);
  });
});
