/** A file to upload and its path relative to the folder it was dropped into. */
export interface PickedFile {
  file: File;
  relative: string;
}

/**
 * Everything dropped: files, and folders walked to their last file (their
 * structure kept in `relative`). The entries are taken from the
 * DataTransfer at once, as the browser empties it when the drop handler
 * returns; walking them may take longer.
 */
export function droppedFiles(dt: DataTransfer): Promise<PickedFile[]> {
  const entries = [...dt.items]
    .filter((i) => i.kind === "file")
    .map((i) => i.webkitGetAsEntry())
    .filter((e): e is FileSystemEntry => e !== null);
  const plain = [...dt.files];
  return (async () => {
    if (entries.length === 0) return plain.map((file) => ({ file, relative: file.name }));
    const out: PickedFile[] = [];
    const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
      if (entry.isFile) {
        const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
        out.push({ file, relative: `${prefix}${entry.name}` });
      } else if (entry.isDirectory) {
        const reader = (entry as FileSystemDirectoryEntry).createReader();
        // readEntries gives a directory in batches (100 at a time in Chromium) until an empty one.
        for (;;) {
          const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
          if (batch.length === 0) break;
          for (const e of batch) await walk(e, `${prefix}${entry.name}/`);
        }
      }
    };
    for (const e of entries) await walk(e, "");
    return out;
  })();
}

/** Files from an `<input type=file webkitdirectory>` (or a plain multiple one): their relative paths as the browser gives them. */
export function pickedFiles(list: FileList | null): PickedFile[] {
  return [...(list ?? [])].map((file) => ({ file, relative: file.webkitRelativePath || file.name }));
}
