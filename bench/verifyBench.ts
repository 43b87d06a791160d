/**
 * Section 5: proof bundles verified per second by one `BundleVerifier` (blst), from file bytes — JSON
 * parsing included, as `shandu verify <dir>` does. Bundles come from a few batches, so most of them
 * share an attestation the verifier has already checked ("warm"); the first bundle of each batch pays
 * the pairing check ("cold"). The very first bundle in a process also verifies the genesis committee
 * (16 keys and proofs of possession) once.
 */
import {
  type Bls,
  BundleVerifier,
  buildBatch,
  bundleFor,
  bundleToJson,
  type Committee,
  encodeBundleBinary,
  type ProofBundle,
  readBundleBytes,
} from "@shandu/proofs";
import { attestBatch } from "@shandu/proofs/testing";
import { committee16, laneMessages } from "./fixtures.ts";
import { median, nowMs } from "./harness.ts";
import { fmtOps, fmtUs, heading, table, verdict } from "./table.ts";

export const BUNDLES_TARGET = 5_000;
const BATCHES = 8;
const PER_BATCH = 250;
const STEADY_PASSES = 4;

type Form = "json" | "binary" | "parsed";
const FORMS: readonly Form[] = ["json", "binary", "parsed"];
const FORM_LABEL: Record<Form, string> = {
  json: "verifyBytes(JSON)",
  binary: "verifyBytes(binary)",
  parsed: "verify(parsed bundle)",
};

export interface PassStats {
  form: Form;
  bundles: number;
  totalMs: number;
  bundlesPerSec: number;
  /** Per-bundle times (µs) of the first bundle of each batch. */
  coldUs: number[];
  /** Median per-bundle time of the others. */
  warmP50Us: number;
  warmMeanUs: number;
}

export interface VerifyResults {
  bundles: number;
  batches: number;
  committeeMembers: number;
  avgJsonBytes: number;
  avgBinaryBytes: number;
  /** The first pass in this process: includes the one-time committee check and JIT warm-up. */
  firstPass: PassStats & { firstBundleUs: number };
  /** Median of the steady passes (fresh verifier each, process warm), per form. */
  steady: Record<Form, { bundlesPerSec: number; coldP50Us: number; warmP50Us: number; warmBundlesPerSec: number; passes: PassStats[] }>;
  target: number;
  pass: boolean;
}

export function pass(bls: Bls, genesis: Committee, form: Form, inputs: readonly (Uint8Array | ProofBundle)[]): PassStats {
  const verifier = new BundleVerifier({ trustedGenesis: genesis, bls });
  const times = new Float64Array(inputs.length);
  const start = nowMs();
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    const t0 = nowMs();
    const report = input instanceof Uint8Array ? verifier.verifyBytes(input) : verifier.verify(input);
    times[i] = (nowMs() - t0) * 1000;
    if (!report.ok) throw new Error(`bundle ${i} did not verify: ${JSON.stringify(report.steps.find((s) => s.status === "failed"))}`);
  }
  const totalMs = nowMs() - start;
  const cold: number[] = [];
  const warm: number[] = [];
  times.forEach((t, i) => {
    (i % PER_BATCH === 0 ? cold : warm).push(t);
  });
  return {
    form,
    bundles: inputs.length,
    totalMs,
    bundlesPerSec: (inputs.length * 1000) / totalMs,
    coldUs: cold,
    warmP50Us: median(warm),
    warmMeanUs: warm.reduce((a, b) => a + b, 0) / warm.length,
  };
}

export interface BundleSet {
  genesis: Committee;
  parsed: ProofBundle[];
  /** Pretty-printed JSON bundle files, as written to disk. */
  json: Uint8Array[];
  binary: Uint8Array[];
}

