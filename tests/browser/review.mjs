// End-to-end review in a real headless Chromium, driven by playwright-core: sign in, open a
// task from To Review, correct a field, complete it with the keyboard, find it in Processed
// by searching for its name.
// Run by tests/api/browser.rs, which starts docket and checks the result through the API.
// Arguments: base URL, e-mail, password, task id, field (form name), a word of the page to put
// in it, a word of the task's name to search for, artifacts dir.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const [base, email, password, taskId, field, word, search, artifacts] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
let keystrokes = 0;
const press = async (page, key) => {
  keystrokes += 1;
  await page.keyboard.press(key);
};
// Autofocus lands when the page is next rendered, which may be after "load": wait for it.
const focused = (page, selector) =>
  page.waitForFunction((s) => document.activeElement?.matches(s), selector);
const shot = (page, name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
try {
  const page = await browser.newPage();
  const started = Date.now();
  await page.goto(`${base}/signin`);
  const firstPaint = () =>
    page.evaluate(() => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null);
  const paint = await firstPaint();
  await page.fill("input[name=email]", email);
  await page.fill("input[name=password]", password);
  await shot(page, "1-signin");
  await Promise.all([page.waitForURL(`${base}/documents`), page.click("button[type=submit]")]);

  // To Review: the first task has the focus; Enter opens it.
  await focused(page, `a.open[href="/documents/${taskId}"]`);
  await shot(page, "2-to-review");
  await Promise.all([page.waitForURL(`${base}/documents/${taskId}`), press(page, "Enter")]);
  // "Start review" has the focus.
  await focused(page, "#start");
  const documentPaint = await firstPaint();
  await Promise.all([page.waitForSelector("form#review"), press(page, "Enter")]);
  await shot(page, "3-review");

  // The page picture is drawn, with the words over it.
  await page.waitForFunction(() => {
    const img = document.querySelector("figure.page img");
    return img && img.complete && img.naturalWidth > 0;
  });
  // The line items' cells and the fields are drawn over the page.
  await page.waitForSelector('.cell[title="Descrição"]', { state: "attached" });
  await page.waitForSelector(`.box[data-field="${field}"]`, { state: "attached" });
  // Correct the field by clicking it, then the word on the page.
  const input = page.locator(`input[name="${field}"]`);
  await input.click();
  await page.locator(`.word[data-text="${word}"]`).first().click();
  const filled = await input.inputValue();
  if (filled !== word) throw new Error(`the field holds ${JSON.stringify(filled)}, not ${word}`);
  await shot(page, "4-corrected");
  // Ctrl+Enter completes and opens the next document (none left: the list).
  await Promise.all([page.waitForURL(`${base}/documents`), press(page, "Control+Enter")]);

  await page.click("nav.tabs >> text=Processed");
  await page.fill("input[name=q]", search);
  await Promise.all([page.waitForURL(/tab=processed&q=/), page.press("input[name=q]", "Enter")]);
  await page.waitForSelector(`a.open[href="/documents/${taskId}"]`);
  await shot(page, "5-processed");
  console.log(
    JSON.stringify({
      firstContentfulPaintMs: paint,
      documentFirstContentfulPaintMs: documentPaint,
      keystrokes,
      totalMs: Date.now() - started,
    })
  );
} finally {
  await browser.close();
}
