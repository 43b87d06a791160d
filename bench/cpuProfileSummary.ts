/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self and inclusive time per function, so a
 * profile can be quoted as a table. Usage: `npx node bench/cpuProfileSummary.ts <file.cpuprofile> [rows]`.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fmtPct, table } from "./table.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  selfMs: number;
  totalMs: number;
}

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const where = f.url ? `${relative(process.cwd(), f.url.replace(/^file:\/\//, ""))}:${f.lineNumber + 1}` : "";
  return `${f.functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
}

/** Self and inclusive time per function (recursion counted once per stack). */
export function summarise(profile: Profile): { totalMs: number; functions: FunctionTime[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const leaf = byId.get(id)!;
    self.set(label(leaf), (self.get(label(leaf)) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + us);
    }
  }
  const functions = [...total.keys()].map((name) => ({ name, selfMs: (self.get(name) ?? 0) / 1000, totalMs: total.get(name)! / 1000 }));
  return { totalMs: (profile.endTime - profile.startTime) / 1000, functions };
}

export function profileTables(profile: Profile, rows = 25): string {
  const { totalMs, functions } = summarise(profile);
  const pct = (ms: number) => fmtPct(ms / totalMs);
  const bySelf = [...functions].sort((a, b) => b.selfMs - a.selfMs).slice(0, rows);
  const byTotal = [...functions].sort((a, b) => b.totalMs - a.totalMs).slice(0, rows);
  return [
    `profile: ${totalMs.toFixed(0)} ms`,
    "",
    "by self time",
    table(
      ["function", "self ms", "self"],
      bySelf.map((f) => [f.name, f.selfMs.toFixed(1), pct(f.selfMs)]),
    ),
    "",
    "by inclusive time",
    table(
      ["function", "total ms", "total"],
      byTotal.map((f) => [f.name, f.totalMs.toFixed(1), pct(f.totalMs)]),
    ),
  ].join("\n");
}

if (import.meta.main) {
  const [file, rows] = process.argv.slice(2);
  if (!file) {
    console.error("usage: npx node bench/cpuProfileSummary.ts <file.cpuprofile> [rows]");
    process.exit(2);
  }
  console.log(profileTables(JSON.parse(readFileSync(file, "utf8")) as Profile, rows ? Number(rows) : 25));
}
