// End-to-end test of the neurite-serve UI in headless Chromium.
// Usage: node e2e.mjs <base-url> <screenshot-dir> <csv-file> <model> <run>
// Opens the models page, predicts one row from the generated form, uploads a CSV and checks
// the predictions table and its CSV download, opens a dashboard with its charts, the
// experiments page and a live training log (server-sent events). Screenshots go to
// <screenshot-dir>. Exits non-zero on any failure, console error or CSP violation.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, shots, csvPath, model, run] = process.argv.slice(2);
if (!base || !shots || !csvPath || !model || !run) {
  console.error('usage: node e2e.mjs <base-url> <screenshot-dir> <csv-file> <model> <run>');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const csvRows = readFileSync(csvPath, 'utf8').trim().split('\n').length - 1;
const problems = [];
const step = msg => console.log('ui e2e: ' + msg);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', m => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', e => problems.push('page error: ' + e.message));
  page.on('response', r => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`); });

  await page.goto(base + '/#/models');
  const card = page.locator(`section.model[data-model="${model}"]`);
  await card.waitFor();
  const cardText = await card.innerText();
  for (const want of ['Versions', 'Input schema', 'sepal_length']) {
    if (!cardText.includes(want)) throw new Error(`models page lacks ${want}`);
  }
  step('models page shows versions and the input schema');

  await page.goto(base + `/#/predict/${model}`);
  await page.locator('#predict-form input[name="sepal_length"]').waitFor();
  for (const [f, v] of Object.entries({ sepal_length: '5.1', sepal_width: '3.5', petal_length: '1.4', petal_width: '0.2' })) {
    await page.fill(`#predict-form input[name="${f}"]`, v);
  }
  await page.click('#predict-form button[type="submit"]');
  const label = (await page.locator('#single-label').innerText()).trim();
  if (label !== 'setosa') throw new Error(`one-row prediction gave ${label}`);
  step('form prediction: ' + label);

  await page.setInputFiles('#csv-file', csvPath);
  await page.locator('table.predictions tbody tr').nth(csvRows - 1).waitFor();
  const rows = await page.locator('table.predictions tbody tr').count();
  if (rows !== csvRows) throw new Error(`predictions table has ${rows} rows, expected ${csvRows}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-download')]);
  const saved = join(shots, 'predictions.csv');
  await download.saveAs(saved);
  const lines = readFileSync(saved, 'utf8').trim().split('\n');
  if (lines.length !== csvRows + 1 || !lines[0].startsWith('label,proba_')) throw new Error('bad CSV download: ' + lines[0]);
  if (/^(null|undefined)$/m.test(await page.locator('#batch-result').innerText())) throw new Error('the CSV result shows a stray null');
  await page.screenshot({ path: join(shots, 'predict.png'), fullPage: true });
  step(`CSV upload: ${rows} predictions, CSV download of ${lines.length - 1} rows`);

  await page.goto(base + `/#/dashboard/${model}/1`);
  await page.locator('figure[data-chart="confusion_matrix"] svg').waitFor();
  // A 3-class matrix: 9 cells (plus the plot background), each with its count written in it.
  const cells = await page.locator('figure[data-chart="confusion_matrix"] svg rect').count();
  if (cells < 9) throw new Error(`confusion matrix has ${cells} rectangles, want at least 9`);
  const counts = await page.locator('figure[data-chart="confusion_matrix"] svg text').evaluateAll((els) => els.map((e) => e.textContent));
  if (counts.filter((t) => /^\s*\d+\s*$/.test(t)).length < 9) throw new Error('confusion matrix cells are not labelled with counts');
  for (const id of ['roc_curve', 'pr_curve', 'training_curves']) {
    const n = await page.locator(`figure[data-chart="${id}"] svg polyline`).count();
    if (n === 0) throw new Error(`chart ${id} has no curve`);
  }
  if (await page.locator('table.metrics').count() !== 1) throw new Error('no metrics table');
  await page.screenshot({ path: join(shots, 'dashboard.png'), fullPage: true });
  step('dashboard: confusion matrix, ROC, PR, training curves, metrics table');

  await page.goto(base + '/#/experiments');
  await page.locator('#runs tbody tr').first().waitFor();
  await page.locator('#app svg rect').first().waitFor();
  step(`experiments: ${await page.locator('#runs tbody tr').count()} runs compared`);

  await page.goto(base + `/#/live/${run}`);
  await page.locator('#epochs tbody tr').nth(1).waitFor();
  await page.locator('#live-charts svg').first().waitFor();
  await page.screenshot({ path: join(shots, 'live.png'), fullPage: true });
  step(`live training: ${await page.locator('#epochs tbody tr').count()} epochs streamed`);

  for (const [name, hash] of [['models', '#/models'], ['predict', `#/predict/${model}`], ['dashboard', `#/dashboard/${model}/1`], ['experiments', '#/experiments']]) {
    await page.goto(base + '/' + hash);
    await page.locator('main h1').waitFor();
    await page.waitForLoadState('networkidle');
    if (/^(null|undefined)$/m.test(await page.locator('main').innerText())) throw new Error(`page ${name} shows a stray null/undefined`);
  }
  if (problems.length) throw new Error(problems.join('\n'));
  console.log('ui e2e: ok');
} catch (e) {
  console.error('ui e2e: FAILED: ' + (e.stack || e));
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
