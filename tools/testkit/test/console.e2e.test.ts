import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { crc32Update, formatChecksum } from "@trainfs/common";
import { MiniCluster, generateSecurity } from "../src/index.js";
import { eventually, workDir } from "./helpers.js";

/** Debian's chromium (scripts/ensure-chromium.sh installs it); never a browser a tool downloads. */
const CHROMIUM = process.env.TRAINFS_CHROMIUM ?? "/usr/bin/chromium";
/** Screenshots of each step, kept after the run (gitignored). */
const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts", "console");
const MiB = 1024 * 1024;
const READ_ONLY = "read-only-token-for-the-console-0123";

let browser: Browser;
let c: MiniCluster;
let security: ReturnType<typeof generateSecurity>;
let page: Page;
let context: BrowserContext;
const problems: string[] = [];

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
  // Security on, as the local cluster runs; four DataNodes so that one can be drained at replication 3.
  security = generateSecurity();
  security.apiTokens.push(`ro:${READ_ONLY}`);
  // Shared by every test of the file (the helpers' cluster() would stop it after the first).
  c = await MiniCluster.start({
    mode: "process", dataNodes: 4, security, heartbeatTimeoutMs: 2000,
    nameNode: { defaultChunkSize: 2 * MiB, historyIntervalMs: 500 },
  });
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  // Playwright cannot answer the File System Access API's file picker, so this page streams downloads
  // through the service worker; the picker's path is tested on a page of its own below.
  await context.addInitScript(() => delete (window as { showSaveFilePicker?: unknown }).showSaveFilePicker);
  page = await context.newPage();
  page.on("pageerror", (err) => problems.push(err.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await c?.shutdown();
});

/** Waits until no copy or deletion is owed, and the DataNodes' reported chunk counts hold still. */
async function settled(): Promise<{ chunks: number; replicas: number }> {
  return eventually(async () => {
    const a = await c.client().clusterStatus();
    expect(a.pendingTrashTasks + a.pendingReplicationTasks + a.underReplicatedChunks).toBe(0);
    await new Promise((r) => setTimeout(r, 1000));
    const b = await c.client().clusterStatus();
    const replicas = (s: typeof a) => s.datanodes.reduce((t, n) => t + n.chunkCount, 0);
    expect(replicas(b)).toBe(replicas(a));
    return { chunks: b.chunks, replicas: replicas(b) };
  }, 60_000, 250);
}

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

