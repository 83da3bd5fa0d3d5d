import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Test hosts on one machine: a network namespace per host, each with its own
 * address, plugged into a bridge that lives in a namespace of its own, so the
 * machine's own network is not touched. Addresses come from 198.18.0.0/15,
 * the range set aside for benchmark tests (RFC 2544); the traffic never
 * leaves these namespaces. With `reachable`, one more link plugs the test
 * process itself into the bridge (the lab's .2 address, a link of the lab's
 * own that goes with it), so that it can be a client of the hosts without
 * running in one. Needs root and iproute2.
 */
export class NetLab {
  private constructor(
    private readonly prefix: string,
    private readonly hosts: Map<string, string>,
  ) {}

  static async available(): Promise<string | undefined> {
    if (process.getuid?.() !== 0) return "not root";
    try {
      await run("ip", ["-V"]);
    } catch {
      return "iproute2 (ip) is not installed";
    }
    return undefined;
  }

  static async create(names: string[], options: { subnet?: string; reachable?: boolean } = {}): Promise<NetLab> {
    const prefix = `tfs${process.pid % 100000}`;
    // Labs that run side by side (test files) need subnets of their own only when reachable from here.
    const subnet = options.subnet ?? "198.18.77";
    const lab = new NetLab(prefix, new Map(names.map((n, i) => [n, `${subnet}.${10 + i}`])));
    try {
      await ip("netns", "add", lab.ns("sw"));
      await ip("-n", lab.ns("sw"), "link", "add", "br0", "type", "bridge");
      await ip("-n", lab.ns("sw"), "link", "set", "br0", "up");
      for (const [name, address] of lab.hosts) {
        const ns = lab.ns(name);
        await ip("netns", "add", ns);
        await ip("-n", ns, "link", "set", "lo", "up");
        // Created inside the host's namespace, so nothing appears in the machine's own.
        await ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", `p-${name}`, "netns", lab.ns("sw"));
        await ip("-n", ns, "addr", "add", `${address}/24`, "dev", "eth0");
        await ip("-n", ns, "link", "set", "eth0", "up");
        await ip("-n", lab.ns("sw"), "link", "set", `p-${name}`, "master", "br0");
        await ip("-n", lab.ns("sw"), "link", "set", `p-${name}`, "up");
      }
      if (options.reachable) {
        await ip("link", "add", `${prefix}h`, "type", "veth", "peer", "name", "p-here", "netns", lab.ns("sw"));
        await ip("addr", "add", `${subnet}.2/24`, "dev", `${prefix}h`);
        await ip("link", "set", `${prefix}h`, "up");
        await ip("-n", lab.ns("sw"), "link", "set", "p-here", "master", "br0");
        await ip("-n", lab.ns("sw"), "link", "set", "p-here", "up");
      }
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  address(host: string): string {
    const a = this.hosts.get(host);
    if (!a) throw new Error(`no host ${host}`);
    return a;
  }

  /** The command prefix that runs a program on a host. */
  wrap(host: string): string[] {
    return ["ip", "netns", "exec", this.ns(host)];
  }

  spawn(host: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    return spawn("ip", ["netns", "exec", this.ns(host), command, ...args], { env: { ...process.env, ...env } });
  }

  /** Unplugs a host from the bridge: a network partition. */
  async cut(host: string): Promise<void> {
    await ip("-n", this.ns("sw"), "link", "set", `p-${host}`, "down");
  }

  async heal(host: string): Promise<void> {
    await ip("-n", this.ns("sw"), "link", "set", `p-${host}`, "up");
  }

  /**
   * Drops everything `host` sends to `peer`, its other links untouched: a
   * NameNode cut off from etcd while clients and DataNodes still reach it.
   * (TCP needs both ways, so the two cannot talk at all.)
   */
  async cutBetween(host: string, peer: string): Promise<void> {
    await ip("-n", this.ns(host), "route", "add", "blackhole", `${this.address(peer)}/32`);
  }

  async healBetween(host: string, peer: string): Promise<void> {
    await ip("-n", this.ns(host), "route", "del", "blackhole", `${this.address(peer)}/32`);
  }

  /** Deletes every namespace it made (their links go with them). */
  async destroy(): Promise<void> {
    for (const name of [...this.hosts.keys(), "sw"]) await ip("netns", "del", this.ns(name)).catch(() => {});
    // Gone with its peer in the switch's namespace; said again in case the peer never got there.
    await ip("link", "del", `${this.prefix}h`).catch(() => {});
  }

  private ns(name: string): string {
    return `${this.prefix}-${name}`;
  }
}

async function ip(...args: string[]): Promise<void> {
  await run("ip", args);
}
