/**
 * Sections 1–3: the cost of our BLS layer over raw `@chainsafe/blst`, the native backend against the
 * pure-JS one, and same-message aggregate verification as the committee grows.
 */
import * as blst from "@chainsafe/blst";
import { type Bls, sha256 } from "@shandu/proofs";
import { keySet } from "./fixtures.ts";
import { type CaseStats, compare, expectTrue } from "./harness.ts";
import { fmtOps, fmtRatio, fmtUs, heading, table, verdict } from "./table.ts";

/** Our layer may cost at most this much more time per call than raw blst. */
export const OVERHEAD_TARGET = 1.2;

export interface OverheadRow {
  op: string;
  raw: CaseStats;
  ours: CaseStats;
  /** ours/raw, from the median per-call times. */
  ratioP50: number;
  /** ours/raw, from the mean per-call times. */
  ratioMean: number;
  pass: boolean;
  /** Other raw variants measured alongside, for reference. */
  extra: CaseStats[];
}

export interface BackendRow {
  op: string;
  blst: CaseStats;
  noble: CaseStats;
  /** noble/blst time per call (p50). */
  ratioP50: number;
}

export interface CommitteeSizeRow {
  signers: number;
  ours: CaseStats;
  raw: CaseStats;
  /** ours/raw time per call (p50). */
  overheadP50: number;
  noble: CaseStats | null;
}

export interface BlsResults {
  overheadTarget: number;
  overhead: OverheadRow[];
  backends: BackendRow[];
  committeeSizes: CommitteeSizeRow[];
}

const SIZES = [4, 16, 100, 512] as const;
const NOBLE_SIZES = new Set([4, 16]);

