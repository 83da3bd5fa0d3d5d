import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDirectory } from "@trainfs/common";

/**
 * Who this DataNode is, kept in its data directory: its own id (so the
 * NameNode recognizes its chunks after a restart) and the id of the cluster
 * it joined (so that it never joins another NameNode, which would take all
 * its chunks for garbage).
 */
export class NodeIdentity {
  private constructor(
    readonly dataDir: string,
    readonly datanodeId: string,
    private cluster: string | undefined,
  ) {}

  static async load(dataDir: string): Promise<NodeIdentity> {
    let id = await readText(join(dataDir, "datanode-id"));
    if (!id) {
      id = `dn-${randomUUID()}`;
      await writeFile(join(dataDir, "datanode-id"), `${id}\n`, { flush: true });
      // The directory entry is made durable with the rest of the layout (DataNode.start).
    }
    return new NodeIdentity(dataDir, id, await readText(join(dataDir, "cluster-id")));
  }

  /** Empty until the first registration. */
  get clusterId(): string {
    return this.cluster ?? "";
  }

  /**
   * Records the cluster of the first registration. A NameNode of another
   * cluster is refused (a list of NameNodes must be one HA cluster's; a
   * single NameNode already refuses a node of another cluster itself).
   */
  async joined(clusterId: string, namenode = "the NameNode"): Promise<void> {
    if (this.cluster === clusterId || !clusterId) return;
    if (this.cluster) {
      throw new ConnectError(
        `${namenode} runs cluster ${clusterId}, but this DataNode belongs to cluster ${this.cluster}: every NameNode in --namenode must be of one cluster`,
        Code.FailedPrecondition,
      );
    }
    await writeFile(join(this.dataDir, "cluster-id"), `${clusterId}\n`, { flush: true });
    await fsyncDirectory(this.dataDir);
    this.cluster = clusterId;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
