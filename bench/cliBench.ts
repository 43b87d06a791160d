/**
 * Section 6: `shandu verify <dir>` end to end, as an auditor runs it — a child process on the pinned Node,
 * reading a directory of JSON bundle files with `genesis.json` beside them. The wall time includes process
 * start-up and the one-time check of the genesis committee's keys and proofs of possession, so the
 * figure is lower than section 5's; both are printed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Bls, buildBatch, bundleFor, bundleToJson, committeeToJson } from "@shandu/proofs";
import { attestBatch } from "@shandu/proofs/testing";
import { committee16, laneMessages } from "./fixtures.ts";
import { nowMs } from "./harness.ts";
import { fmtOps, heading } from "./table.ts";

const BATCHES = 8;
const PER_BATCH = 250;
const shandu = join(dirname(fileURLToPath(import.meta.url)), "../cli/bin/shandu.js");

export interface CliResults {
  bundles: number;
  wallMs: number;
  bundlesPerSec: number;
  /** `shandu verify` on a directory of one bundle: start-up, the committee check and one cold bundle. */
  startupMs: number;
}

function run(args: string[]): number {
  const t0 = nowMs();
  const r = spawnSync(process.execPath, [shandu, "verify", ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  const ms = nowMs() - t0;
  if (r.status !== 0) throw new Error(`shandu verify ${args.join(" ")} exited ${r.status}: ${r.stderr.slice(0, 500)}`);
  return ms;
}

export function runCliBench(bls: Bls, log: (s: string) => void): CliResults {
  const dir = mkdtempSync(join(tmpdir(), "shandu-bench-cli-"));
  try {
    const tc = committee16(bls, "bench-cli");
    writeFileSync(join(dir, "genesis.json"), JSON.stringify(committeeToJson(tc.committee)));
    const signers = Array.from({ length: 16 }, (_, i) => i);
    for (let b = 0; b < BATCHES; b++) {
      const batch = buildBatch(laneMessages(PER_BATCH, { firstNonce: BigInt(1 + b * PER_BATCH) }));
      const att = attestBatch(bls, tc, signers, batch.header);
      for (let i = 0; i < PER_BATCH; i++) {
        const bundle = bundleFor(batch, i, att, { genesis: tc.committee, rotations: [] });
        writeFileSync(join(dir, `b${b}-${String(i).padStart(4, "0")}.json`), JSON.stringify(bundleToJson(bundle)));
      }
    }
    const empty = mkdtempSync(join(tmpdir(), "shandu-bench-cli-one-"));
    writeFileSync(join(empty, "genesis.json"), JSON.stringify(committeeToJson(tc.committee)));
    writeFileSync(join(empty, "b0-0000.json"), readFileSync(join(dir, "b0-0000.json")));
    let startupMs: number;
    try {
      run([empty, "--json"]); // warm the file cache
      startupMs = run([empty, "--json"]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    run([dir, "--json"]);
    const wallMs = run([dir, "--json"]);
    const bundles = BATCHES * PER_BATCH;
    const result = { bundles, wallMs, bundlesPerSec: bundles / (wallMs / 1000), startupMs };
    log(heading(`6. shandu verify <dir>: ${bundles} JSON bundle files, 16-member committee, one child process`));
    log(`wall time ${wallMs.toFixed(0)} ms → ${fmtOps(result.bundlesPerSec)} bundles/s end to end`);
    log(`of which start-up and the genesis check (same command on a directory of one bundle): ${startupMs.toFixed(0)} ms`);
    log(`without start-up: ${fmtOps(bundles / ((wallMs - startupMs) / 1000))} bundles/s`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
