import { readdir, stat } from "node:fs/promises";
import { TrainfsError } from "@trainfs/core";

/**
 * A local directory's subdirectories and regular files, as paths relative
 * to it with `/` separators, sorted; symbolic links are followed (as `cp -L`
 * does), anything else (sockets, fifos) is left out.
 */
export async function localTree(root: string): Promise<{ directories: string[]; files: string[] }> {
  const directories: string[] = [];
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const dir = rel ? `${root}/${rel}` : root;
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new TrainfsError("not_found", `local directory ${dir} does not exist`);
      if (code === "ENOTDIR") throw new TrainfsError("invalid_argument", `local path ${dir} is not a directory`);
      if (code === "EACCES") throw new TrainfsError("permission_denied", `cannot read local directory ${dir}: permission denied`);
      throw err;
    }
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const s = await stat(`${root}/${path}`).catch(() => undefined);
      if (s?.isDirectory()) {
        directories.push(path);
        await walk(path);
      } else if (s?.isFile()) {
        files.push(path);
      }
    }
  };
  await walk("");
  return { directories, files };
}
