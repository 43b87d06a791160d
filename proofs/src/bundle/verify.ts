/**
 * The offline bundle verifier: given a bundle and a trusted genesis committee, it checks every claim in
 * the bundle itself and reports each step. Nothing in the bundle is trusted: the committee chain is
 * walked from the trusted genesis, the message id, the signing root and the batch root are recomputed.
 *
 * Steps, in order: format · trust anchor · committee chain · message · inclusion · attestation ·
 * source evidence · destination evidence · regulator envelope. A failed step marks the later steps
 * that depend on it "not checked". Evidence of a kind without a registered verifier is "not checked",
 * never "passed".
 */
import {
  type BatchHeader,
  batchSigningRoot,
  batchSize,
  encodeAttestation,
  type VerifiedAttestation,
  verifyAttestation,
} from "../attestation.ts";
import type { Bls } from "../bls/bls.ts";
import { ByteWriter, bytesEqual, toHex } from "../bytes.ts";
import { type Committee, committeeSetHash, encodeCommittee, sameCommittee, type VerifiedCommittee } from "../committee.ts";
import { BundleError, type CodecError, CommitteeError, ShanduError } from "../errors.ts";
import { sha256 } from "../hash.ts";
import { verifyMultiProof } from "../merkle.ts";
import { encodeMessage, type Message, messageIdOfEncoding } from "../message.ts";
import { type CommitteeChain, type RotationRecord, verifyCommitteeChain } from "../rotation.ts";
import { BUNDLE_VERSION, type Evidence, type ProofBundle, readBundleBytes } from "./bundle.ts";

export type StepName =
  | "format"
  | "trust-anchor"
  | "committee-chain"
  | "message"
  | "inclusion"
  | "attestation"
  | "source-evidence"
  | "destination-evidence"
  | "regulator-envelope";

export const STEP_NAMES: readonly StepName[] = [
  "format",
  "trust-anchor",
  "committee-chain",
  "message",
  "inclusion",
  "attestation",
  "source-evidence",
  "destination-evidence",
  "regulator-envelope",
];

export type StepStatus = "passed" | "failed" | "not-checked";

export interface StepResult {
  step: StepName;
  status: StepStatus;
  /** One line for people: what was checked, or why it failed or was not checked. */
  detail: string;
  /** Error code when `failed`. */
  code?: string;
}

export interface BundleReport {
  /**
   * True when format through attestation passed and no step failed. Evidence of a kind the verifier has
   * no checker for is "not checked" and does not make `ok` false; callers that require evidence (the CLI's
   * `--strict`) check the evidence steps themselves.
   */
  ok: boolean;
  messageId: string | null;
  steps: StepResult[];
}

export interface EvidenceContext {
  message: Message;
  messageId: Uint8Array;
  batch: BatchHeader;
}

/**
 * Checks one kind of chain evidence. Throw a {@link ShanduError} to fail the step; return a one-line
 * detail when it passes. Adapters provide these; the verifier only uses those it is given.
 */
export interface EvidenceVerifier {
  readonly kind: string;
  verify(evidence: Evidence, ctx: EvidenceContext): string;
}

export interface VerifyOptions {
  /** The trust anchor: the genesis committee the verifier was given out of band. */
  trustedGenesis: Committee;
  bls: Bls;
  /** Verifiers by evidence kind. Kinds not listed are reported "not checked". */
  evidenceVerifiers?: readonly EvidenceVerifier[];
  /** Apply the rotation grace rules as of this time (unix seconds). Omit to audit the past. */
  nowSeconds?: bigint;
  /**
   * Rotations the verifier already knows from elsewhere (a destination's registry, the transparency log),
   * from the trusted genesis on. With a clock, a bundle that stops its chain early cannot make a
   * rotated-out committee look current; a bundle whose chain disagrees with these fails `ROTATION_CONFLICT`.
   */
  knownRotations?: readonly RotationRecord[];
}

function describe(e: unknown): { code: string; detail: string } {
  if (e instanceof ShanduError) return { code: e.code, detail: e.message };
  return { code: "INTERNAL", detail: e instanceof Error ? e.message : String(e) };
}

