// The web admin in headless Chromium, as a user goes through it: log in, import a file with
// one changed and one new book, read the diff, confirm, see the change list, map the columns
// of a file with renamed headers, export two fields as XLSX, log out.
//
// Run by crates/rowport-cli/tests/browser.rs, which starts `rowport serve`, writes the files,
// and afterwards checks the database and the downloaded workbook. Usage:
//   node admin.mjs '{"base": "http://127.0.0.1:PORT", "user": "...", "password": "...",
//                    "browser": "/usr/bin/chromium", "changed": "books.csv",
//                    "renamed": "renamed.csv", "artifacts": "DIR", "download": "out.xlsx"}'
// It prints one JSON object (what it saw) on stdout and exits 1 on the first failed check.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const args = JSON.parse(process.argv[2] ?? '{}');
for (const key of ['base', 'user', 'password', 'browser', 'changed', 'renamed', 'artifacts', 'download']) {
  if (!args[key]) {
    console.error(`admin.mjs: the argument object lacks "${key}"`);
    process.exit(2);
  }
}
mkdirSync(args.artifacts, { recursive: true });

const seen = {};
const problems = [];

function check(condition, message) {
  if (!condition) {
    throw new Error(`check failed: ${message}`);
  }
}

function same(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

// The flags Debian's Chromium needs on the project's machines: no sandbox as root, and no
// background connections (the network is closed; they would be refused many at a time).
const profile = mkdtempSync(join(tmpdir(), 'rowport-e2e-profile-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: args.browser,
  headless: true,
  acceptDownloads: true,
  viewport: { width: 1280, height: 900 },
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

let shot = 0;
const page = context.pages()[0] ?? (await context.newPage());
// A safety net, not an assertion: a step that hangs fails instead of blocking the run.
page.setDefaultTimeout(15000);
page.on('console', (m) => {
  // CSP violations and script errors reach the console as errors; failed loads are
  // reported below with their address.
  if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
    problems.push(`console: ${m.text()}`);
  }
});
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('response', (r) => {
  // The browser asks for /favicon.ico on its own; the admin has none.
  if (r.status() >= 400 && new URL(r.url()).pathname !== '/favicon.ico') {
    problems.push(`HTTP ${r.status()} for ${r.url()}`);
  }
});

async function screenshot(name) {
  shot += 1;
  const file = join(args.artifacts, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
}

async function committed() {
  // minijinja writes a boolean as "true" or "True", depending on its version.
  const value = await page.locator('#result-summary').getAttribute('data-committed');
  return String(value).toLowerCase();
}

async function pageName() {
  return page.locator('body').getAttribute('data-page');
}

async function expectPage(name) {
  await page.waitForSelector(`body[data-page="${name}"]`);
}

async function totals() {
  const out = {};
  for (const li of await page.locator('#totals [data-total]').all()) {
    const key = await li.getAttribute('data-total');
    out[key] = Number((await li.locator('strong').innerText()).replace(/,/g, ''));
  }
  return out;
}

async function mapChoices() {
  const out = {};
  for (const select of await page.locator('select[data-map]').all()) {
    out[await select.getAttribute('data-map')] = await select.inputValue();
  }
  return out;
}

async function upload(file) {
  await page.goto(`${args.base}/r/book/import`);
  await expectPage('import');
  await page.setInputFiles('#file', file);
  // admin.js picks the format from the file name.
  same(await page.inputValue('#format'), 'csv', 'format guessed from the file name');
}

try {
  // Log in, with the keyboard only.
  await page.goto(`${args.base}/r/book`);
  await expectPage('login');
  await screenshot('login');
  await page.focus('#username');
  await page.keyboard.type(args.user);
  await page.keyboard.press('Tab');
  same(await page.evaluate(() => document.activeElement?.id), 'password', 'Tab from the user name');
  await page.keyboard.type(args.password);
  await page.keyboard.press('Enter');
  // Back where the login was asked for.
  await expectPage('change-list');
  same(await page.locator('[data-user]').getAttribute('data-user'), args.user, 'the user shown');
  seen.rowsBefore = Number(await page.locator('#row-total').getAttribute('data-total'));

  await page.goto(`${args.base}/`);
  await expectPage('index');
  same(
    await page.locator('tr[data-resource="book"] [data-rows]').getAttribute('data-rows'),
    String(seen.rowsBefore),
    'row count of book on the index',
  );
  await screenshot('index');

  // Import: one changed row, one new row; the diff shows old → new on the changed cell.
  await page.click('tr[data-resource="book"] a[data-action="import"]');
  await expectPage('import');
  await page.setInputFiles('#file', args.changed);
  same(await page.inputValue('#format'), 'csv', 'format guessed from the file name');
  await screenshot('import');
  await page.click('#import-submit');
  await expectPage('preview');
  seen.previewTotals = await totals();
  const update = page.locator('#preview-rows tr[data-outcome="update"]');
  same(await update.count(), 1, 'rows marked as updates');
  const changed = update.locator('td.changed');
  same(await changed.count(), 1, 'changed cells of the updated row');
  seen.diff = {
    column: await changed.getAttribute('data-column'),
    old: await changed.locator('del').innerText(),
    new: await changed.locator('ins').innerText(),
  };
  // Highlighted: the changed cell is painted apart from the unchanged cells beside it.
  const background = (el) => getComputedStyle(el).backgroundColor;
  const changedBg = await changed.evaluate(background);
  const plainBg = await update.locator('td[data-column]:not(.changed)').first().evaluate(background);
  check(changedBg !== plainBg, `the changed cell is highlighted (${changedBg} vs ${plainBg})`);
  const added = page.locator('#preview-rows tr[data-outcome="new"]');
  same(await added.count(), 1, 'rows marked as new');
  seen.newName = await added.locator('td[data-column="name"] ins').innerText();
  await screenshot('preview');

  await page.click('#confirm-import');
  await expectPage('result');
  same(await committed(), 'true', 'the import committed');
  seen.resultTotals = await totals();
  await screenshot('result');

  await page.click('#back-to-list');
  await expectPage('change-list');
  seen.rowsAfter = Number(await page.locator('#row-total').getAttribute('data-total'));
  seen.listedNames = await page.locator('#change-list tbody tr').evaluateAll((trs) =>
    trs.map((tr) => tr.innerText),
  );
  await screenshot('change-list-1280');
  // Phone width: the page itself must not scroll sideways (wide tables scroll in their box).
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot('change-list-390');
  seen.phoneScrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  await page.setViewportSize({ width: 1280, height: 900 });

  // Column mapping: a file whose headers are not the resource's columns.
  await upload(args.renamed);
  await page.click('#import-submit');
  await expectPage('map');
  seen.suggested = await mapChoices();
  await screenshot('map');
  const choice = {
    'ISBN number': 'isbn',
    Title: 'name',
    Writer: 'author',
    'Author e-mail': 'author_email',
    Published: 'published',
    Price: 'price',
    'In stock': 'in_stock',
    Added: 'added',
    Categories: 'categories',
    Shelf: '',
  };
  for (const [header, field] of Object.entries(choice)) {
    await page.selectOption(`select[data-map="${header}"]`, field);
  }
  await page.click('#map-submit');
  await expectPage('preview');
  seen.mappedPreviewTotals = await totals();
  await screenshot('map-preview');
  await page.click('#confirm-import');
  await expectPage('result');
  same(await committed(), 'true', 'the mapped import committed');
  seen.mappedResultTotals = await totals();
  // The next file with these headers comes with the mapping already chosen.
  await upload(args.renamed);
  await page.click('#import-submit');
  await expectPage('map');
  seen.remembered = await mapChoices();
  same(seen.remembered, choice, 'the mapping remembered for the next upload');
  await screenshot('map-remembered');

  // Export two chosen fields as XLSX.
  await page.goto(`${args.base}/r/book`);
  await expectPage('change-list');
  await page.click('#export-button');
  await expectPage('export');
  await page.selectOption('#format', 'xlsx');
  await page.uncheck('#select-all-book');
  same(await page.locator('input[name="fields"]:checked').count(), 0, 'fields left after "Select all" off');
  await page.check('#field-book-isbn');
  await page.check('#field-book-name');
  await screenshot('export');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.click('#export-submit'),
  ]);
  seen.downloadName = download.suggestedFilename();
  await download.saveAs(args.download);

  // Log out: the change list asks for a login again.
  await page.click('#logout');
  await expectPage('login');
  await page.goto(`${args.base}/r/book`);
  seen.afterLogout = await pageName();
  await screenshot('logged-out');

  check(problems.length === 0, `the browser reported:\n  ${problems.join('\n  ')}`);
} catch (error) {
  await screenshot('failure').catch(() => {});
  console.error(`${error.message}\n(on ${page.url()}; screenshots in ${args.artifacts})`);
  if (problems.length) console.error(`the browser reported:\n  ${problems.join('\n  ')}`);
  console.log(JSON.stringify(seen));
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  process.exit(1);
}

console.log(JSON.stringify(seen));
await context.close();
rmSync(profile, { recursive: true, force: true });