export function runBlsBench(ours: Bls, noble: Bls, log: (s: string) => void): BlsResults {
  const msg = sha256(new TextEncoder().encode("shandu bench signing root"));
  const maxN = Math.max(...SIZES);
  const keys = keySet(ours, "bench-bls", maxN);
  const nobleHandles = keys.publicKeys.slice(0, 16).map((pk) => noble.publicKey(pk));
  const rawPks = keys.publicKeys.map((pk) => blst.PublicKey.fromBytes(pk, true));
  const sigs = keys.secretKeys.map((sk) => ours.sign(sk, msg));
  const aggOf = new Map(SIZES.map((n) => [n, ours.aggregateSignatures(sigs.slice(0, n))]));
  const sig0 = sigs[0]!;
  const agg16 = aggOf.get(16)!;
  const sigs16 = sigs.slice(0, 16);
  const rawPks16 = rawPks.slice(0, 16);
  const handles16 = keys.handles.slice(0, 16);
  const rawSig = (b: Uint8Array) => blst.Signature.fromBytes(b, true, true);

  // Every timed check must also give the right answer.
  expectTrue("raw verify", () => blst.verify(msg, rawPks[0]!, rawSig(sig0), false, false));
  expectTrue("bls.verify", () => ours.verify(keys.handles[0]!, msg, sig0));
  expectTrue("noble verify", () => noble.verify(nobleHandles[0]!, msg, sig0));
  for (const n of SIZES) {
    const agg = aggOf.get(n)!;
    expectTrue(`raw fastAggregateVerify(${n})`, () => blst.fastAggregateVerify(msg, rawPks.slice(0, n), rawSig(agg), false));
    expectTrue(`bls.fastAggregateVerify(${n})`, () => ours.fastAggregateVerify(keys.handles.slice(0, n), msg, agg));
  }
  expectTrue("noble fastAggregateVerify(16)", () => noble.fastAggregateVerify(nobleHandles, msg, agg16));
  expectTrue("aggregates agree", () => {
    const a = blst.aggregateSignatures(sigs16.map(rawSig), false).toBytes(true);
    const b = ours.aggregateSignatures(sigs16);
    return a.every((x, i) => x === b[i]);
  });

  // 1. Overhead of our layer
  log(heading(`1. Our BLS layer vs raw @chainsafe/blst (target: within ${OVERHEAD_TARGET}× of raw)`));
  log("raw: keys pre-decoded as blst.PublicKey, signature decoded from bytes with subgroup check on every call");
  const overhead: OverheadRow[] = [];
  const overheadCase = (op: string, raw: () => unknown, ourFn: () => unknown, extra: { name: string; fn: () => unknown }[] = []) => {
    const [r, o, ...x] = compare([{ name: "raw blst", fn: raw }, { name: "Bls (blst)", fn: ourFn }, ...extra], { budgetMs: 4000 });
    const ratioP50 = o!.p50Us / r!.p50Us;
    overhead.push({ op, raw: r!, ours: o!, ratioP50, ratioMean: o!.meanUs / r!.meanUs, pass: ratioP50 <= OVERHEAD_TARGET, extra: x });
  };
  overheadCase(
    "verify",
    () => blst.verify(msg, rawPks[0]!, rawSig(sig0), false, false),
    () => ours.verify(keys.handles[0]!, msg, sig0),
  );
  overheadCase(
    "fastAggregateVerify (16)",
    () => blst.fastAggregateVerify(msg, rawPks16, rawSig(agg16), false),
    () => ours.fastAggregateVerify(handles16, msg, agg16),
  );
  overheadCase(
    "aggregateSignatures (16)",
    () => blst.aggregateSignatures(sigs16.map(rawSig), false).toBytes(true),
    () => ours.aggregateSignatures(sigs16),
    [{ name: "raw aggregateSerializedSignatures", fn: () => blst.aggregateSerializedSignatures(sigs16, true).toBytes(true) }],
  );
  log(
    table(
      ["operation", "raw ops/s", "raw p50", "ours ops/s", "ours p50", "ours/raw p50", "ours/raw mean", "target"],
      overhead.map((r) => [
        r.op,
        fmtOps(r.raw.opsPerSec),
        fmtUs(r.raw.p50Us),
        fmtOps(r.ours.opsPerSec),
        fmtUs(r.ours.p50Us),
        fmtRatio(r.ratioP50),
        fmtRatio(r.ratioMean),
        verdict(r.pass),
      ]),
    ),
  );
  for (const r of overhead) {
    for (const x of r.extra) {
      log(`  for reference, ${r.op} via ${x.name}: ${fmtOps(x.opsPerSec)} ops/s, p50 ${fmtUs(x.p50Us)}`);
    }
  }

  // 2. blst vs noble
  log(heading("2. Backends: blst (native) vs noble (pure JS), through our layer"));
  const sk0 = keys.secretKeys[0]!;
  const backends: BackendRow[] = [];
  const backendCase = (op: string, b: () => unknown, n: () => unknown) => {
    const [sb, sn] = compare(
      [
        { name: "blst", fn: b },
        { name: "noble", fn: n },
      ],
      { budgetMs: 5000, warmupMs: 300 },
    );
    backends.push({ op, blst: sb!, noble: sn!, ratioP50: sn!.p50Us / sb!.p50Us });
  };
  backendCase(
    "sign",
    () => ours.sign(sk0, msg),
    () => noble.sign(sk0, msg),
  );
  backendCase(
    "verify",
    () => ours.verify(keys.handles[0]!, msg, sig0),
    () => noble.verify(nobleHandles[0]!, msg, sig0),
  );
  backendCase(
    "fastAggregateVerify (16)",
    () => ours.fastAggregateVerify(handles16, msg, agg16),
    () => noble.fastAggregateVerify(nobleHandles, msg, agg16),
  );
  log(
    table(
      ["operation", "blst ops/s", "blst p50", "noble ops/s", "noble p50", "noble/blst"],
      backends.map((r) => [
        r.op,
        fmtOps(r.blst.opsPerSec),
        fmtUs(r.blst.p50Us),
        fmtOps(r.noble.opsPerSec),
        fmtUs(r.noble.p50Us),
        fmtRatio(r.ratioP50),
      ]),
    ),
  );

  // 3. Committee sizes
  log(heading("3. fastAggregateVerify by committee size (all members signed)"));
  const committeeSizes: CommitteeSizeRow[] = [];
  for (const n of SIZES) {
    const handles = keys.handles.slice(0, n);
    const pks = rawPks.slice(0, n);
    const agg = aggOf.get(n)!;
    const [o, r] = compare(
      [
        { name: `Bls (blst) ${n}`, fn: () => ours.fastAggregateVerify(handles, msg, agg) },
        { name: `raw blst ${n}`, fn: () => blst.fastAggregateVerify(msg, pks, rawSig(agg), false) },
      ],
      { budgetMs: 2500 },
    );
    let nb: CaseStats | null = null;
    if (NOBLE_SIZES.has(n)) {
      const nh = nobleHandles.slice(0, n);
      [nb = null] = compare([{ name: `noble ${n}`, fn: () => noble.fastAggregateVerify(nh, msg, agg) }], { budgetMs: 2500, warmupMs: 300 });
    }
    committeeSizes.push({ signers: n, ours: o!, raw: r!, overheadP50: o!.p50Us / r!.p50Us, noble: nb });
  }
  log(
    table(
      ["signers", "Bls(blst) ops/s", "p50", "raw blst p50", "ours/raw", "noble ops/s", "noble p50", "noble/blst"],
      committeeSizes.map((r) => [
        String(r.signers),
        fmtOps(r.ours.opsPerSec),
        fmtUs(r.ours.p50Us),
        fmtUs(r.raw.p50Us),
        fmtRatio(r.overheadP50),
        r.noble ? fmtOps(r.noble.opsPerSec) : "skipped",
        r.noble ? fmtUs(r.noble.p50Us) : "-",
        r.noble ? fmtRatio(r.noble.p50Us / r.ours.p50Us) : "-",
      ]),
    ),
  );
  log("noble is measured for 4 and 16 signers only (its cost is one pairing check plus one G1 addition per signer).");

  return { overheadTarget: OVERHEAD_TARGET, overhead, backends, committeeSizes };
}