/**
 * A reusable verifier. It caches verified committee chains and attestations, so many bundles from the
 * same batch cost one pairing check between them. Caches hold only results derived from the trusted
 * genesis and recomputed inputs, never anything a bundle asserts about itself.
 */
export class BundleVerifier {
  readonly #opts: VerifyOptions;
  readonly #genesisHash: Uint8Array;
  readonly #evidence: Map<string, EvidenceVerifier>;
  readonly #chains = new Map<string, CommitteeChain | ShanduError>();
  readonly #attestations = new Map<string, VerifiedAttestation | ShanduError>();
  readonly #known: CommitteeChain | null;

  /** Throws {@link CommitteeError} (or {@link CodecError} for unencodable fields) when the trusted genesis or `knownRotations` do not verify. */
  constructor(opts: VerifyOptions) {
    this.#opts = opts;
    this.#genesisHash = committeeSetHash(opts.trustedGenesis);
    this.#known = opts.knownRotations ? verifyCommitteeChain(opts.trustedGenesis, opts.knownRotations, opts.bls) : null;
    this.#evidence = new Map((opts.evidenceVerifiers ?? []).map((v) => [v.kind, v]));
  }

  /** Verifies bundle file bytes (JSON or binary). Never throws for bad input: failures are in the report. */
  verifyBytes(bytes: Uint8Array): BundleReport {
    let bundle: ProofBundle;
    try {
      bundle = readBundleBytes(bytes);
    } catch (e) {
      const { code, detail } = describe(e);
      return { ok: false, messageId: null, steps: [{ step: "format", status: "failed", code, detail }, ...skipped(STEP_NAMES.slice(1))] };
    }
    return this.verify(bundle);
  }

