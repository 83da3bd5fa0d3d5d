// Sizes and paths come from @trainfs/core (formatSize, joinPath, parentPath), as the CLI's do; what is left is the page's own.
export function formatTime(d: Date): string {
  return d.toISOString().replace("T", " ").slice(0, 19);
}

/** Builds an element with attributes and children; text is always set as text, never parsed as HTML. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, v);
  e.append(...children);
  return e;
}
