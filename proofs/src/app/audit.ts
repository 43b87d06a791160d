/**
 * The auditor's check of the 善度 application (docs/audit.md): from proof bundles alone, with a trusted
 * genesis and a manifest of the deployment, that every cross-alliance redemption went through each of
 * its steps on the chains it claims, and that each settlement batch is exactly the netting of the
 * proven confirmations and is the root the committee attested.
 *
 * A redemption's steps, each proven by a bundle that passes every verifier step, evidence included:
 *
 * | step          | bundle                               | what must be in the proven receipt          |
 * |---------------|--------------------------------------|---------------------------------------------|
 * | lock          | AUTHORISE (A → B), source evidence   | `RedemptionRequested(id)` by A's contract   |
 * | authorisation | AUTHORISE, destination evidence      | `RedemptionAuthorised(id)` (or `RedemptionRejected(id)` on arrival) by B's |
 * | answer        | CONFIRM / REJECT (B → A), source     | `RedemptionConfirmed(id)` / `RedemptionRejected(id)` by B's |
 * |               | or EXPIRED (A → B), destination      | `RedemptionExpired(id)` by B's (no answer in time) |
 * | finalisation  | CONFIRM / REJECT, destination        | `RedemptionBurned(id)` (or `LateConfirmation(id)`) / `RedemptionRefunded(id)` by A's |
 * |               | or EXPIRED, source                   | `RedemptionRefunded(id)` by A's (the refund sent the notice) |
 *
 * Messages count only when sent by the redemption contract the manifest names for their source chain to
 * the one it names for their destination: the manifest plays the part the genesis plays for committees
 * (the auditor takes it from the deployment record, out of band). A redemption whose burn and refund are
 * both proven fails `DOUBLE_FINALISATION`; a bundle that fails verification fails the step it was to
 * prove, with the verifier's step and code.
 *
 * The settlement of a window is recomputed from the confirmations proven above (confirmation time: the
 * timestamp of B's block, from the proven header) with {@link checkSettlement}; the batch must also be
 * the root a settlement contract of the manifest sent, in a bundle that verifies.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import type { ProofBundle } from "../bundle/bundle.ts";
import type { BundleReport, BundleVerifier, StepName } from "../bundle/verify.ts";
import { bytesEqual, toHex, utf8 } from "../bytes.ts";
import { ShanduError } from "../errors.ts";
import { EVM_RECEIPT_EVIDENCE_KIND } from "../evidence/evm.ts";
import { EVM_DELIVERY_EVIDENCE_KIND } from "../evidence/evmDelivery.ts";
import { logParts, parseEvmEvidence, verifyEvmInclusion } from "../evidence/evmInclusion.ts";
import { rlpDecode, rlpUint } from "../evidence/rlp.ts";
import { arr, hex, type Json, obj, str, u64 } from "../json.ts";
import { decodeRedemptionPayload, decodeSettlementRootPayload, type RedemptionPayload, reasonText } from "./redemption.ts";
import {
  type AllianceAgreement,
  type ConfirmedRedemption,
  checkSettlement,
  type SettlementBatch,
  type SettlementWindow,
} from "./settlement.ts";
import { agreementFromJson, agreementToJson, windowFromJson, windowToJson } from "./settlementJson.ts";

export const AUDIT_MANIFEST_FORMAT = "shandu.audit-manifest";

export interface AuditChain {
  chainId: bigint;
  name: string;
  /** The chain's `ShanduRedemption` (20 bytes). */
  redemption: Uint8Array;
  /** The chain's `ShanduSettlement`, when it has one. */
  settlement?: Uint8Array;
}

/** An institution of the agreement and its account on one chain. */
export interface AuditInstitution {
  id: string;
  chainId: bigint;
  account: Uint8Array;
}

export interface AuditCreditClass {
  /** 32 bytes, as on chain. */
  creditClass: Uint8Array;
  /** The name the agreement's rates use. */
  name: string;
  /** Institution id of the class's sponsor (who pays for its redemptions). */
  sponsor: string;
}

export interface AuditWindow {
  window: SettlementWindow;
  /** Path of the batch file, relative to the manifest. */
  batch: string;
}

export interface AuditManifest {
  chains: AuditChain[];
  institutions: AuditInstitution[];
  creditClasses: AuditCreditClass[];
  agreement: AllianceAgreement;
  windows: AuditWindow[];
}

