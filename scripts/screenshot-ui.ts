// `npm run screenshot -- [follower-id]`: renders a follower in the Temporal UI with headless
// Chromium (Debian's `chromium`, driven by playwright-core) into docs/images/, for the README: its
// current details (what the follower sets at every step, under "User Metadata") and its history.
// Needs the embedded default running (`npm start`).
import path from 'node:path';
import { chromium as chromiumBrowser } from 'playwright-core';
import { DEFAULT_REGISTRY, loadRegistry } from '../config/registry.ts';
import { workflowIdFor } from '../contract/messages.ts';
import { CHROMIUM_ARGS, findChromium } from './tools.ts';

const registry = loadRegistry(process.env.BRANCH_FOLLOWER_REGISTRY ?? DEFAULT_REGISTRY);
const uiUrl = registry.controller.temporal.uiUrl;
const chromium = findChromium();
if (!uiUrl) throw new Error('controller.temporal.uiUrl is not set in the registry');
if (!chromium) {
  console.error('no chromium on PATH: install it (Debian: apt-get install chromium) and retry');
  process.exit(2);
}
const id = process.argv[2] ?? registry.followers[0]!.spec.id;
const url = `${uiUrl}/namespaces/${registry.controller.temporal.namespace}/workflows/${encodeURIComponent(workflowIdFor(id))}`;
const out = (what: string) => path.resolve('docs/images', `${id}-${what}.png`);
const browser = await chromiumBrowser.launch({
  executablePath: chromium,
  args: CHROMIUM_ARGS,
});
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1400 } });
  await page.goto(url, { waitUntil: 'networkidle', timeout: 60_000 });
  // The history table renders after the workflow loads; wait for an activity summary in it.
  await page.getByText('followerWorkflow').first().waitFor({ timeout: 60_000 });
  await page.waitForTimeout(2000);
  await page.screenshot({ path: out('history') });
  // The current details: the follower's phase and code, head, deployed sha, next step, drill-downs.
  await page.getByText('User Metadata', { exact: true }).first().click();
  await page.getByText('Current Details', { exact: true }).first().waitFor({ timeout: 30_000 });
  await page.waitForTimeout(2000);
  await page.screenshot({ path: out('details') });
} finally {
  await browser.close();
}
console.log(`${url}\n→ ${out('details')}\n→ ${out('history')}`);
