// browser.mjs - Debian's chromium, driven by playwright-core, the way the
// slide tools open a deck: headless, offline, with nothing in the background.
import { chromium } from "playwright-core";

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", // chromium refuses to start as root without it
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

// Open a deck and wait until reveal.js has laid out its slides.
export async function openDeck(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const requests = [];
  page.on("request", (request) => requests.push(request.url()));
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => window.Reveal && window.Reveal.isReady(), null, {
    timeout: 20000,
  });
  await page.evaluate(() => document.fonts.ready);
  return { page, requests };
}
