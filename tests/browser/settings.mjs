// The settings pages in a real headless Chromium: an Administrator invites a reviewer and
// sets a workspace's review up; the invitee opens the link shown, sets a password and lands
// on their documents. Run by tests/api/browser.rs, which checks the outcome through the API.
// Arguments: base URL, e-mail, password, workspace id, invitee's e-mail, artifacts dir.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const [base, email, password, workspaceId, invitee, artifacts] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const shot = (page, name) => page.screenshot({ path: `${artifacts}/${name}.png`, fullPage: true });
try {
  const admin = await browser.newPage();
  await admin.goto(`${base}/signin`);
  await admin.fill("input[name=email]", email);
  await admin.fill("input[name=password]", password);
  await Promise.all([admin.waitForURL(`${base}/documents`), admin.click("button[type=submit]")]);
  await Promise.all([admin.waitForURL(`${base}/settings`), admin.click("header >> text=Settings")]);
  const paint = await admin.evaluate(
    () => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null
  );

  await admin.fill("input[name=email]", invitee);
  await admin.selectOption("select[name=role]", "Reviewer");
  await Promise.all([admin.waitForSelector("#invitation-link"), admin.click("#invite")]);
  const link = (await admin.textContent("#invitation-link")).trim();
  await shot(admin, "1-invited");

  await Promise.all([
    admin.waitForURL(`${base}/settings/workspaces/${workspaceId}`),
    admin.click(`a[href="/settings/workspaces/${workspaceId}"]`),
  ]);
  await admin.fill("input[name=required]", "InvoiceNumber, GrossTotal");
  await admin.fill("input[name=threshold]", "0.75");
  await admin.check("input[name=autoReview]");
  await Promise.all([admin.waitForSelector("text=Saved."), admin.click("#save")]);
  await shot(admin, "2-workspace-saved");

  // The invitee, in a browser of their own.
  const context = await browser.newContext();
  const newcomer = await context.newPage();
  await newcomer.goto(link);
  await newcomer.fill("input[name=name]", "Nova");
  await newcomer.fill("input[name=password]", "a long enough secret");
  await newcomer.fill("input[name=confirm]", "a long enough secret");
  await Promise.all([newcomer.waitForURL(`${base}/documents`), newcomer.click("button[type=submit]")]);
  await shot(newcomer, "3-invitee-signed-in");
  console.log(JSON.stringify({ invitationUrl: link, settingsFirstContentfulPaintMs: paint }));
} finally {
  await browser.close();
}
