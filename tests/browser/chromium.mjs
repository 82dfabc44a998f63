// Launches Debian's chromium (apt-get install chromium) through
// playwright-core: Playwright's own browser download is not used.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {chromium} from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/// A browser context on a fresh profile (Playwright passes it to chromium
/// as --user-data-dir); close() also removes the profile.
export async function launch(viewport = {width: 1400, height: 900}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tcpscribe-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, {recursive: true, force: true});
    },
  };
}

/// A page that may load its own file and nothing else: every other
/// request is aborted and listed in `blocked`; script errors in `errors`.
export async function openReport(context, file) {
  const page = await context.newPage();
  const blocked = [], errors = [];
  const url = 'file://' + path.resolve(file);
  await page.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue();
    blocked.push(route.request().url());
    return route.abort();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', {timeout: 30000});
  return {page, blocked, errors};
}
