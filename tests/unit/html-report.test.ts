import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath } from '../../harness/report/browser.ts';
import { writeSampleRun } from '../fixtures/report/sample-run.ts';

// report.html opened the way a procurement officer opens it: from disk, in a real browser (Debian's
// chromium, headless), with every request the page makes intercepted.
describe('report.html in a headless browser', () => {
  const { dir, report } = writeSampleRun();
  const runFolder = pathToFileURL(`${dir}/`).href;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];

  beforeAll(async () => {
    browser = await puppeteer.launch({
      executablePath: chromiumPath, headless: true, timeout: 30_000, protocolTimeout: 30_000,
      // --no-sandbox: the project's tests run as root, where chromium refuses its sandbox.
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-extensions', '--disable-background-networking', '--disable-component-update'],
    });
    page = await browser.newPage();
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      requested.push(request.url());
      // Anything but a file of the run folder is refused, so the page cannot reach the network even if it tried.
      if (request.url().startsWith(runFolder)) void request.continue();
      else void request.abort();
    });
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`${runFolder}report.html`, { waitUntil: 'load', timeout: 30_000 });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('fetches nothing but the page itself', () => {
    expect(requested).toEqual([`${runFolder}report.html`]);
  });

  it('shows the verdict first, in the first screen', async () => {
    const verdict = await page.$eval('.verdict', (el) => {
      const box = el.getBoundingClientRect();
      const firstRequirement = document.querySelector('details.req');
      return {
        text: el.textContent ?? '', top: box.top, visible: el.checkVisibility(),
        beforeRequirements: !!firstRequirement && !!(el.compareDocumentPosition(firstRequirement) & Node.DOCUMENT_POSITION_FOLLOWING),
      };
    });
    expect(verdict.text).toContain(`Profile ${report.profiles[0]!.title}`);
    expect(verdict.text).toContain('NOT CONFORMANT');
    expect(verdict).toMatchObject({ visible: true, beforeRequirements: true });
    expect(verdict.top).toBeLessThan(900);
    expect(await page.$eval('.declaration', (el) => el.textContent)).toMatch(/Declaration check: FAILED.*E2E-BACKUP/s);
  });

  it('has every requirement row of the report, those of the profile visible, grouped by profile', async () => {
    const rows = await page.$$eval('details.req', (els) => els.map((el) => ({
      id: el.getAttribute('data-requirement'), visible: el.querySelector('summary')!.checkVisibility(),
      group: el.closest('details.others') ? 'others' : 'profile',
    })));
    expect(rows.map((r) => r.id).sort()).toEqual(report.requirements.map((q) => q.id).sort());
    for (const q of report.requirements) {
      expect(rows.find((r) => r.id === q.id), q.id).toMatchObject(q.inProfile ? { visible: true, group: 'profile' } : { group: 'others' });
    }
    const headings = await page.$$eval('h3[id^="profile-"]', (els) => els.map((el) => el.id));
    expect(headings).toEqual(report.profiles.map((p) => `profile-${p.id}`));
  });

  it('opens a requirement onto its tests, timings and the exchange as a transcript', async () => {
    const transcriptVisible = () => page.$eval('#req-FED-DM', (el) => {
      const table = el.querySelector('table.transcript') as HTMLElement | null;
      return table?.checkVisibility() ?? false;
    });
    expect(await transcriptVisible()).toBe(false);
    await page.click('#req-FED-DM > summary');
    await page.click('#req-FED-DM details.test > summary');
    expect(await transcriptVisible()).toBe(true);
    const text = await page.$eval('#req-FED-DM', (el) => (el as HTMLElement).innerText);
    expect(text).toContain('PASSED');
    expect(text).toMatch(/1\.48 s, of which waiting on the servers 1\.32 s/);
    expect(text).toContain('Hej Bob, det är Alice på org-a.');
    expect(text).toMatch(/sent →/);
  });

  it('shows a failing requirement open, with the failing exchange in time order across both users', async () => {
    const failing = await page.$eval('#req-FED-RESILIENCE', (el) => ({ open: (el as HTMLDetailsElement).open, text: (el as HTMLElement).innerText }));
    expect(failing.open).toBe(true);
    expect(failing.text).toContain('FAILED');
    expect(failing.text).toContain('remote-server-not-found');
    const times = await page.$$eval('#req-FED-RESILIENCE table.transcript td.t', (cells) => cells.map((c) => c.textContent ?? ''));
    expect(times.length).toBeGreaterThan(5);
    expect([...times].sort()).toEqual(times);
    const who = await page.$$eval('#req-FED-RESILIENCE table.transcript td.who', (cells) => new Set(cells.map((c) => c.textContent)).size);
    expect(who).toBe(2);
  });
});
