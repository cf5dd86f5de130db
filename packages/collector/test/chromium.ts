// Debian's Chromium (/usr/bin/chromium) driven by playwright-core, headless,
// with a throwaway profile: the browser of the UI tests.
import { type BrowserContext, chromium } from 'playwright-core';

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
