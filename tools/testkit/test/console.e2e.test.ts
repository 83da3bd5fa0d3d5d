import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { generateSecurity } from "../src/index.js";
import { cluster } from "./helpers.js";

/** Debian's chromium (scripts/ensure-chromium.sh installs it); never a browser a tool downloads. */
const CHROMIUM = process.env.TRAINFS_CHROMIUM ?? "/usr/bin/chromium";
/** Screenshots of each step, kept after the run (gitignored). */
const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts", "console");
const MiB = 1024 * 1024;

let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/ensure-chromium.sh (apt-get install -y chromium)`);
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container: no sandbox; and no lookups or traffic beyond loopback.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
  });
});
afterAll(async () => {
  await browser?.close();
});

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

describe("web console in headless Chromium", () => {
  it("shows the cluster, uploads and downloads a multi-chunk file byte for byte, manages directories, and marks a killed DataNode dead", async () => {
    // Security on, as the local cluster runs: the page needs the API token, and DataNodes chunk tokens.
    const security = generateSecurity();
    const c = await cluster({ mode: "process", security, heartbeatTimeoutMs: 2000, nameNode: { defaultChunkSize: 2 * MiB } });
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (err) => problems.push(err.message));

    // Without the token the page says what is wrong; with it, the cluster view shows three DataNodes alive.
    await page.goto(`${c.nameNodeAddress}/`);
    await page.locator("#error:not([hidden])").waitFor();
    expect(await page.locator("#error").textContent()).toMatch(/requires an API token/);
    await page.fill("[data-testid=token]", security.clientToken);
    // Leaving the field commits it (its change event), as a person tabbing away would.
    await page.locator("[data-testid=token]").blur();
    await page.locator("[data-testid=datanode][data-state=alive]").nth(2).waitFor();
    expect(await page.locator("[data-testid=datanode]").count()).toBe(3);
    expect(await page.locator("[data-testid=alive-count]").textContent()).toBe("3 / 3");
    expect(await page.locator("[data-testid=safe-mode]").textContent()).toBe("off");
    await shot(page, "1-cluster");

    // A directory made, renamed and deleted through the page.
    await page.goto(`${c.nameNodeAddress}/#/files/`);
    await page.locator("[data-testid=listing][data-loaded=true]").waitFor();
    await page.fill("[data-testid=mkdir-name]", "photos");
    await page.click("[data-testid=mkdir]");
    await page.locator("[data-testid=entry][data-name=photos][data-type=directory]").waitFor();
    expect((await c.client().stat("/photos")).type).toBe("directory");
    page.once("dialog", (d) => void d.accept("/albums"));
    await page.click("[data-testid=entry][data-name=photos] [data-testid=rename]");
    await page.locator("[data-testid=entry][data-name=albums]").waitFor();
    expect(await c.client().exists("/photos")).toBe(false);
    expect(await c.client().exists("/albums")).toBe(true);
    await shot(page, "2-directory-renamed");
    page.once("dialog", (d) => void d.accept());
    await page.click("[data-testid=entry][data-name=albums] [data-testid=delete]");
    await page.locator("[data-testid=entry][data-name=albums]").waitFor({ state: "detached" });
    expect(await c.client().exists("/albums")).toBe(false);

    // Upload: three chunks of 2 MiB, sent in 1 MiB parts, with a progress bar.
    const original = randomBytes(5 * MiB + 777);
    await page.setInputFiles("[data-testid=upload-input]", { name: "sample.bin", mimeType: "application/octet-stream", buffer: original });
    await page.click("[data-testid=upload]");
    await page.locator("[data-testid=entry][data-name='sample.bin']").waitFor();
    expect(await page.locator("[data-testid=progress-text]").textContent()).toContain("Uploaded sample.bin");
    expect(await page.locator("[data-testid=progress]").evaluate((p) => (p as HTMLProgressElement).value)).toBe(1);
    const stored = await c.client().stat("/sample.bin");
    expect(stored.size).toBe(original.length);
    expect(stored.chunkCount).toBe(3);
    expect(Buffer.compare(await c.client().readFile("/sample.bin"), original)).toBe(0);
    await shot(page, "3-uploaded");

    // Download through the page: the bytes are the original's.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.click("[data-testid=entry][data-name='sample.bin'] [data-testid=download]"),
    ]);
    expect(download.suggestedFilename()).toBe("sample.bin");
    const saved = join(ARTIFACTS, "downloaded-sample.bin");
    await download.saveAs(saved);
    expect(Buffer.compare(await readFile(saved), original)).toBe(0);

    // A killed DataNode is shown dead.
    const victim = c.dataNodeAddress(1);
    await c.killDataNode(1);
    await page.goto(`${c.nameNodeAddress}/#/cluster`);
    await page.locator(`[data-testid=datanode][data-address='${victim}'][data-state=dead]`).waitFor({ timeout: 20_000 });
    expect(await page.locator("[data-testid=alive-count]").textContent()).toBe("2 / 3");
    await shot(page, "4-datanode-dead");

    expect(problems).toEqual([]);
    await context.close();
  });
});