export function auditManifestToJson(m: AuditManifest): Json {
  return {
    format: AUDIT_MANIFEST_FORMAT,
    version: 1,
    chains: m.chains.map((c) => ({
      chainId: c.chainId.toString(),
      name: c.name,
      redemption: toHex(c.redemption),
      ...(c.settlement ? { settlement: toHex(c.settlement) } : {}),
    })),
    institutions: m.institutions.map((i) => ({ id: i.id, chainId: i.chainId.toString(), account: toHex(i.account) })),
    creditClasses: m.creditClasses.map((c) => ({ creditClass: toHex(c.creditClass), name: c.name, sponsor: c.sponsor })),
    agreement: agreementToJson(m.agreement),
    windows: m.windows.map((w) => ({ window: windowToJson(w.window), batch: w.batch })),
  };
}

export function auditManifestFromJson(v: unknown): AuditManifest {
  const o = obj(v, "manifest");
  if (o.format !== AUDIT_MANIFEST_FORMAT || o.version !== 1) {
    throw new ShanduError("SCHEMA", `manifest: expected format "${AUDIT_MANIFEST_FORMAT}", version 1`, {
      facts: { path: "manifest.format" },
    });
  }
  return {
    chains: arr(o.chains, "manifest.chains", 64).map((x, i) => {
      const p = `manifest.chains[${i}]`;
      const c = obj(x, p);
      return {
        chainId: u64(c.chainId, `${p}.chainId`),
        name: str(c.name, `${p}.name`, 64),
        redemption: hex(c.redemption, `${p}.redemption`, 20),
        ...(c.settlement === undefined ? {} : { settlement: hex(c.settlement, `${p}.settlement`, 20) }),
      };
    }),
    institutions: arr(o.institutions, "manifest.institutions", 4096).map((x, i) => {
      const p = `manifest.institutions[${i}]`;
      const c = obj(x, p);
      return { id: str(c.id, `${p}.id`), chainId: u64(c.chainId, `${p}.chainId`), account: hex(c.account, `${p}.account`, 20) };
    }),
    creditClasses: arr(o.creditClasses, "manifest.creditClasses", 4096).map((x, i) => {
      const p = `manifest.creditClasses[${i}]`;
      const c = obj(x, p);
      return {
        creditClass: hex(c.creditClass, `${p}.creditClass`, 32),
        name: str(c.name, `${p}.name`),
        sponsor: str(c.sponsor, `${p}.sponsor`),
      };
    }),
    agreement: agreementFromJson(o.agreement, "manifest.agreement"),
    windows: arr(o.windows, "manifest.windows", 4096).map((x, i) => {
      const p = `manifest.windows[${i}]`;
      const w = obj(x, p);
      return { window: windowFromJson(w.window, `${p}.window`), batch: str(w.batch, `${p}.batch`, 1024) };
    }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Events read from proven receipts

const topic = (signature: string) => keccak_256(utf8(signature));

/** The `ShanduRedemption` events the audit looks for, by their first topic. The id is always the first indexed argument. */
export const REDEMPTION_EVENTS = {
  requested: topic("RedemptionRequested(bytes32,address,uint64,address,bytes32,uint256,uint64,uint64)"),
  authorised: topic("RedemptionAuthorised(bytes32,uint64,address,address,bytes32,uint256,uint64)"),
  confirmed: topic("RedemptionConfirmed(bytes32,address)"),
  rejected: topic("RedemptionRejected(bytes32,bytes32)"),
  burned: topic("RedemptionBurned(bytes32)"),
  refunded: topic("RedemptionRefunded(bytes32,bytes32)"),
  lateConfirmation: topic("LateConfirmation(bytes32)"),
  expired: topic("RedemptionExpired(bytes32)"),
} as const;
export type RedemptionEventName = keyof typeof REDEMPTION_EVENTS;

interface ProvenEvents {
  /** Block timestamp, seconds. */
  timestamp: bigint;
  blockNumber: bigint;
  logs: { address: Uint8Array; topics: Uint8Array[]; data: Uint8Array }[];
}

const HEADER_TIMESTAMP = 11;

/** The logs of the receipt an EVM evidence proves (verified again here; cheap next to the pairing). */
function provenEvents(evidence: ProofBundle["sourceEvidence"]): ProvenEvents {
  if (evidence === null) throw new ShanduError("EVIDENCE_MISSING", "the bundle carries no evidence for this step");
  if (evidence.kind !== EVM_RECEIPT_EVIDENCE_KIND && evidence.kind !== EVM_DELIVERY_EVIDENCE_KIND) {
    throw new ShanduError(
      "EVIDENCE_KIND_UNSUPPORTED",
      `the audit reads application events from EVM evidence only, not "${evidence.kind}"`,
      {
        facts: { kind: evidence.kind },
      },
    );
  }
  const ev = parseEvmEvidence(evidence, evidence.kind, () => ({}));
  const proven = verifyEvmInclusion(ev);
  const header = rlpDecode(ev.header, "block header") as Uint8Array[];
  const ts = header[HEADER_TIMESTAMP];
  const timestamp = ts === undefined ? null : rlpUint(ts);
  if (timestamp === null) throw new ShanduError("HEADER_INVALID", "the block header has no valid timestamp");
  const logs = proven.logs.map(logParts).filter((l) => l !== null);
  return { timestamp, blockNumber: proven.blockNumber, logs };
}

function hasEvent(p: ProvenEvents, contract: Uint8Array, name: RedemptionEventName, id: Uint8Array): boolean {
  return p.logs.some(
    (l) =>
      bytesEqual(l.address, contract) &&
      l.topics.length >= 2 &&
      bytesEqual(l.topics[0]!, REDEMPTION_EVENTS[name]) &&
      bytesEqual(l.topics[1]!, id),
  );
}

// ---------------------------------------------------------------------------------------------------
// Report

export type AuditStepName = "lock" | "authorisation" | "answer" | "finalisation";

export interface AuditStep {
  step: AuditStepName;
  status: "proven" | "failed" | "missing";
  detail: string;
  code?: string;
  /** The bundle that proves (or failed to prove) it. */
  bundle?: string;
}

export type RedemptionOutcome = "burned" | "refunded-rejected" | "refunded-timeout" | "late-confirmation" | "pending" | "failed";

export interface RedemptionAudit {
  id: string;
  from: string;
  to: string;
  user: string;
  platform: string;
  creditClass: string;
  amount: bigint;
  outcome: RedemptionOutcome;
  steps: AuditStep[];
  /** B's block timestamp of the proven confirmation. */
  confirmedAt?: bigint;
}

export interface SettlementAudit {
  windowId: bigint;
  status: "proven" | "failed";
  detail: string;
  code?: string;
  confirmations: number;
  /** Chains the attested root was delivered to, by name. */
  deliveredTo: string[];
}

export interface BundleFailure {
  bundle: string;
  step: string;
  code: string;
  detail: string;
}

export interface AuditReport {
  ok: boolean;
  bundles: { total: number; verified: number; failed: BundleFailure[]; unrelated: number };
  redemptions: RedemptionAudit[];
  settlements: SettlementAudit[];
}

/** One input bundle: parsed, or the reason it could not be read. */
export interface AuditInput {
  name: string;
  bundle: ProofBundle | null;
  readError?: { code: string; detail: string };
}

interface Checked {
  name: string;
  bundle: ProofBundle;
  report: BundleReport;
  /** Format through attestation and both evidence steps passed. */
  ok: boolean;
  failure?: BundleFailure;
}

function checkBundle(verifier: BundleVerifier, name: string, bundle: ProofBundle): Checked {
  const report = verifier.verify(bundle);
  const need: StepName[] = ["source-evidence", "destination-evidence"];
  const failed =
    report.steps.find((s) => s.status === "failed") ?? report.steps.find((s) => need.includes(s.step) && s.status !== "passed");
  if (report.ok && !failed) return { name, bundle, report, ok: true };
  const f = failed ?? report.steps.find((s) => s.status !== "passed")!;
  return {
    name,
    bundle,
    report,
    ok: false,
    failure: { bundle: name, step: f.step, code: f.code ?? "NOT_CHECKED", detail: f.detail },
  };
}

interface Leg {
  checked: Checked;
  payload: RedemptionPayload;
}

/** Runs the audit. `batches` holds the batch of each manifest window, by window id (absent: not provided). */
export function auditApplication(
  inputs: readonly AuditInput[],
  manifest: AuditManifest,
  verifier: BundleVerifier,
  batches: ReadonlyMap<bigint, SettlementBatch | { readError: string }>,
): AuditReport {
  const chains = new Map(manifest.chains.map((c) => [c.chainId, c]));
  const failedBundles: BundleFailure[] = [];
  let verified = 0;
  let unrelated = 0;
  const legs = new Map<string, { authorise?: Leg; answers: Leg[]; expired?: Leg }>();
  const settlementBundles: Checked[] = [];
  const legsOf = (id: Uint8Array) => {
    const k = toHex(id);
    const known = legs.get(k);
    if (known) return known;
    const fresh: { authorise?: Leg; answers: Leg[]; expired?: Leg } = { answers: [] };
    legs.set(k, fresh);
    return fresh;
  };

  for (const input of inputs) {
    if (!input.bundle) {
      failedBundles.push({
        bundle: input.name,
        step: "format",
        code: input.readError?.code ?? "UNREADABLE",
        detail: input.readError?.detail ?? "",
      });
      continue;
    }
    const m = input.bundle.message;
    const src = chains.get(m.sourceChainId);
    const dst = chains.get(m.destinationChainId);
    const isRedemption = src && dst && bytesEqual(m.sender, src.redemption) && bytesEqual(m.recipient, dst.redemption);
    const isSettlement =
      src?.settlement && dst?.settlement && bytesEqual(m.sender, src.settlement) && bytesEqual(m.recipient, dst.settlement);
    if (!isRedemption && !isSettlement) {
      unrelated++;
      continue;
    }
    const checked = checkBundle(verifier, input.name, input.bundle);
    if (checked.ok) verified++;
    else failedBundles.push(checked.failure!);
    if (isSettlement) {
      settlementBundles.push(checked);
      continue;
    }
    let payload: RedemptionPayload;
    try {
      payload = decodeRedemptionPayload(m.payload);
    } catch (e) {
      failedBundles.push({ bundle: input.name, step: "message", code: e instanceof ShanduError ? e.code : "INTERNAL", detail: String(e) });
      continue;
    }
    const l = legsOf(payload.id);
    if (payload.op === "authorise") l.authorise = { checked, payload };
    else if (payload.op === "expired") l.expired = { checked, payload };
    else l.answers.push({ checked, payload });
  }

  const redemptions: RedemptionAudit[] = [];
  for (const [id, l] of legs) redemptions.push(auditRedemption(id, l, chains));
  redemptions.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

  const settlements = manifest.windows.map((w) => auditWindow(w, manifest, redemptions, settlementBundles, batches, chains));
  const ok =
    failedBundles.length === 0 && redemptions.every((r) => r.outcome !== "failed") && settlements.every((s) => s.status === "proven");
  return { ok, bundles: { total: inputs.length, verified, failed: failedBundles, unrelated }, redemptions, settlements };
}

function stepFailure(step: AuditStepName, leg: Leg): AuditStep | null {
  const f = leg.checked.failure;
  if (!f) return null;
  return {
    step,
    status: "failed",
    code: f.code,
    detail: `${leg.checked.name} does not verify at ${f.step}: ${f.detail}`,
    bundle: leg.checked.name,
  };
}

function eventStep(
  step: AuditStepName,
  leg: Leg,
  side: "source" | "destination",
  contract: Uint8Array,
  id: Uint8Array,
  want: readonly RedemptionEventName[],
): { step: AuditStep; found?: RedemptionEventName; events?: ProvenEvents } {
  const failed = stepFailure(step, leg);
  if (failed) return { step: failed };
  let events: ProvenEvents;
  try {
    events = provenEvents(side === "source" ? leg.checked.bundle.sourceEvidence : leg.checked.bundle.destinationEvidence);
  } catch (e) {
    const code = e instanceof ShanduError ? e.code : "INTERNAL";
    return { step: { step, status: "failed", code, detail: `${leg.checked.name}: ${(e as Error).message}`, bundle: leg.checked.name } };
  }
  const found = want.find((w) => hasEvent(events, contract, w, id));
  if (!found) {
    return {
      step: {
        step,
        status: "failed",
        code: "EVENT_NOT_PROVEN",
        detail: `${leg.checked.name}: the proven ${side} receipt has no ${want.join(" or ")} for this redemption`,
        bundle: leg.checked.name,
      },
    };
  }
  return {
    step: {
      step,
      status: "proven",
      detail: `${found} in block ${events.blockNumber} (${side} evidence of ${leg.checked.name})`,
      bundle: leg.checked.name,
    },
    found,
    events,
  };
}

function auditRedemption(
  id: string,
  l: { authorise?: Leg; answers: Leg[]; expired?: Leg },
  chains: ReadonlyMap<bigint, AuditChain>,
): RedemptionAudit {
  const idBytes = l.authorise?.payload.id ?? l.answers[0]?.payload.id ?? l.expired!.payload.id;
  const steps: AuditStep[] = [];
  const a = l.authorise;
  const base = {
    id,
    from: "?",
    to: "?",
    user: "?",
    platform: "?",
    creditClass: "?",
    amount: 0n,
  };
  if (a?.payload.op !== "authorise") {
    steps.push({ step: "lock", status: "missing", code: "LOCK_NOT_PROVEN", detail: "no AUTHORISE bundle for this redemption" });
    return { ...base, outcome: "failed", steps };
  }
  const m = a.checked.bundle.message;
  const A = chains.get(m.sourceChainId)!;
  const B = chains.get(m.destinationChainId)!;
  const info = {
    ...base,
    from: A.name,
    to: B.name,
    user: toHex(a.payload.user),
    platform: toHex(a.payload.platform),
    creditClass: toHex(a.payload.creditClass),
    amount: a.payload.amount,
  };
  const done = (outcome: RedemptionOutcome, confirmedAt?: bigint): RedemptionAudit => ({
    ...info,
    outcome: steps.some((s) => s.status !== "proven") ? "failed" : outcome,
    steps,
    ...(confirmedAt === undefined ? {} : { confirmedAt }),
  });

  // lock (A) and authorisation (B), both from the AUTHORISE bundle.
  const lock = eventStep("lock", a, "source", A.redemption, idBytes, ["requested"]);
  steps.push(lock.step);
  const auth = eventStep("authorisation", a, "destination", B.redemption, idBytes, ["authorised", "rejected"]);
  steps.push(auth.step);

  // Answers must travel the reverse lane.
  for (const ans of l.answers) {
    const am = ans.checked.bundle.message;
    if (am.sourceChainId !== B.chainId || am.destinationChainId !== A.chainId) {
      steps.push({
        step: "answer",
        status: "failed",
        code: "ANSWER_CHAIN_MISMATCH",
        detail: `${ans.checked.name} answers from chain ${am.sourceChainId} a redemption sent to ${B.chainId}`,
        bundle: ans.checked.name,
      });
      return done("failed");
    }
  }
  if (l.expired) {
    const em = l.expired.checked.bundle.message;
    if (em.sourceChainId !== A.chainId || em.destinationChainId !== B.chainId) {
      steps.push({
        step: "answer",
        status: "failed",
        code: "ANSWER_CHAIN_MISMATCH",
        detail: `${l.expired.checked.name} is not on the lane A → B`,
        bundle: l.expired.checked.name,
      });
      return done("failed");
    }
  }
  const confirm = l.answers.find((x) => x.payload.op === "confirm");
  const reject = l.answers.find((x) => x.payload.op === "reject");
  if (confirm && reject) {
    steps.push({
      step: "answer",
      status: "failed",
      code: "CONFLICTING_ANSWERS",
      detail: `both ${confirm.checked.name} and ${reject.checked.name} answer it`,
    });
    return done("failed");
  }

  // Finalisations proven anywhere (to catch a burn and a refund of the same lock).
  let burned = false;
  let refunded = false;
  let outcome: RedemptionOutcome = "pending";
  let confirmedAt: bigint | undefined;

  if (l.expired) {
    // B stopped the redemption on the attested notice; A refunded in the transaction that sent it.
    const noted = eventStep("answer", l.expired, "destination", B.redemption, idBytes, ["expired"]);
    steps.push({ ...noted.step, detail: `no answer in time: ${noted.step.detail}` });
    const fin = eventStep("finalisation", l.expired, "source", A.redemption, idBytes, ["refunded"]);
    steps.push(fin.step);
    if (fin.found) {
      refunded = true;
      outcome = "refunded-timeout";
    }
  }
  if (confirm) {
    const ans = eventStep("answer", confirm, "source", B.redemption, idBytes, ["confirmed"]);
    steps.push(ans.step);
    if (ans.events) confirmedAt = ans.events.timestamp;
    const fin = eventStep("finalisation", confirm, "destination", A.redemption, idBytes, ["burned", "lateConfirmation"]);
    steps.push(fin.step);
    if (fin.found === "burned") {
      burned = true;
      outcome = "burned";
    } else if (fin.found === "lateConfirmation") outcome = "late-confirmation";
  } else if (reject) {
    const ans = eventStep("answer", reject, "source", B.redemption, idBytes, ["rejected"]);
    const reason = reject.payload.op === "reject" ? reasonText(reject.payload.reason) : "";
    steps.push({ ...ans.step, detail: `${reason}: ${ans.step.detail}` });
    const fin = eventStep("finalisation", reject, "destination", A.redemption, idBytes, ["refunded"]);
    steps.push(fin.step);
    if (fin.found) {
      refunded = true;
      if (outcome !== "refunded-timeout") outcome = "refunded-rejected";
    }
  }
  if (burned && refunded) {
    steps.push({
      step: "finalisation",
      status: "failed",
      code: "DOUBLE_FINALISATION",
      detail: "both a burn and a refund of this lock are proven",
    });
  }
  return done(outcome, confirmedAt);
}

function auditWindow(
  w: AuditWindow,
  manifest: AuditManifest,
  redemptions: readonly RedemptionAudit[],
  settlementBundles: readonly Checked[],
  batches: ReadonlyMap<bigint, SettlementBatch | { readError: string }>,
  chains: ReadonlyMap<bigint, AuditChain>,
): SettlementAudit {
  const windowId = w.window.windowId;
  const base = { windowId, confirmations: 0, deliveredTo: [] as string[] };
  const fail = (code: string, detail: string): SettlementAudit => ({ ...base, status: "failed", code, detail });
  const batch = batches.get(windowId);
  if (!batch) return fail("BATCH_MISSING", `no batch file for window ${windowId} (${w.batch})`);
  if ("readError" in batch) return fail("BATCH_UNREADABLE", `${w.batch}: ${batch.readError}`);

  const institutionOf = (chainId: bigint, account: string) =>
    manifest.institutions.find((i) => i.chainId === chainId && toHex(i.account) === account)?.id;
  const confirmations: ConfirmedRedemption[] = [];
  for (const r of redemptions) {
    if (r.confirmedAt === undefined || r.outcome === "failed") continue;
    if (r.confirmedAt < w.window.from || r.confirmedAt >= w.window.to) continue;
    const B = manifest.chains.find((c) => c.name === r.to)!;
    const platform = institutionOf(B.chainId, r.platform);
    const cls = manifest.creditClasses.find((c) => toHex(c.creditClass) === r.creditClass);
    if (!platform) return fail("UNKNOWN_INSTITUTION", `redemption ${r.id}: platform ${r.platform} on ${r.to} is not in the manifest`);
    if (!cls) return fail("UNKNOWN_CREDIT_CLASS", `redemption ${r.id}: credit class ${r.creditClass} is not in the manifest`);
    confirmations.push({
      redemptionId: hexBytes(r.id),
      sponsor: cls.sponsor,
      exchangePlatform: platform,
      credits: r.amount,
      creditClass: cls.name,
      confirmedAt: r.confirmedAt,
    });
  }
  base.confirmations = confirmations.length;
  try {
    checkSettlement(batch, w.window, confirmations, manifest.agreement);
  } catch (e) {
    if (!(e instanceof ShanduError)) throw e;
    return fail(e.code, e.message);
  }
  // The attested root: a settlement contract's message for this window, verified, with this root.
  for (const c of settlementBundles) {
    let p: ReturnType<typeof decodeSettlementRootPayload>;
    try {
      p = decodeSettlementRootPayload(c.bundle.message.payload);
    } catch {
      continue;
    }
    if (p.windowId !== windowId) continue;
    if (!c.ok) return fail(c.failure!.code, `${c.name} (the root of window ${windowId}) does not verify at ${c.failure!.step}`);
    if (!bytesEqual(p.settlementRoot, batch.settlementRoot) || p.lineCount !== batch.header.lineCount) {
      return fail(
        "SETTLEMENT_ROOT_MISMATCH",
        `${c.name} attests root ${toHex(p.settlementRoot)}, the batch's is ${toHex(batch.settlementRoot)}`,
      );
    }
    base.deliveredTo.push(chains.get(c.bundle.message.destinationChainId)?.name ?? String(c.bundle.message.destinationChainId));
  }
  if (base.deliveredTo.length === 0) return fail("SETTLEMENT_ROOT_NOT_PROVEN", `no verified bundle carries the root of window ${windowId}`);
  base.deliveredTo.sort();
  return {
    ...base,
    status: "proven",
    detail: `${batch.lines.length} lines, ${batch.header.netTotal} minor units of ${batch.header.currency} in all, from ${confirmations.length} proven confirmations; root attested to ${base.deliveredTo.join(", ")}`,
  };
}

function hexBytes(h: string): Uint8Array {
  return hex(h, "id", 32);
}
