// Debian's Chromium (/usr/bin/chromium) driven by playwright-core, headless,
// with a throwaway profile: the browser of the UI tests.
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export function launchChromium(userDataDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
}

/**
 * The UI at its login URL (which sets the session cookie) in a fresh browser:
 * a page error fails the test that caused it.
 */
export async function openUi(userDataDir: string, loginUrl: string, timeoutMs = 8000): Promise<{ context: BrowserContext; page: Page }> {
  const context = await launchChromium(userDataDir);
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeoutMs);
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(loginUrl);
  return { context, page };
}