  verify(bundle: ProofBundle): BundleReport {
    const steps: StepResult[] = [];
    const fail = (step: StepName, e: unknown): BundleReport => {
      const { code, detail } = describe(e);
      steps.push({ step, status: "failed", code, detail });
      steps.push(...skipped(STEP_NAMES.slice(STEP_NAMES.indexOf(step) + 1)));
      return { ok: false, messageId: id ? toHex(id) : null, steps };
    };
    let id: Uint8Array | null = null;
    if (bundle.version !== BUNDLE_VERSION) {
      return fail(
        "format",
        new BundleError("UNSUPPORTED_BUNDLE_VERSION", "this verifier reads proof bundle version 1", { facts: { version: bundle.version } }),
      );
    }
    steps.push({ step: "format", status: "passed", detail: `proof bundle v${bundle.version}` });

    // trust anchor: compared field by field (no encoding or hashing per bundle); hashed only to report a mismatch
    if (!sameCommittee(bundle.committees.genesis, this.#opts.trustedGenesis)) {
      let bundleGenesisHash: Uint8Array;
      try {
        bundleGenesisHash = committeeSetHash(bundle.committees.genesis);
      } catch (e) {
        return fail("trust-anchor", e);
      }
      return fail(
        "trust-anchor",
        new BundleError("GENESIS_MISMATCH", "the bundle's genesis committee is not the trusted genesis", {
          facts: { trusted: toHex(this.#genesisHash), bundle: toHex(bundleGenesisHash) },
        }),
      );
    }
    steps.push({
      step: "trust-anchor",
      status: "passed",
      detail: `genesis committee ${short(this.#genesisHash)} matches the trusted genesis`,
    });

    // committee chain
    let chain: CommitteeChain;
    try {
      chain = this.#known ? reconcile(this.#chain(bundle), this.#known) : this.#chain(bundle);
    } catch (e) {
      return fail("committee-chain", e);
    }
    let committee: VerifiedCommittee;
    try {
      committee = chain.committeeFor(bundle.attestation.epoch, this.#opts.nowSeconds);
    } catch (e) {
      return fail("committee-chain", e);
    }
    const rotations = bundle.committees.rotations.length;
    steps.push({
      step: "committee-chain",
      status: "passed",
      detail: `${rotations} rotation${rotations === 1 ? "" : "s"} verified from genesis; epoch ${bundle.attestation.epoch} committee has ${committee.keys.length} members${this.#opts.nowSeconds === undefined ? " (no clock given: grace periods not applied)" : ""}`,
    });

    // message
    try {
      id = messageIdOfEncoding(encodeMessage(bundle.message));
      if (bundle.messageId && !bytesEqual(bundle.messageId, id)) {
        throw new BundleError("MESSAGE_ID_MISMATCH", "the bundle's messageId is not the hash of its message", {
          facts: { stated: toHex(bundle.messageId), computed: toHex(id) },
        });
      }
    } catch (e) {
      return fail("message", e);
    }
    const m = bundle.message;
    steps.push({
      step: "message",
      status: "passed",
      detail: `message ${short(id)}: chain ${m.sourceChainId} → ${m.destinationChainId}, nonce ${m.nonce}`,
    });

    // inclusion
    try {
      const b = bundle.batch;
      if (m.sourceChainId !== b.sourceChainId || m.destinationChainId !== b.destinationChainId) {
        throw new BundleError("LANE_MISMATCH", "the message's lane is not the attested batch's lane", {
          facts: { message: `${m.sourceChainId}→${m.destinationChainId}`, batch: `${b.sourceChainId}→${b.destinationChainId}` },
        });
      }
      const size = batchSize(b);
      if (m.nonce < b.firstNonce || m.nonce > b.lastNonce) {
        throw new BundleError("NONCE_OUT_OF_RANGE", "the message's nonce is outside the attested range", {
          facts: { nonce: m.nonce, firstNonce: b.firstNonce, lastNonce: b.lastNonce },
        });
      }
      const index = Number(m.nonce - b.firstNonce);
      if (bundle.inclusion.leafIndex !== index || bundle.inclusion.treeSize !== size) {
        throw new BundleError("INCLUSION_FAILED", "the inclusion proof is for another position or tree size than the nonce range implies", {
          facts: { leafIndex: bundle.inclusion.leafIndex, expectedIndex: index, treeSize: bundle.inclusion.treeSize, expectedSize: size },
        });
      }
      verifyMultiProof(b.root, { treeSize: size, indices: [index], siblings: bundle.inclusion.siblings }, [id]);
    } catch (e) {
      return fail("inclusion", e);
    }
    steps.push({
      step: "inclusion",
      status: "passed",
      detail: `leaf ${bundle.inclusion.leafIndex} of ${bundle.inclusion.treeSize} under batch root ${short(bundle.batch.root)}`,
    });

    // attestation
    let att: VerifiedAttestation;
    try {
      att = this.#attestation(bundle, committee);
    } catch (e) {
      return fail("attestation", e);
    }
    steps.push({
      step: "attestation",
      status: "passed",
      detail: `${att.signerIds.length}/${committee.keys.length} members (weight ${att.signedWeight}/${committee.totalWeight}) signed: ${att.signerIds.join(", ")}`,
    });

    // evidence
    let ok = true;
    const ctx: EvidenceContext = { message: m, messageId: id, batch: bundle.batch };
    for (const [step, ev] of [
      ["source-evidence", bundle.sourceEvidence],
      ["destination-evidence", bundle.destinationEvidence],
    ] as const) {
      if (!ev) {
        steps.push({ step, status: "not-checked", detail: "none in this bundle" });
        continue;
      }
      const verifier = this.#evidence.get(ev.kind);
      if (!verifier) {
        steps.push({ step, status: "not-checked", detail: `no verifier for evidence kind "${ev.kind}"` });
        continue;
      }
      try {
        steps.push({ step, status: "passed", detail: verifier.verify(ev, ctx) });
      } catch (e) {
        ok = false;
        steps.push({ step, status: "failed", ...describe(e) });
      }
    }

    // regulator envelope
    const env = bundle.regulatorEnvelope;
    if (!env) {
      steps.push({ step: "regulator-envelope", status: "not-checked", detail: "no regulator envelope in this bundle" });
    } else {
      const at = m.payload.subarray(env.payloadOffset, env.payloadOffset + 32);
      if (at.length === 32 && bytesEqual(at, env.commitment)) {
        steps.push({
          step: "regulator-envelope",
          status: "passed",
          detail: `commitment ${short(env.commitment)} is bound into the signed payload at byte ${env.payloadOffset}`,
        });
      } else {
        ok = false;
        steps.push({
          step: "regulator-envelope",
          status: "failed",
          code: "ENVELOPE_NOT_BOUND",
          detail: `the envelope commitment is not at byte ${env.payloadOffset} of the signed payload`,
        });
      }
    }
    return { ok, messageId: toHex(id), steps };
  }

  #chain(bundle: ProofBundle): CommitteeChain {
    // Called once the trust anchor matched: the chain starts at the trusted genesis, so the rotations are the key.
    const { rotations } = bundle.committees;
    let key = "";
    if (rotations.length > 0) {
      try {
        const w = new ByteWriter(4096);
        for (const r of rotations) {
          w.u64(r.fromEpoch)
            .bytes(r.fromCommitteeSetHash)
            .bytes32(encodeCommittee(r.to))
            .u64(r.activatesAtSeconds)
            .u32(r.graceSeconds)
            .bytes(encodeAttestation(r.attestation));
        }
        key = toHex(sha256(w.finish()));
      } catch {
        // A record that cannot be encoded: walk uncached, so the first broken link is the one reported.
        return verifyCommitteeChain(this.#opts.trustedGenesis, rotations, this.#opts.bls);
      }
    }
    let hit = this.#chains.get(key);
    if (!hit) {
      try {
        hit = verifyCommitteeChain(this.#opts.trustedGenesis, rotations, this.#opts.bls);
      } catch (e) {
        if (!(e instanceof ShanduError)) throw e;
        hit = e;
      }
      remember(this.#chains, key, hit);
    }
    if (hit instanceof ShanduError) throw hit;
    return hit;
  }

  #attestation(bundle: ProofBundle, committee: VerifiedCommittee): VerifiedAttestation {
    const root = batchSigningRoot(committee.hash, committee.epoch, bundle.batch);
    const key = `${toHex(root)}:${toHex(encodeAttestation(bundle.attestation))}`;
    let hit = this.#attestations.get(key);
    if (!hit) {
      try {
        hit = verifyAttestation(bundle.attestation, committee, root, this.#opts.bls);
      } catch (e) {
        if (!(e instanceof ShanduError)) throw e;
        hit = e;
      }
      remember(this.#attestations, key, hit);
    }
    if (hit instanceof ShanduError) throw hit;
    return hit;
  }
}

/** The longer of two chains from the same genesis, after checking they agree wherever both have an epoch. */
function reconcile(a: CommitteeChain, b: CommitteeChain): CommitteeChain {
  const n = Math.min(a.epochs.length, b.epochs.length);
  for (let i = 1; i < n; i++) {
    const x = a.epochs[i]!;
    const y = b.epochs[i]!;
    if (
      !bytesEqual(x.committee.hash, y.committee.hash) ||
      x.activatesAtSeconds !== y.activatesAtSeconds ||
      x.graceSeconds !== y.graceSeconds
    ) {
      throw new CommitteeError("ROTATION_CONFLICT", "the bundle's rotation differs from the one the verifier knows for this epoch", {
        facts: { epoch: x.committee.epoch, bundle: toHex(x.committee.hash), known: toHex(y.committee.hash) },
      });
    }
  }
  return a.epochs.length >= b.epochs.length ? a : b;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= 10_000) map.clear();
  map.set(key, value);
}

function skipped(names: readonly StepName[]): StepResult[] {
  return names.map((step) => ({ step, status: "not-checked" as const, detail: "not checked: an earlier step failed" }));
}

function short(b: Uint8Array): string {
  return `${toHex(b).slice(0, 10)}…`;
}

/** One-shot convenience over {@link BundleVerifier}. */
export function verifyBundle(bundle: ProofBundle, opts: VerifyOptions): BundleReport {
  return new BundleVerifier(opts).verify(bundle);
}
