// check.mjs DECK.html... - what the slide tests look at in a real browser.
//
// Each deck is copied alone into a scratch folder and opened from there.
// For every deck, one line of JSON: how many slides; every request for
// something outside the deck's own file; every code box whose text is
// taller or wider than the box as drawn; every code box drawn smaller
// than a readable 16 px (two columns' size); every content slide without
// speaker notes; and the size of a screenshot of the first code slide and
// of the first output slide.
import { copyFileSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import { launch, openDeck } from "./browser.mjs";

const decks = process.argv.slice(2);
const browser = await launch();
try {
  for (const deck of decks) {
    const scratch = mkdtempSync(join(tmpdir(), "deck-"));
    const alone = join(scratch, basename(deck));
    copyFileSync(deck, alone);
    const url = pathToFileURL(alone).href;
    const { page, requests } = await openDeck(browser, url);

    const slides = await page.evaluate(() => window.Reveal.getSlides().length);
    const report = { deck, slides, outside: [], overflow: [], small: [], noNotes: [], shots: {} };
    report.outside = requests.filter((r) => r !== url && !r.startsWith("data:"));

    for (let i = 0; i < slides; i++) {
      const seen = await page.evaluate((index) => {
        const slide = window.Reveal.getSlides()[index];
        const { h, v } = window.Reveal.getIndices(slide);
        window.Reveal.slide(h, v);
        const title = (slide.querySelector("h1, h2, h3") || {}).textContent || "";
        const boxes = [...slide.querySelectorAll("pre code")].map((code) => ({
          source: code.closest("[data-source]")?.dataset.source || "",
          run: code.closest("[data-run]")?.dataset.run || "",
          over:
            code.scrollHeight > code.clientHeight + 1 ||
            code.scrollWidth > code.clientWidth + 1,
          // CSS pixels of the 1280x720 slide, before reveal.js scales it
          px: parseFloat(getComputedStyle(code).fontSize),
        }));
        return {
          title,
          boxes,
          titleSlide: slide.id === "title-slide" || slide.classList.contains("title"),
          notes: slide.querySelector("aside.notes") !== null,
        };
      }, i);
      await page.waitForTimeout(50);

      for (const box of seen.boxes) {
        if (box.over) report.overflow.push(`slide ${i + 1} (${seen.title})`);
        if (box.px < 16) report.small.push(`slide ${i + 1} (${seen.title}): ${box.px} px`);
      }
      if (!seen.titleSlide && !seen.notes) report.noNotes.push(`slide ${i + 1} (${seen.title})`);

      // one screenshot of a code slide and one of an output slide
      for (const kind of ["source", "run"]) {
        if (report.shots[kind] || !seen.boxes.some((b) => b[kind])) continue;
        const file = join(scratch, `${kind}.png`);
        await page.screenshot({ path: file });
        report.shots[kind] = { slide: i + 1, bytes: statSync(file).size };
      }
    }
    console.log(JSON.stringify(report));
    await page.close();
  }
} finally {
  await browser.close();
}
