import { createServer } from "node:http";
import { createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateSecurity, generateTls, randomFile, type MiniCluster } from "../src/index.js";
import { ERROR_LINE, startTrainfs, trainfs } from "./cli-run.js";
import { chunkLocations, cluster, eventually, flipReplicaByte, workDir } from "./helpers.js";

/** Asserts one line `trainfs: <message> [code] (request id)`, matching `message`, and the exit status. */
async function fails(args: string[], env: Record<string, string>, status: number, code: string, message: RegExp) {
  const r = await trainfs(args, env);
  expect(r.stderr, `trainfs ${args.join(" ")}`).toMatch(ERROR_LINE);
  expect(r.stderr).toContain(`[${code}]`);
  expect(r.stderr).toMatch(message);
  expect(r.code, `trainfs ${args.join(" ")}: ${r.stderr}`).toBe(status);
  return r;
}

async function listening(server: ReturnType<typeof createServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

describe("the CLI's errors: one line in its words, with the fix, a code, a request id and a distinct exit status", () => {
  it("connection problems name the NameNode address and where it came from", async () => {
    const c = await cluster();
    const noEnv = { TRAINFS_NAMENODE: "" };
    await fails(["--namenode", "http://127.0.0.1:1", "ls", "/"], noEnv, 5, "unavailable",
      /^trainfs: cannot connect to the NameNode at http:\/\/127\.0\.0\.1:1 \(from --namenode\): connection refused\. Is it running\? If it is elsewhere, set --namenode or TRAINFS_NAMENODE/);
    await fails(["ls", "/"], { TRAINFS_NAMENODE: "http://127.0.0.1:1" }, 5, "unavailable", /\(from TRAINFS_NAMENODE\): connection refused/);
    // A DataNode's port answers HTTP, but not as a NameNode.
    await fails(["--namenode", c.dataNodeAddress(0), "ls", "/"], noEnv, 5, "unavailable",
      /is not a TrainFS NameNode \(it answered a NameNode call with HTTP 404\): is it a DataNode's port\?/);
    // Any other HTTP server.
    const other = createServer((_req, res) => res.writeHead(404).end("nothing here"));
    const port = await listening(other);
    try {
      await fails(["--namenode", `http://127.0.0.1:${port}`, "ls", "/"], noEnv, 5, "unavailable", /is not a TrainFS NameNode/);
    } finally {
      other.close();
    }
    // TLS against a plain port, and plain HTTP against a TLS port.
    await fails(["--namenode", c.nameNodeAddress.replace("http:", "https:"), "ls", "/"], noEnv, 5, "unavailable",
      new RegExp(`speaks plain HTTP, not TLS: use ${c.nameNodeAddress.replace(/[.]/g, "\\.")} `));
    const tls = await generateTls();
    // A TLS port speaking HTTP/2, as a NameNode with TLS does.
    const secure = createSecureServer({ cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) }, (_req, res) => res.writeHead(404).end());
    const tlsPort = await listening(secure as unknown as ReturnType<typeof createServer>);
    try {
      await fails(["--namenode", `http://127.0.0.1:${tlsPort}`, "ls", "/"], noEnv, 5, "unavailable",
        new RegExp(`if this port speaks TLS, use https://127\\.0\\.0\\.1:${tlsPort} \\(and --ca-file`));
      await fails(["--namenode", `https://127.0.0.1:${tlsPort}`, "ls", "/"], noEnv, 5, "unavailable", /cannot verify the server's TLS certificate .*--ca-file/);
    } finally {
      secure.close();
    }
  });

  it("tokens: missing, invalid and read-only, in CLI flags, exit 4", async () => {
    const security = generateSecurity();
    const c = await cluster({ security: { ...security, apiTokens: [...security.apiTokens, "ro:read-only-token-123456"] } });
    const env = { TRAINFS_NAMENODE: c.nameNodeAddress, TRAINFS_TOKEN: "" };
    const missing = await fails(["ls", "/"], env, 4, "unauthenticated", /^trainfs: this NameNode requires an API token: pass --token or set TRAINFS_TOKEN \[/);
    expect(missing.stderr).not.toContain("SDK");
    await fails(["ls", "/"], { ...env, TRAINFS_TOKEN: "wrong" }, 4, "unauthenticated", /the API token is not valid for this cluster: check --token/);
    const ro = await fails(["mkdir", "/x"], { ...env, TRAINFS_TOKEN: "read-only-token-123456" }, 4, "permission_denied",
      /the token is read-only and this command changes the file system: use a read-write token/);
    expect(ro.stderr).not.toMatch(/Mkdir|PutFile/);
    expect((await trainfs(["ls", "/"], { ...env, TRAINFS_TOKEN: "read-only-token-123456" })).code).toBe(0);
    await fails(["--token-file", "/no/such/token", "ls", "/"], env, 3, "not_found", /cannot read the token file \/no\/such\/token \(--token-file\): no such file/);
  });

  it("local and remote paths, existing files, too few DataNodes, data loss, usage, --verbose", async () => {
    const c = await cluster();
    const dir = await workDir();
    const env = { TRAINFS_NAMENODE: c.nameNodeAddress };
    await randomFile(join(dir, "in.bin"), 200_000);
    await fails(["ls", "/missing"], env, 3, "not_found", /^trainfs: \/missing: no such file or directory \[not_found\]/);
    await fails(["put", join(dir, "nope.bin"), "/x"], env, 3, "not_found", new RegExp(`^trainfs: local file ${dir}/nope\\.bin does not exist \\[`));
    expect((await trainfs(["put", "-q", join(dir, "in.bin"), "/f.bin"], env)).code).toBe(0);
    // get into a missing local directory: the directory named, no temporary file name.
    const noDir = await fails(["get", "/f.bin", join(dir, "no", "such", "out.bin")], env, 3, "not_found", new RegExp(`local directory ${dir}/no/such does not exist`));
    expect(noDir.stderr).not.toMatch(/\.part|trainfs-[0-9a-f]{8}/);
    await fails(["getmerge", "/f.bin", join(dir, "no", "merged")], env, 3, "not_found", new RegExp(`cannot write local file ${dir}/no/merged: its directory does not exist`));
    // Existing files: the flag to use, not an SDK option.
    await fails(["put", join(dir, "in.bin"), "/f.bin"], env, 1, "already_exists", /^trainfs: \/f\.bin already exists \(use -f to replace a file\)/);
    await fails(["get", "/f.bin", join(dir, "in.bin")], env, 1, "already_exists", new RegExp(`local file ${dir}/in\\.bin exists \\(use -f to replace it\\)`));
    // Data loss: every replica of a chunk damaged.
    const [chunk] = await chunkLocations(c, "/f.bin");
    for (const address of chunk!.replicas) {
      const node = [0, 1, 2].find((i) => c.dataNodeAddress(i) === address)!;
      await flipReplicaByte(c, node, chunk!.chunkId, 9);
    }
    await fails(["get", "/f.bin", join(dir, "lost.bin")], env, 6, "data_loss", /checksum/);
    expect(await readdir(dir)).not.toContain("lost.bin");
    // Usage: one line, exit 2, not the whole help.
    const usage = await trainfs(["ls", "--bogus"], env);
    expect(usage).toMatchObject({ code: 2, stdout: "" });
    expect(usage.stderr).toBe("trainfs: unknown option '--bogus' (see trainfs ls --help) [usage]\n");
    const missingArg = await trainfs(["put", "/only-one"], env);
    expect(missingArg.code).toBe(2);
    expect(missingArg.stderr).toBe("trainfs: put needs at least one source and a destination (see trainfs put --help) [usage]\n");
    expect((await trainfs(["frobnicate"], env)).code).toBe(2);
    // --verbose: the stack too (the request id is on every failure's line).
    const verbose = await trainfs(["--verbose", "stat", "/missing"], env);
    expect(verbose.code).toBe(3);
    expect(verbose.stderr.split("\n")[0]).toMatch(ERROR_LINE.source.endsWith("$") ? /^trainfs: \/missing: no such file or directory \[not_found\] \(request [0-9a-f]{16}\)$/ : /./);
    expect(verbose.stderr).toMatch(/\n\s*at /);
    // Files are invisible until confirmed: tail -f says so.
    await fails(["tail", "-f", "/f.bin"], env, 1, "unimplemented", /a file is invisible until its writer confirms it, and never changes afterwards/);
    // Too few live DataNodes: fewer than minWriteReplicas (2 by default) are live.
    await c.stopDataNode(1);
    await c.stopDataNode(2);
    await c.waitForLiveDataNodes(1);
    await fails(["put", join(dir, "in.bin"), "/two.bin"], env, 1, "failed_precondition",
      /replication 3 needs at least 2 live DataNodes \(minWriteReplicas\), but 1 is live and in service: start more DataNodes or ask for fewer replicas with --replication/);
  });

  it("Ctrl-C during a put says what was abandoned and frees the upload at once", async () => {
    const c = await cluster();
    const dir = await workDir();
    const env = { TRAINFS_NAMENODE: c.nameNodeAddress };
    await randomFile(join(dir, "big.bin"), 48 * 1024 * 1024);
    await writeFile(join(dir, "small.bin"), "x");
    const { child, done } = startTrainfs(["put", "--chunk-size", "1MiB", "--parallel", "1", join(dir, "big.bin"), "/big.bin"], env);
    await eventually(() => expect([...c.nameNode.store.uploads.getKeys()].length).toBe(1), 20_000, 20);
    await new Promise((r) => setTimeout(r, 300));
    child.kill("SIGINT");
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(ERROR_LINE);
    expect(r.stderr).toMatch(/^trainfs: interrupted: 1 upload\(s\) cancelled: \/big\.bin \([\d.]+ (B|KiB|MiB) of 48\.0 MiB done\); they were abandoned at once and none of them is visible; 0 of 1 file\(s\) had finished \[canceled\]/);
    // Abandoned when the CLI exits, not at lease expiry.
    expect([...c.nameNode.store.uploads.getKeys()]).toEqual([]);
    expect((await trainfs(["test", "-e", "/big.bin"], env)).code).toBe(1);
  });
});
