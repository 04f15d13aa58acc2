import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium package: the tests never download a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Headless Chromium with nothing of its own talking to the network (no updates, sync, QUIC). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
