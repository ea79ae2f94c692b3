// Drives web/www in headless chromium and prints what the page shows, as JSON, for
// tests/tests/web_page.rs to compare with skopeo. Environment: PAGE_URL, REGISTRY_URL,
// IMAGE, INDEX, NO_CORS_URL, MANIFEST_FILE, SCREENSHOT, and optionally AUTH_URL,
// EXTRA_IMAGES, VECTORS_FILE and SIGNATURES_FILE.
import { chromium } from "playwright-core";
import { readFileSync } from "node:fs";

const env = process.env;
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const context = await browser.newContext();
const page = await context.newPage();
const consoleLines = [];
page.on("console", (m) => consoleLines.push(m.text()));
page.on("pageerror", (e) => consoleLines.push("pageerror: " + e.message));

await page.goto(env.PAGE_URL);
try {
  await page.waitForFunction(() => document.body.dataset.ready === "true", null, { timeout: 30000 });
} catch (e) {
  console.error("the page did not start:", e.message, "\nconsole:", consoleLines.join("\n"));
  process.exit(1);
}

async function inspect(registry, image) {
  await page.fill("#registry", registry);
  await page.fill("#image", image);
  await page.click("#inspect-button");
  return settle();
}

// Waits until the page reports success or an error, then reads what it shows.
async function settle() {
  await page.waitForFunction(
    () => document.getElementById("status").textContent === "Done." || !document.getElementById("error").hidden,
    null,
    { timeout: 30000 },
  );
  return page.evaluate(() => {
    const text = (id) => document.getElementById(id).textContent;
    const rows = (id) => [...document.getElementById(id).tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent));
    const error = document.getElementById("error");
    if (!error.hidden) return { error: error.textContent };
    return {
      title: text("result-title"),
      digest: text("digest"),
      mediaType: text("media-type"),
      created: text("created"),
      platform: text("platform"),
      layers: rows("layers"),
      platforms: document.getElementById("platforms-section").hidden ? [] : rows("platforms"),
      labels: rows("labels"),
      env: [...document.querySelectorAll("#env li")].map((li) => li.textContent),
      tags: [...document.querySelectorAll("#tags li")].map((li) => li.textContent),
      inspect: text("inspect-json"),
    };
  });
}

const out = {};
out.image = await inspect(env.REGISTRY_URL, env.IMAGE);
out.index = await inspect(env.REGISTRY_URL, env.INDEX);
// A platform of the index, clicked: its own manifest.
if (out.index.platforms && out.index.platforms.length > 1) {
  await page.click("#platforms tbody tr:nth-child(2) a");
  out.platformClicked = await settle();
}
// A tag, clicked.
await inspect(env.REGISTRY_URL, env.IMAGE);
const tagLinks = await page.$$("#tags a");
if (tagLinks.length > 0) {
  const name = await tagLinks[tagLinks.length - 1].textContent();
  await tagLinks[tagLinks.length - 1].click();
  out.tagClicked = { tag: name, view: await settle() };
}
// Errors in words.
out.unknownTag = await inspect(env.REGISTRY_URL, env.IMAGE.replace(/:[^:/]+$/, ":no-such-tag"));
out.noCors = await inspect(env.NO_CORS_URL, env.IMAGE);
out.badUrl = await inspect("ftp://example", env.IMAGE);
if (env.AUTH_URL) out.unauthorized = await inspect(env.AUTH_URL, env.IMAGE);
// Shared vectors pushed to the registry: skopeo's inspect text as the page computed it.
out.extra = {};
for (const name of (env.EXTRA_IMAGES || "").split(",").filter(Boolean)) {
  const view = await inspect(env.REGISTRY_URL, name);
  out.extra[name] = view.inspect ?? view.error;
}
// The digest box: a pasted manifest, then text that is not JSON.
const manifest = readFileSync(env.MANIFEST_FILE, "utf8");
await page.fill("#manifest-input", manifest);
out.pasted = {
  digest: await page.textContent("#manifest-digest"),
  type: await page.textContent("#manifest-type"),
  problem: await page.isHidden("#manifest-problem") ? null : await page.textContent("#manifest-problem"),
};
await page.fill("#manifest-input", "{ not json");
out.invalid = {
  digest: await page.textContent("#manifest-digest"),
  problem: await page.textContent("#manifest-problem"),
};
// The shared vectors: every fixture manifest's digest, computed in the page's module.
if (env.VECTORS_FILE) {
  const vectors = JSON.parse(readFileSync(env.VECTORS_FILE, "utf8"));
  out.vectors = await page.evaluate((vs) => vs.map(([name, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    try {
      return [name, window.skopeo.manifestDigest(bytes)];
    } catch (e) {
      return [name, "error: " + (e.message ?? e)];
    }
  }), vectors);
}
// Signature vectors: standalone-verify computed in the page's module.
if (env.SIGNATURES_FILE) {
  const cases = JSON.parse(readFileSync(env.SIGNATURES_FILE, "utf8"));
  out.signatures = await page.evaluate(async (cs) => {
    const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const results = [];
    for (const [name, keys, manifest, reference, fingerprint, signature] of cs) {
      try {
        results.push([name, await window.skopeo.verifySignature(bytes(keys), bytes(manifest), reference, fingerprint, bytes(signature))]);
      } catch (e) {
        results.push([name, "error: " + (e.message ?? e)]);
      }
    }
    return results;
  }, cases);
}
// The screenshot shows the index view.
await inspect(env.REGISTRY_URL, env.INDEX);
await page.screenshot({ path: env.SCREENSHOT, fullPage: true });
out.console = consoleLines;
console.log(JSON.stringify(out));
await browser.close();
