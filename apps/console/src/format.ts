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

/** A duration as a person reads it: 45 s, 12 min, 3 h 5 min, 2 d 4 h. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "—";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A number with thousands separators. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** A button that runs `onClick`; data-testid `id`. */
export function button(label: string, id: string, onClick: () => void, attrs: Record<string, string | undefined> = {}): HTMLButtonElement {
  const b = el("button", { "data-testid": id, type: "button", ...attrs }, label);
  b.addEventListener("click", onClick);
  return b;
}
