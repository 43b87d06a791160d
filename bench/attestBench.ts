/**
 * Section 4: the producing side end to end. For one lane of 10,000 messages with contiguous nonces:
 * message ids and the batch tree (`buildBatch`), the signing root, 16 partial signatures (one
 * `bls.sign` per member), `aggregatePartials` (which batch-verifies the partials), and one proof bundle
 * per message (`bundleFor`, i.e. an inclusion proof each).
 */
import {
  aggregatePartials,
  type Bls,
  batchSigningRoot,
  buildBatch,
  bundleFor,
  encodeMessage,
  MerkleTree,
  messageIdOfEncoding,
  type PartialSignature,
  type ProofBundle,
  verifyCommittee,
} from "@shandu/proofs";
import { committee16, laneMessages } from "./fixtures.ts";
import { median, nowMs } from "./harness.ts";
import { fmtOps, fmtPct, heading, table, verdict } from "./table.ts";

export const RECORDS_TARGET = 100_000;
const RECORDS = 10_000;
const WARMUP_RUNS = 2;
const TIMED_RUNS = 7;

const PHASES = ["buildBatch (ids + tree)", "signing root", "sign (16 partials)", "aggregatePartials", "proofs (bundleFor × n)"] as const;
type Phase = (typeof PHASES)[number];

export interface AttestResults {
  records: number;
  committeeMembers: number;
  runs: number;
  /** Median over runs of records / total time. */
  recordsPerSec: number;
  bestRecordsPerSec: number;
  target: number;
  pass: boolean;
  /** Median time per phase (ms) and its share of the summed medians. */
  phases: { phase: Phase; medianMs: number; share: number }[];
  /** buildBatch split into its two parts, measured on their own (median ms). */
  buildBatchSplit: { idsMs: number; treeMs: number };
  /** Inclusion proofs alone (`tree.prove([i])` for every i), median ms. */
  proveOnlyMs: number;
}

export function runAttestBench(bls: Bls, log: (s: string) => void): AttestResults {
  log(
    heading(
      `4. Attest and prove: ${RECORDS.toLocaleString("en-US")} messages, 16-member committee (target ≥ ${fmtOps(RECORDS_TARGET)} records/s)`,
    ),
  );
  const tc = committee16(bls, "bench-attest");
  const vc = verifyCommittee(tc.committee, bls);
  const committees = { genesis: tc.committee, rotations: [] };
  const messages = laneMessages(RECORDS);

  const runOnce = (): Record<Phase, number> => {
    const t0 = nowMs();
    const batch = buildBatch(messages);
    const t1 = nowMs();
    const root = batchSigningRoot(vc.hash, vc.epoch, batch.header);
    const t2 = nowMs();
    const partials: PartialSignature[] = tc.secretKeys.map((sk, memberIndex) => ({ memberIndex, signature: bls.sign(sk, root) }));
    const t3 = nowMs();
    const attestation = aggregatePartials(vc, root, partials, bls);
    const t4 = nowMs();
    const bundles: ProofBundle[] = new Array(RECORDS);
    for (let i = 0; i < RECORDS; i++) bundles[i] = bundleFor(batch, i, attestation, committees);
    const t5 = nowMs();
    if (bundles[RECORDS - 1]!.inclusion.siblings.length === 0) throw new Error("empty inclusion proof");
    return {
      "buildBatch (ids + tree)": t1 - t0,
      "signing root": t2 - t1,
      "sign (16 partials)": t3 - t2,
      aggregatePartials: t4 - t3,
      "proofs (bundleFor × n)": t5 - t4,
    };
  };

  for (let i = 0; i < WARMUP_RUNS; i++) runOnce();
  const runs: Record<Phase, number>[] = [];
  for (let i = 0; i < TIMED_RUNS; i++) runs.push(runOnce());

  const totals = runs.map((r) => PHASES.reduce((s, p) => s + r[p], 0));
  const perSec = totals.map((ms) => (RECORDS * 1000) / ms);
  const medians = PHASES.map((p) => median(runs.map((r) => r[p])));
  const sumMedians = medians.reduce((a, b) => a + b, 0);
  const phases = PHASES.map((phase, i) => ({ phase, medianMs: medians[i]!, share: medians[i]! / sumMedians }));

  // Where buildBatch's time goes, and proofs without the bundle wrapper.
  const split = { ids: [] as number[], tree: [] as number[], prove: [] as number[] };
  for (let i = 0; i < 5; i++) {
    const t0 = nowMs();
    const ids = messages.map((m) => messageIdOfEncoding(encodeMessage(m)));
    const t1 = nowMs();
    const tree = MerkleTree.fromLeaves(ids);
    const t2 = nowMs();
    let siblings = 0;
    for (let j = 0; j < RECORDS; j++) siblings += tree.prove([j]).siblings.length;
    const t3 = nowMs();
    if (siblings === 0) throw new Error("empty inclusion proofs");
    split.ids.push(t1 - t0);
    split.tree.push(t2 - t1);
    split.prove.push(t3 - t2);
  }

  const recordsPerSec = median(perSec);
  const result: AttestResults = {
    records: RECORDS,
    committeeMembers: tc.committee.members.length,
    runs: TIMED_RUNS,
    recordsPerSec,
    bestRecordsPerSec: Math.max(...perSec),
    target: RECORDS_TARGET,
    pass: recordsPerSec >= RECORDS_TARGET,
    phases,
    buildBatchSplit: { idsMs: median(split.ids), treeMs: median(split.tree) },
    proveOnlyMs: median(split.prove),
  };

  log(
    table(
      ["phase", "median ms", "µs/record", "share"],
      [
        ...phases.map((p) => [p.phase, p.medianMs.toFixed(2), ((p.medianMs * 1000) / RECORDS).toFixed(2), fmtPct(p.share)]),
        ["total (sum of medians)", sumMedians.toFixed(2), ((sumMedians * 1000) / RECORDS).toFixed(2), "100.0 %"],
      ],
    ),
  );
  log(
    `  within buildBatch: ids (encode + SHA-256) ${result.buildBatchSplit.idsMs.toFixed(2)} ms, tree ${result.buildBatchSplit.treeMs.toFixed(2)} ms; ` +
      `tree.prove([i]) alone for all ${RECORDS.toLocaleString("en-US")}: ${result.proveOnlyMs.toFixed(2)} ms`,
  );
  log(
    `throughput: ${fmtOps(recordsPerSec)} records/s (median of ${TIMED_RUNS} runs, best ${fmtOps(result.bestRecordsPerSec)}) — ${verdict(result.pass)}`,
  );
  return result;
}
