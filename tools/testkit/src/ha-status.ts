import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { AdminService, ClientService } from "@trainfs/proto";
import { RpcClients } from "@trainfs/common";

/** One NameNode's answer to AdminService.GetHaStatus (the HA contract's fields). */
export interface HaStatus {
  haEnabled: boolean;
  role: "active" | "standby" | "single";
  advertiseAddress: string;
  activeAddress: string;
  epoch: bigint;
  appliedSeq: bigint;
  members: Array<{ address: string; role: string; appliedSeq: bigint }>;
}

/**
 * Whether this build's AdminService has GetHaStatus. The kit is written
 * against the HA contract before the NameNode side exists; the method is
 * looked up in the generated descriptor at run time, so that this compiles
 * with or without it.
 */
export function haStatusMethod(): DescMethod | undefined {
  return (AdminService.method as Record<string, DescMethod | undefined>)["getHaStatus"];
}

type DynamicCall = (req: object, options?: { timeoutMs?: number }) => Promise<Record<string, unknown>>;

/**
 * Asks the NameNode at `address` for its HA status. Undefined when it does
 * not answer (down, paused, unreachable); throws a clear error when this
 * build has no GetHaStatus at all.
 */
export async function getHaStatus(rpc: RpcClients, address: string, timeoutMs = 2000): Promise<HaStatus | undefined> {
  const method = haStatusMethod();
  if (!method) throw new Error("this build's NameNode has no AdminService.GetHaStatus (NameNode HA is not merged)");
  const client = rpc.client(AdminService, address) as unknown as Record<string, DynamicCall>;
  let res: Record<string, unknown>;
  try {
    res = await client["getHaStatus"]!({}, { timeoutMs });
  } catch (err) {
    const code = ConnectError.from(err).code;
    if (code === Code.Unavailable || code === Code.DeadlineExceeded || code === Code.Canceled || code === Code.Unknown) return undefined;
    throw err;
  }
  const members = Array.isArray(res["members"]) ? (res["members"] as Array<Record<string, unknown>>) : [];
  return {
    haEnabled: Boolean(res["haEnabled"]),
    role: roleName(method, "role", res["role"]),
    advertiseAddress: String(res["advertiseAddress"] ?? ""),
    activeAddress: String(res["activeAddress"] ?? ""),
    epoch: BigInt((res["epoch"] as bigint | number | undefined) ?? 0),
    appliedSeq: BigInt((res["appliedSeq"] as bigint | number | undefined) ?? 0),
    members: members.map((m) => ({
      address: String(m["address"] ?? ""),
      role: typeof m["role"] === "string" ? m["role"] : String(m["role"] ?? ""),
      appliedSeq: BigInt((m["appliedSeq"] as bigint | number | undefined) ?? 0),
    })),
  };
}

/**
 * The role as "active" | "standby" | "single", whether the proto spells it
 * as a string or as an enum (HA_ROLE_ACTIVE and the like).
 */
function roleName(method: DescMethod, field: string, value: unknown): HaStatus["role"] {
  let text = typeof value === "string" ? value : "";
  if (typeof value === "number") {
    const desc = method.output.fields.find((f) => f.localName === field);
    text = (desc?.fieldKind === "enum" ? desc.enum.values.find((v) => v.number === value)?.name : undefined) ?? String(value);
  }
  text = text.toLowerCase();
  if (text.includes("standby")) return "standby";
  if (text.includes("active")) return "active";
  return "single";
}

/**
 * Which of `addresses` is the active NameNode: by GetHaStatus when the build
 * has it; otherwise by the contract's other sign, that only the active
 * answers ClientService calls (a standby says `unavailable`), probed with a
 * Stat of "/". Undefined when none is active (an election under way).
 */
export async function findActive(rpc: RpcClients, addresses: string[], timeoutMs = 2000): Promise<number | undefined> {
  if (haStatusMethod()) {
    const statuses = await Promise.all(addresses.map((a) => getHaStatus(rpc, a, timeoutMs).catch(() => undefined)));
    const active = statuses.findIndex((s) => s?.role === "active" || (s?.role === "single" && addresses.length === 1));
    return active < 0 ? undefined : active;
  }
  return findServing(rpc, addresses, timeoutMs);
}

/** The first of `addresses` that answers a ClientService call (Stat of "/") with anything but `unavailable`. */
export async function findServing(rpc: RpcClients, addresses: string[], timeoutMs = 2000): Promise<number | undefined> {
  const answers = await Promise.all(
    addresses.map(async (a) => {
      try {
        await rpc.client(ClientService, a).stat({ path: "/" }, { timeoutMs });
        return true;
      } catch (err) {
        // Any answer but "unavailable" (e.g. not found, permission) came from a serving NameNode.
        const code = ConnectError.from(err).code;
        return !(code === Code.Unavailable || code === Code.DeadlineExceeded || code === Code.Canceled || code === Code.Unknown);
      }
    }),
  );
  const active = answers.indexOf(true);
  return active < 0 ? undefined : active;
}
