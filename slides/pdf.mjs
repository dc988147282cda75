// pdf.mjs DECK.html OUT.pdf - a handout of one deck, one page per slide.
//
// reveal.js lays out its print view (?print-pdf) after the page has loaded,
// so printing at once gives blank pages at random: wait until every slide
// has its page, then print.
import { pathToFileURL } from "node:url";
import { launch, openDeck } from "./browser.mjs";

const [deck, out] = process.argv.slice(2);
if (!deck || !out) {
  console.error("usage: node slides/pdf.mjs DECK.html OUT.pdf");
  process.exit(2);
}

const browser = await launch();
try {
  const url = pathToFileURL(deck).href + "?print-pdf";
  const { page } = await openDeck(browser, url);

  // one .pdf-page per slide once the print layout is done
  await page.waitForFunction(
    () => {
      const slides = window.Reveal.getTotalSlides();
      return document.querySelectorAll(".reveal .pdf-page").length === slides;
    },
    null,
    { timeout: 20000 },
  );
  await page.pdf({ path: out, preferCSSPageSize: true, printBackground: true });
  console.log(`slides: ${out}`);
} finally {
  await browser.close();
}
