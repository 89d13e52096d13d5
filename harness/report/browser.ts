import type { Progress } from '../lab/native/adapter.ts';
import { installDebianPackages } from '../lab/native/debian.ts';

/**
 * The headless browser the project's tests open report.html in (Debian's chromium, driven by
 * puppeteer-core): FEDCONF_CHROMIUM names another executable.
 */
export const chromiumPath = process.env.FEDCONF_CHROMIUM ?? '/usr/bin/chromium';

/** `fedconf setup` installs it with the lab's servers (skipped when present). */
export async function installReportBrowser(progress: Progress): Promise<void> {
  if (process.env.FEDCONF_CHROMIUM) return;
  await installDebianPackages('report browser check', ['chromium'], progress);
}
