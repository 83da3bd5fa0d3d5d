import { FileType, type FileInfo } from "@trainfs/proto";

/** What the namespace knows of a path, in plain types. */
export interface FileStatus {
  path: string;
  type: "file" | "directory";
  size: number;
  replication: number;
  chunkSize: number;
  chunkCount: number;
  modificationTime: Date;
  /** What the writer gave with `put` (or ConcatFiles); {} for none. */
  attributes: Record<string, string>;
}

export function toFileStatus(info: FileInfo): FileStatus {
  return {
    path: info.path,
    type: info.type === FileType.DIRECTORY ? "directory" : "file",
    size: Number(info.size),
    replication: info.replication,
    chunkSize: Number(info.chunkSize),
    chunkCount: info.chunkCount,
    modificationTime: new Date(Number(info.modificationTimeMs)),
    attributes: { ...info.attributes },
  };
}
