/** Plain-text tables and number formats for the benchmark report. */

export type Cell = string | number;

/** Left-aligns the first column, right-aligns the others. */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...text.map((r) => (r[c] ?? "").length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(text[0]!), rule, ...text.slice(1).map(line)].join("\n");
}

/** Operations per second, with thousands separators and sensible precision. */
export function fmtOps(x: number): string {
  if (!Number.isFinite(x)) return "-";
  if (x >= 100) return Math.round(x).toLocaleString("en-US");
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** A duration in microseconds, shown in µs or ms. */
export function fmtUs(us: number): string {
  if (!Number.isFinite(us)) return "-";
  if (us >= 10_000) return `${(us / 1000).toFixed(1)} ms`;
  if (us >= 1000) return `${(us / 1000).toFixed(2)} ms`;
  if (us >= 100) return `${us.toFixed(0)} µs`;
  if (us >= 10) return `${us.toFixed(1)} µs`;
  return `${us.toFixed(2)} µs`;
}

export function fmtRatio(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}×` : "-";
}

export function fmtPct(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}

export function verdict(pass: boolean): string {
  return pass ? "PASS" : "MISS";
}

export function heading(title: string): string {
  return `\n${title}\n${"=".repeat(title.length)}`;
}