/** {@link BATCHES} attested batches of {@link PER_BATCH} messages, one bundle per message, grouped by batch. */
export function makeBundles(bls: Bls, seed: string): BundleSet {
  const tc = committee16(bls, seed);
  const genesis = tc.committee;
  const signers = genesis.members.map((_, i) => i);
  const parsed: ProofBundle[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const batch = buildBatch(laneMessages(PER_BATCH, { firstNonce: 1n + BigInt(b * PER_BATCH) }));
    const attestation = attestBatch(bls, tc, signers, batch.header);
    for (let i = 0; i < PER_BATCH; i++) parsed.push(bundleFor(batch, i, attestation, { genesis, rotations: [] }));
  }
  const enc = new TextEncoder();
  return {
    genesis,
    parsed,
    json: parsed.map((b) => enc.encode(`${JSON.stringify(bundleToJson(b), null, 2)}\n`)),
    binary: parsed.map(encodeBundleBinary),
  };
}

export function runVerifyBench(bls: Bls, log: (s: string) => void): VerifyResults {
  const n = BATCHES * PER_BATCH;
  log(
    heading(
      `5. Bundles verified per second: ${n.toLocaleString("en-US")} bundles from ${BATCHES} batches, one BundleVerifier (blst) (target ≥ ${fmtOps(BUNDLES_TARGET)} bundles/s)`,
    ),
  );
  const { genesis, json, binary } = makeBundles(bls, "bench-verify");
  // What a verifier sees after reading a file: a freshly parsed bundle, nothing shared with the producer.
  const reparsed = json.map((bytes) => readBundleBytes(bytes));
  const inputs: Record<Form, readonly (Uint8Array | ProofBundle)[]> = { json, binary, parsed: reparsed };
  const avg = (xs: Uint8Array[]) => xs.reduce((s, x) => s + x.length, 0) / xs.length;

  const first = pass(bls, genesis, "json", json);
  const firstPass = { ...first, firstBundleUs: first.coldUs[0]! };

  const passes: Record<Form, PassStats[]> = { json: [], binary: [], parsed: [] };
  for (let p = 0; p < STEADY_PASSES; p++) {
    for (let j = 0; j < FORMS.length; j++) {
      const form = FORMS[(j + p) % FORMS.length]!;
      passes[form].push(pass(bls, genesis, form, inputs[form]));
    }
  }
  const steady = Object.fromEntries(
    FORMS.map((form) => {
      const ps = passes[form];
      const warmP50Us = median(ps.map((s) => s.warmP50Us));
      return [
        form,
        {
          bundlesPerSec: median(ps.map((s) => s.bundlesPerSec)),
          coldP50Us: median(ps.flatMap((s) => s.coldUs)),
          warmP50Us,
          warmBundlesPerSec: 1e6 / median(ps.map((s) => s.warmMeanUs)),
          passes: ps,
        },
      ];
    }),
  ) as VerifyResults["steady"];

  const result: VerifyResults = {
    bundles: n,
    batches: BATCHES,
    committeeMembers: genesis.members.length,
    avgJsonBytes: avg(json),
    avgBinaryBytes: avg(binary),
    firstPass,
    steady,
    target: BUNDLES_TARGET,
    pass: steady.json.bundlesPerSec >= BUNDLES_TARGET,
  };

  log(
    `bundle size: JSON ${Math.round(result.avgJsonBytes).toLocaleString("en-US")} B (pretty-printed), binary ${Math.round(result.avgBinaryBytes).toLocaleString("en-US")} B; ` +
      `${PER_BATCH} bundles per attestation`,
  );
  log(
    table(
      ["input", "bundles/s (all)", "cold p50 (1st of batch)", "warm p50", "warm bundles/s"],
      FORMS.map((f) => [
        FORM_LABEL[f],
        fmtOps(steady[f].bundlesPerSec),
        fmtUs(steady[f].coldP50Us),
        fmtUs(steady[f].warmP50Us),
        fmtOps(steady[f].warmBundlesPerSec),
      ]),
    ),
  );
  log(
    `steady state: median of ${STEADY_PASSES} passes per form, each with a fresh BundleVerifier (so each batch is cold once per pass), forms interleaved.`,
  );
  log(
    `first pass in this process (JSON): ${fmtOps(firstPass.bundlesPerSec)} bundles/s overall; first bundle ${fmtUs(firstPass.firstBundleUs)} ` +
      "(includes checking the 16 genesis keys and proofs of possession, once per process, and JIT warm-up)",
  );
  log(`bundles/s from JSON bytes: ${fmtOps(steady.json.bundlesPerSec)} — ${verdict(result.pass)}`);
  return result;
}