describe("web console in headless Chromium", () => {
  it("asks for a token on a page of its own, then shows the cluster's shape: version, uptime, totals, space once per disk, DataNodes by state", async () => {
    await page.goto(`${c.nameNodeAddress}/`);
    await page.locator("[data-testid=no-token]").waitFor();
    const noToken = (await page.locator("[data-testid=no-token]").textContent())!;
    expect(noToken).toMatch(/API token field at the top right/);
    expect(noToken).not.toMatch(/--token|TRAINFS_TOKEN/);
    await shot(page, "0-no-token");
    await page.click("[data-testid=focus-token]");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("token");
    await page.fill("[data-testid=token]", security.clientToken);
    await page.locator("[data-testid=token]").press("Enter");
    await page.locator("[data-testid=datanode][data-state=alive]").nth(3).waitFor();
    expect(await page.locator("[data-testid=alive-count]").textContent()).toBe("4 / 4");
    expect(await page.locator("[data-testid=alive-count-note]").textContent()).toBe("4 in service");
    expect(await page.locator("[data-testid=safe-mode]").textContent()).toBe("off");
    expect(await page.locator("[data-testid=version]").textContent()).toMatch(/^TrainFS \d+\.\d+\.\d+/);
    expect(await page.locator("[data-testid=version-note]").textContent()).toMatch(/^started /);
    expect(await page.locator("[data-testid=uptime]").textContent()).toMatch(/^\d+ (s|min)$/);
    expect(await page.locator("[data-testid=files]").textContent()).toBe("0");
    expect(await page.locator("[data-testid=directories]").textContent()).toBe("1");
    // The four DataNodes share this machine's disk: capacity is that disk's, not four times it.
    const status = await c.client().clusterStatus();
    const disk = status.datanodes[0]!.capacityBytes;
    expect(status.space.capacityBytes).toBe(disk);
    expect(await page.locator("[data-testid=shared-disk]").first().textContent()).toBe("disk shared by 4 DataNodes");
    expect(await page.locator("[data-testid=non-dfs-used]").textContent()).toMatch(/\d/);
    await shot(page, "1-cluster");
  });

  it("finds a multi-chunk file's replicas in two clicks, with the right DataNodes and the file's checksum", async () => {
    const original = randomBytes(5 * MiB + 777);
    await c.client().writeFile("/docs/sample.bin", original);
    await page.goto(`${c.nameNodeAddress}/#/files/docs`);
    await page.locator("[data-testid=listing][data-loaded=true]").waitFor();
    await page.click("[data-testid=entry][data-name='sample.bin'] [data-testid=details]");
    await page.locator("[data-testid=chunk]").nth(2).waitFor();
    expect(await page.locator("[data-testid=chunk]").count()).toBe(3);
    expect(await page.locator("[data-testid=file-size]").textContent()).toContain(`${original.length.toLocaleString("en-US")} bytes`);
    expect(await page.locator("[data-testid=file-replication]").textContent()).toBe("3");
    expect(await page.locator("[data-testid=file-chunk-size]").textContent()).toBe("2.0 MiB");
    expect(await page.locator("[data-testid=file-checksum]").textContent()).toBe(formatChecksum(crc32Update(original)));
    const report = await c.client().fsck("/docs/sample.bin");
    for (const chunk of report.files[0]!.chunks) {
      const row = page.locator(`[data-testid=chunk][data-chunk-id='${chunk.chunkId}']`);
      expect(await row.getAttribute("data-health")).toBe("healthy");
      const shown = await row.locator("[data-testid=replica][data-state=live]").evaluateAll((els) => els.map((e) => e.getAttribute("data-address")));
      expect([...shown].sort()).toEqual([...chunk.liveReplicas].sort());
      expect(shown).toHaveLength(3);
    }
    await shot(page, "2-file-details");
  });

  it("draws the last hour from the NameNode's history: the charts hold the traffic's data", async () => {
    await c.client().readFile("/docs/sample.bin");
    await page.goto(`${c.nameNodeAddress}/#/cluster`);
    const charts = await eventually(async () => {
      const got = await page.evaluate(() => {
        // The console keeps each chart's data here (apps/console/src/charts.ts).
        const all = (window as unknown as { trainfsCharts?: Record<string, { labels: string[]; data: Array<Array<number | null>> }> }).trainfsCharts ?? {};
        const max = (name: string, i: number) => Math.max(0, ...(all[name]?.data[i] ?? []).map((v) => v ?? 0));
        return {
          names: Object.keys(all).sort(),
          points: all.space?.data[0]?.length ?? 0,
          capacity: max("space", 1),
          read: max("throughput", 1),
          write: max("throughput", 2),
          rpc: max("rpc", 1),
          nodeSeries: all["node-throughput"]?.labels.length ?? 0,
          heartbeatSeries: all.heartbeats?.labels.length ?? 0,
        };
      });
      expect(got.write).toBeGreaterThan(0);
      expect(got.read).toBeGreaterThan(0);
      return got;
    }, 30_000, 500);
    expect(charts.names).toEqual(["health", "heartbeats", "node-throughput", "rpc", "space", "throughput"]);
    expect(charts.points).toBeGreaterThan(2);
    expect(charts.capacity).toBeGreaterThan(0);
    expect(charts.rpc).toBeGreaterThan(0);
    expect(charts.nodeSeries).toBe(8);
    expect(charts.heartbeatSeries).toBe(4);
    expect(await page.locator("[data-testid=chart] canvas").count()).toBeGreaterThanOrEqual(6);
    await shot(page, "3-charts");
  });

  it("uploads a folder of 20 files dropped on the page byte for byte, with the replication chosen, and overwrites only when asked", async () => {
    const base = await workDir();
    const folder = join(base, "album");
    const files = new Map<string, Buffer>();
    for (let i = 0; i < 20; i++) {
      const rel = `album/${i % 2 ? "raw/" : ""}photo-${String(i).padStart(2, "0")}.bin`;
      // One file of several chunks among small ones.
      const data = randomBytes(i === 7 ? 4 * MiB + 3 : 1000 + i * 1500);
      await mkdir(join(base, rel, ".."), { recursive: true });
      await writeFile(join(base, rel), data);
      files.set(rel, data);
    }
    await page.goto(`${c.nameNodeAddress}/#/files/`);
    await page.locator("[data-testid=listing][data-loaded=true]").waitFor();
    await page.selectOption("[data-testid=replication]", "2");
    // A real drop of a folder from the desktop, through the DevTools protocol.
    const cdp = await context.newCDPSession(page);
    const box = (await page.locator("[data-testid=drop-zone]").boundingBox())!;
    const at = { x: box.x + 40, y: box.y + 20 };
    for (const type of ["dragEnter", "dragOver", "drop"] as const) {
      await cdp.send("Input.dispatchDragEvent", { type, ...at, data: { items: [], files: [folder], dragOperationsMask: 1 } });
    }
    await page.locator("[data-testid=transfer][data-kind=upload]").nth(19).waitFor();
    await eventually(async () => expect(await page.locator("[data-testid=transfer][data-kind=upload][data-state=done]").count()).toBe(20), 60_000, 250);
    await shot(page, "4-folder-uploaded");
    for (const [rel, data] of files) {
      expect(Buffer.compare(await c.client().readFile(`/${rel}`), data), rel).toBe(0);
      expect((await c.client().stat(`/${rel}`)).replication).toBe(2);
    }
    await cdp.detach();

    // The same name again: refused without overwrite, replaced with it.
    const again = Buffer.from("a new version");
    const pick = () => page.setInputFiles("[data-testid=upload-input]", { name: "photo-00.bin", mimeType: "application/octet-stream", buffer: again });
    await page.goto(`${c.nameNodeAddress}/#/files/album`);
    await page.locator("[data-testid=listing][data-loaded=true]").waitFor();
    await pick();
    const refused = page.locator("[data-testid=transfer][data-path='/album/photo-00.bin'][data-state=failed]");
    await refused.waitFor();
    expect(await refused.locator("[data-testid=transfer-detail]").textContent()).toMatch(/already exists/);
    expect(Buffer.compare(await c.client().readFile("/album/photo-00.bin"), files.get("album/photo-00.bin")!)).toBe(0);
    await page.check("[data-testid=overwrite]");
    await pick();
    await eventually(async () => expect(Buffer.compare(await c.client().readFile("/album/photo-00.bin"), again)).toBe(0));
  });

  it("cancels an upload part-way and leaves nothing behind", async () => {
    const before = await settled();
    const big = join(await workDir(), "cancel-me.bin");
    await writeFile(big, randomBytes(160 * MiB));
    await page.goto(`${c.nameNodeAddress}/#/files/`);
    await page.locator("[data-testid=listing][data-loaded=true]").waitFor();
    await page.setInputFiles("[data-testid=upload-input]", big);
    const row = page.locator("[data-testid=transfer][data-path='/cancel-me.bin']");
    await page.waitForFunction(() => {
      const p = document.querySelector<HTMLProgressElement>("[data-testid=transfer][data-path='/cancel-me.bin'] progress");
      return p !== null && p.value > 0.02;
    });
    const progress = await row.locator("progress").evaluate((p) => (p as HTMLProgressElement).value);
    expect(progress).toBeLessThan(0.9);
    await row.locator("[data-testid=cancel]").click();
    await page.locator("[data-testid=transfer][data-path='/cancel-me.bin'][data-state=cancelled]").waitFor();
    await shot(page, "5-upload-cancelled");
    expect(await c.client().exists("/cancel-me.bin")).toBe(false);
    // The write is abandoned and its chunks trashed on every DataNode: the cluster holds what it held before.
    await eventually(async () => {
      const after = await c.client().clusterStatus();
      expect(after.chunks).toBe(before.chunks);
      expect(after.datanodes.reduce((t, n) => t + n.chunkCount, 0)).toBe(before.replicas);
      const metrics = await (await fetch(`${c.nameNodeAddress}/metrics`)).text();
      expect(metrics).toMatch(/^trainfs_writes_in_progress\{[^}]*\} 0$/m);
    }, 30_000, 250);
  });

  it("sorts, filters, and deletes several selected entries; makes, renames and deletes a directory", async () => {
    await page.goto(`${c.nameNodeAddress}/#/files/album`);
    await page.locator("[data-testid=listing][data-loaded=true]").waitFor();
    const names = () => page.locator("[data-testid=entry]").evaluateAll((els) => els.map((e) => e.getAttribute("data-name")));
    await page.click("[data-testid=sort-size]");
    await page.click("[data-testid=sort-size]");
    const bySizeDown = await names();
    expect(bySizeDown[0]).toBe("raw");
    expect(bySizeDown[1]).toBe("photo-18.bin");
    await page.fill("[data-testid=filter]", "photo-1");
    // Still sorted by size, largest first, and only what matches.
    expect(await names()).toEqual(["photo-18.bin", "photo-16.bin", "photo-14.bin", "photo-12.bin", "photo-10.bin"]);
    await page.check("[data-testid=select-all]");
    expect(await page.locator("[data-testid=delete-selected]").textContent()).toBe("Delete selected (5)");
    page.once("dialog", (d) => void d.accept());
    await page.click("[data-testid=delete-selected]");
    await eventually(async () => expect(await c.client().exists("/album/photo-10.bin")).toBe(false));
    for (const n of ["photo-12.bin", "photo-14.bin", "photo-16.bin", "photo-18.bin"]) expect(await c.client().exists(`/album/${n}`)).toBe(false);
    expect(await c.client().exists("/album/photo-02.bin")).toBe(true);
    await page.fill("[data-testid=filter]", "");
    await shot(page, "6-sorted-filtered-deleted");

    await page.fill("[data-testid=mkdir-name]", "photos");
    await page.click("[data-testid=mkdir]");
    await page.locator("[data-testid=entry][data-name=photos][data-type=directory]").waitFor();
    page.once("dialog", (d) => void d.accept("/album/albums"));
    await page.click("[data-testid=entry][data-name=photos] [data-testid=rename]");
    await page.locator("[data-testid=entry][data-name=albums]").waitFor();
    expect(await c.client().exists("/album/albums")).toBe(true);
    page.once("dialog", (d) => void d.accept());
    await page.click("[data-testid=entry][data-name=albums] [data-testid=delete]");
    await page.locator("[data-testid=entry][data-name=albums]").waitFor({ state: "detached" });
    expect(await c.client().exists("/album/albums")).toBe(false);
  });

  it("streams a 300 MiB download to disk with the page's heap far below the file's size", async () => {
    const local = join(await workDir(), "big.bin");
    await writeFile(local, randomBytes(300 * MiB));
    await c.client({ chunkSize: 16 * MiB }).put(local, "/big.bin");
    const expected = await sha256(local);
    await rm(local);
    await page.goto(`${c.nameNodeAddress}/#/files/`);
    await page.locator("[data-testid=entry][data-name='big.bin']").waitFor();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, ((await cdp.send("Runtime.getHeapUsage")) as { usedSize: number }).usedSize);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 60_000 }),
      page.click("[data-testid=entry][data-name='big.bin'] [data-testid=download]"),
    ]);
    expect(download.suggestedFilename()).toBe("big.bin");
    const saved = join(await workDir(), "big.bin");
    await download.saveAs(saved);
    await page.locator("[data-testid=transfer][data-kind=download][data-path='/big.bin'][data-state=done]").waitFor({ timeout: 60_000 });
    sampling = false;
    await sampler;
    const metrics = (await cdp.send("Performance.getMetrics")) as { metrics: Array<{ name: string; value: number }> };
    const heapNow = metrics.metrics.find((m) => m.name === "JSHeapUsedSize")!.value;
    expect(await page.locator("[data-testid=transfer][data-path='/big.bin']").getAttribute("data-method")).toBe("service-worker");
    expect(await sha256(saved)).toBe(expected);
    // The page never held the file: its heap stayed a small fraction of 300 MiB all along.
    console.log(`300 MiB download: page JS heap peak ${(peak / MiB).toFixed(1)} MiB, ${(heapNow / MiB).toFixed(1)} MiB after`);
    expect(peak).toBeLessThan(48 * MiB);
    expect(heapNow).toBeLessThan(48 * MiB);
    await shot(page, "7-streamed-download");
    await cdp.detach();
  }, 240_000);

  it("saves through the File System Access API where the browser has it, without holding the file", async () => {
    const original = randomBytes(24 * MiB + 5);
    await c.client().writeFile("/fsa.bin", original);
    const fsa = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // The picker answered with a file of the origin's private file system (what Playwright can reach).
    await fsa.addInitScript((token) => {
      localStorage.setItem("trainfs.token", token);
      (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = async ({ suggestedName }: { suggestedName: string }) =>
        (await navigator.storage.getDirectory()).getFileHandle(suggestedName, { create: true });
    }, security.clientToken);
    const p = await fsa.newPage();
    p.on("pageerror", (err) => problems.push(err.message));
    await p.goto(`${c.nameNodeAddress}/#/files/`);
    await p.locator("[data-testid=entry][data-name='fsa.bin']").waitFor();
    await p.click("[data-testid=entry][data-name='fsa.bin'] [data-testid=download]");
    await p.locator("[data-testid=transfer][data-path='/fsa.bin'][data-state=done]").waitFor();
    expect(await p.locator("[data-testid=transfer][data-path='/fsa.bin']").getAttribute("data-method")).toBe("file-system");
    const written = await p.evaluate(async () => {
      const table = new Int32Array(256).map((_, n) => {
        let x = n;
        for (let k = 0; k < 8; k++) x = x & 1 ? 0xedb88320 ^ (x >>> 1) : x >>> 1;
        return x;
      });
      const file = await (await (await navigator.storage.getDirectory()).getFileHandle("fsa.bin")).getFile();
      let crc = -1;
      for await (const chunk of file.stream() as unknown as AsyncIterable<Uint8Array>) for (let i = 0; i < chunk.length; i++) crc = table[(crc ^ chunk[i]!) & 0xff]! ^ (crc >>> 8);
      return { size: file.size, crc: (crc ^ -1) >>> 0 };
    });
    expect(written).toEqual({ size: original.length, crc: crc32Update(original) >>> 0 });
    await fsa.close();
  });

  it("decommissions and recommissions with a read-write token, refuses in words with a read-only one, and runs fsck of a path", async () => {
    // Less to copy away while draining.
    await c.client().rm("/big.bin");
    await c.client().rm("/fsa.bin");
    await page.goto(`${c.nameNodeAddress}/#/cluster`);
    const first = page.locator("[data-testid=datanode]").first();
    await first.waitFor();
    const address = (await first.getAttribute("data-address"))!;
    const row = page.locator(`[data-testid=datanode][data-address='${address}']`);
    page.once("dialog", (d) => void d.accept());
    await row.locator("[data-testid=decommission]").click();
    await page.locator("[data-testid=notice]:not([hidden])").waitFor();
    expect(await page.locator("[data-testid=notice]").textContent()).toMatch(new RegExp(`${address} is now decommission(ing|ed)`));
    await page.locator(`[data-testid=datanode][data-address='${address}'][data-admin-state=decommissioned]`).waitFor({ timeout: 60_000 });
    expect((await c.client().clusterStatus()).datanodes.find((n) => n.address === address)!.adminState).toBe("decommissioned");
    await shot(page, "8-decommissioned");
    await row.locator("[data-testid=recommission]").click();
    await page.locator(`[data-testid=datanode][data-address='${address}'][data-admin-state=normal]`).waitFor();
    expect((await c.client().clusterStatus()).datanodes.find((n) => n.address === address)!.adminState).toBe("normal");

    const ro = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await ro.addInitScript((token) => localStorage.setItem("trainfs.token", token), READ_ONLY);
    const rp = await ro.newPage();
    rp.on("pageerror", (err) => problems.push(err.message));
    await rp.goto(`${c.nameNodeAddress}/#/cluster`);
    rp.once("dialog", (d) => void d.accept());
    await rp.locator(`[data-testid=datanode][data-address='${address}'] [data-testid=decommission]`).click();
    await rp.locator("[data-testid=error]:not([hidden])").waitFor();
    expect(await rp.locator("[data-testid=error]").textContent()).toBe(`Your token is read-only: decommissioning ${address} needs a read-write token.`);
    expect((await c.client().clusterStatus()).datanodes.find((n) => n.address === address)!.adminState).toBe("normal");
    // fsck has no side effects: a read-only token may run it.
    await rp.fill("[data-testid=fsck-path]", "/docs");
    await rp.click("[data-testid=fsck]");
    await rp.locator("[data-testid=fsck-summary]").waitFor();
    expect(await rp.locator("[data-testid=fsck-summary]").textContent()).toBe("/docs: 1 file(s); 3 healthy, 0 under-replicated, 0 corrupt, 0 missing chunk(s). HEALTHY");
    expect(await rp.locator("[data-testid=fsck-result]").getAttribute("data-healthy")).toBe("true");
    await shot(rp, "9-read-only-refused");
    await ro.close();
  });

  it("says since when the NameNode is unreachable, marks the last figures stale, recovers, and shows a killed DataNode dead", async () => {
    await page.goto(`${c.nameNodeAddress}/#/cluster`);
    await page.locator("[data-testid=datanode]").first().waitFor();
    const restarting = c.restartNameNode({ downMs: 6000 });
    await page.locator("[data-testid=unreachable]:not([hidden])").waitFor({ timeout: 20_000 });
    expect(await page.locator("[data-testid=unreachable]").textContent()).toMatch(/^NameNode unreachable since \d\d:\d\d:\d\d: the figures shown are from \d\d:\d\d:\d\d and may be stale/);
    expect(await page.locator("[data-testid=overview]").getAttribute("class")).toContain("stale");
    expect(await page.locator("[data-testid=error]").isHidden()).toBe(true);
    expect(await page.locator("body").textContent()).not.toMatch(/Failed to fetch/);
    await shot(page, "10-namenode-unreachable");
    await restarting;
    await page.locator("[data-testid=unreachable]").waitFor({ state: "hidden", timeout: 30_000 });
    await eventually(async () => expect(await page.locator("[data-testid=overview]").getAttribute("class")).not.toContain("stale"));

    await c.waitForLiveDataNodes(4);
    // The page too: right after the restart it showed every DataNode not heard from yet.
    await eventually(async () => expect(await page.locator("[data-testid=alive-count]").textContent()).toBe("4 / 4"), 30_000, 250);
    const victim = c.dataNodeAddress(1);
    await c.killDataNode(1);
    await page.locator(`[data-testid=datanode][data-address='${victim}'][data-state=dead]`).waitFor({ timeout: 30_000 });
    await eventually(async () => expect(await page.locator("[data-testid=alive-count]").textContent()).toBe("3 / 4"), 30_000, 250);
    await shot(page, "11-datanode-dead");
    expect(problems).toEqual([]);
    await context.close();
  });
});
