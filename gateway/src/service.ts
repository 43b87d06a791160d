/**
 * The gateway: verifies partial signatures as they arrive, records equivocation, aggregates at quorum,
 * persists, appends to the transparency log, publishes attested batches to the queue, and serves
 * attestations, proof bundles and log proofs. It keeps no state of its own beyond caches: several
 * instances over one store and one queue behave as one (the store decides, the queue de-duplicates).
 *
 * Trust: every field of a partial is untrusted. The signing root is recomputed here from the header,
 * the committee comes from the verified committee chain (never from the request), and the messages must
 * hash to the header's root before anything is stored.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ChainAdapter, Lane } from "@shandu/adapter-core";
import {
  aggregateNative,
  aggregatePartials,
  type BatchHeader,
  type Bls,
  BlsError,
  batchSigningRoot,
  batchSize,
  buildBatch,
  bundleFor,
  bundleToJson,
  type Committee,
  type CommitteeChain,
  CommitteeError,
  checkQuorum,
  decodeMessage,
  type Evidence,
  leafHash,
  logLeafData,
  type Message,
  memberNativeKey,
  type NativeKeySchemeName,
  type RotationRecord,
  ShanduError,
  signTreeHead,
  toHex,
  verifyNativeSignature,
} from "@shandu/proofs";
import type {
  AttestedBatch,
  BatchRef,
  GatewayApi,
  HealthStatus,
  LaneStatus,
  MessageRef,
  SignedTreeHead,
  SubmitPartialRequest,
  SubmitPartialResponse,
} from "./api.ts";
import { GatewayError } from "./errors.ts";
import { type Logger, silentLogger } from "./log.ts";
import { type BatchQueue, batchSubject, terminatedSubject } from "./queue/interface.ts";
import type { EquivocationRecord, GatewayStore, StoredAttestation } from "./store/store.ts";
import { packMessages } from "./store/store.ts";
import { MerkleLog } from "./translog/log.ts";
import { batchMsgId, encodeAttestedBatch } from "./wire.ts";

export type GatewayEvent =
  | { type: "partial"; result: "accepted" | "duplicate" | "attested" | "rejected"; code?: string; memberId?: string }
  | {
      type: "attested";
      lane: string;
      sourceChainId: bigint;
      destinationChainId: bigint;
      firstNonce: bigint;
      lastNonce: bigint;
      signers: number;
      logIndex: bigint;
      /** From this instance's first partial of the batch to its attestation, when it saw the first one. */
      latencyMs?: number;
    }
  | { type: "equivocation"; memberId: string; lane: string; firstNonce: bigint; lastNonce: bigint }
  | { type: "published"; result: "ok" | "duplicate" | "failed" };

export interface GatewayServiceOptions {
  store: GatewayStore;
  queue: BatchQueue;
  bls: Bls;
  /** The committee chain, verified from genesis at start-up. */
  chain: CommitteeChain;
  committees: { genesis: Committee; rotations: RotationRecord[] };
  /** Lanes this gateway attests; partials for others are refused with `UNKNOWN_LANE`. */
  lanes: readonly Lane[];
  /**
   * Destination chains that verify native co-signatures instead of BLS (§6.5), with their scheme. Every
   * partial for a lane into one of them must carry a valid native signature of that scheme.
   */
  nativeSchemes?: ReadonlyMap<bigint, NativeKeySchemeName>;
  /** Adapters by Shandu chain id, used only to add chain evidence to proof bundles. */
  adapters?: ReadonlyMap<bigint, ChainAdapter>;
  /** Ed25519 secret key (32 bytes) that signs the log's tree heads. */
  logSecretKey: Uint8Array;
  logPublicKey: Uint8Array;
  nowSeconds?: () => bigint;
  /** How often unpublished attestations are re-published (queue outages, other instances). */
  republishIntervalMs?: number;
  onEvent?: (e: GatewayEvent) => void;
  log?: Logger;
  version?: string;
}

const laneKey = (src: bigint, dst: bigint) => `${src}->${dst}`;

export class GatewayService implements GatewayApi {
  readonly #o: GatewayServiceOptions;
  readonly #lanes: Set<string>;
  readonly #log: Logger;
  readonly #merkle = new MerkleLog();
  readonly #closing = new AbortController();
  #republisher: Promise<void> | null = null;
  /** When this instance first saw a partial of each batch not attested yet (for the latency metric). */
  readonly #firstSeen = new Map<string, number>();
  /** Wakes streams waiting for new attestations. */
  #waiters = new Set<() => void>();

  private constructor(o: GatewayServiceOptions) {
    this.#o = o;
    this.#lanes = new Set(o.lanes.map((l) => laneKey(l.sourceChainId, l.destinationChainId)));
    this.#log = o.log ?? silentLogger;
  }

  /** Loads the log from the store, publishes what an earlier run left unpublished, and starts. */
  static async start(o: GatewayServiceOptions): Promise<GatewayService> {
    const s = new GatewayService(o);
    await s.#syncLog();
    s.#republisher = s.#republishLoop();
    return s;
  }

  #now(): bigint {
    return this.#o.nowSeconds ? this.#o.nowSeconds() : BigInt(Math.floor(Date.now() / 1000));
  }

  #emit(e: GatewayEvent): void {
    try {
      this.#o.onEvent?.(e);
    } catch {
      // A metrics sink must never break the gateway.
    }
  }

  async submitPartial(req: SubmitPartialRequest): Promise<SubmitPartialResponse> {
    this.#assertOpen();
    try {
      const r = await this.#submit(req);
      this.#emit({ type: "partial", result: r.status, memberId: req.memberId });
      return r;
    } catch (e) {
      this.#emit({ type: "partial", result: "rejected", code: e instanceof ShanduError ? e.code : "INTERNAL", memberId: req.memberId });
      throw e;
    }
  }

  async #submit(req: SubmitPartialRequest): Promise<SubmitPartialResponse> {
    const h = req.header;
    if (!this.#lanes.has(laneKey(h.sourceChainId, h.destinationChainId))) {
      throw new GatewayError("UNKNOWN_LANE", "this gateway does not attest that lane", {
        facts: { sourceChainId: h.sourceChainId, destinationChainId: h.destinationChainId },
      });
    }
    let size: number;
    try {
      size = batchSize(h);
      if (h.root.length !== 32)
        throw new GatewayError("BATCH_MISMATCH", "batch root must be 32 bytes", { facts: { field: "header.root" } });
    } catch (cause) {
      if (cause instanceof GatewayError) throw cause;
      throw new GatewayError("BATCH_MISMATCH", `batch header is invalid: ${(cause as Error).message}`, { cause });
    }
    let committee: ReturnType<CommitteeChain["committeeFor"]>;
    try {
      committee = this.#o.chain.committeeFor(req.epoch, this.#now());
    } catch (cause) {
      if (!(cause instanceof CommitteeError)) throw cause;
      throw new GatewayError("WRONG_EPOCH", `partial for an epoch this gateway does not accept now: ${cause.shortMessage}`, {
        cause,
        facts: { epoch: req.epoch, reason: cause.code, latestEpoch: this.#o.chain.latest.epoch },
      });
    }
    const memberIndex = committee.committee.members.findIndex((m) => m.id === req.memberId);
    if (memberIndex < 0) {
      throw new GatewayError("UNKNOWN_MEMBER", "no member with this id in the epoch's committee", {
        facts: { memberId: req.memberId, epoch: req.epoch },
      });
    }
    if (req.messages.length !== size) {
      throw new GatewayError("BATCH_MISMATCH", "the number of messages does not match the nonce range", {
        facts: { messages: req.messages.length, expected: size },
      });
    }
    let messages: Message[];
    try {
      messages = req.messages.map((m) => decodeMessage(m));
      const batch = buildBatch(messages);
      if (toHex(batch.header.root) !== toHex(h.root) || batch.header.firstNonce !== h.firstNonce) throw new Error("root differs");
      if (batch.header.sourceChainId !== h.sourceChainId || batch.header.destinationChainId !== h.destinationChainId) {
        throw new Error("lane differs");
      }
    } catch (cause) {
      throw new GatewayError("BATCH_MISMATCH", "the messages do not build the batch the header names", {
        cause,
        facts: { reason: cause instanceof Error ? cause.message : String(cause), firstNonce: h.firstNonce, lastNonce: h.lastNonce },
      });
    }
    const signingRoot = batchSigningRoot(committee.hash, committee.epoch, h);
    let ok: boolean;
    try {
      ok = this.#o.bls.verify(committee.keys[memberIndex]!, signingRoot, req.signature);
    } catch (cause) {
      if (!(cause instanceof BlsError)) throw cause;
      ok = false;
    }
    if (!ok) {
      throw new GatewayError("BAD_SIGNATURE", "the partial signature does not verify for this member over the batch", {
        facts: { memberId: req.memberId, epoch: req.epoch, firstNonce: h.firstNonce, lastNonce: h.lastNonce },
      });
    }
    const nativeSignature = this.#nativeSignature(req, committee.committee.members[memberIndex]!, signingRoot);
    const recorded = await this.#o.store.recordPartial({
      header: h,
      epoch: req.epoch,
      memberIndex,
      memberId: req.memberId,
      signature: req.signature,
      ...(nativeSignature ? { nativeSignature } : {}),
      messages: packMessages(req.messages),
    });
    switch (recorded.status) {
      case "mismatch":
        throw new GatewayError("BATCH_MISMATCH", "the range is already attested with another batch", {
          facts: {
            attestedFirstNonce: recorded.attestedRange.firstNonce,
            attestedLastNonce: recorded.attestedRange.lastNonce,
            attestedRoot: toHex(recorded.attestedRoot),
          },
        });
      case "equivocation":
        this.#log.warn("equivocation", { memberId: req.memberId, firstNonce: h.firstNonce, lastNonce: h.lastNonce });
        this.#emit({
          type: "equivocation",
          memberId: req.memberId,
          lane: laneKey(h.sourceChainId, h.destinationChainId),
          firstNonce: h.firstNonce,
          lastNonce: h.lastNonce,
        });
        throw new GatewayError("EQUIVOCATION", "this member signed a different root for this nonce range; evidence recorded", {
          facts: { memberId: req.memberId, otherRoot: toHex(recorded.otherRoot), root: toHex(h.root) },
        });
      case "attested":
        return { status: "attested" };
      case "duplicate":
        // A re-sent partial still drives aggregation: the instance that stored it may have died first.
        return { status: (await this.#tryAggregate(h, committee)) ? "attested" : "duplicate" };
      case "new":
        if (this.#firstSeen.size > 10_000) this.#firstSeen.clear();
        if (!this.#firstSeen.has(batchMsgId(h))) this.#firstSeen.set(batchMsgId(h), Date.now());
        return { status: (await this.#tryAggregate(h, committee)) ? "attested" : "accepted" };
    }
  }

  /**
   * The partial's native co-signature, checked, when the lane's destination verifies those; otherwise
   * none may be sent. Throws `BAD_NATIVE_SIGNATURE` or `INVALID_REQUEST`.
   */
  #nativeSignature(req: SubmitPartialRequest, member: Committee["members"][number], signingRoot: Uint8Array): Uint8Array | undefined {
    const scheme = this.#o.nativeSchemes?.get(req.header.destinationChainId);
    const given = req.native ?? [];
    if (new Set(given.map((n) => n.scheme)).size !== given.length) {
      throw new GatewayError("INVALID_REQUEST", "at most one native signature per scheme", { facts: { field: "native" } });
    }
    const extra = given.find((n) => n.scheme !== scheme);
    if (extra) {
      throw new GatewayError("INVALID_REQUEST", `this lane's destination does not take ${extra.scheme} co-signatures`, {
        facts: { field: "native", scheme: extra.scheme, destinationChainId: req.header.destinationChainId },
      });
    }
    if (!scheme) return undefined;
    const facts = { memberId: req.memberId, scheme, destinationChainId: req.header.destinationChainId };
    const sig = given[0]?.signature;
    if (!sig) {
      throw new GatewayError("BAD_NATIVE_SIGNATURE", `this lane's destination verifies ${scheme} co-signatures; the partial has none`, {
        facts,
      });
    }
    const key = memberNativeKey(member, scheme);
    if (!key) {
      throw new GatewayError("BAD_NATIVE_SIGNATURE", `the member has no ${scheme} key in this epoch's committee`, { facts });
    }
    if (!verifyNativeSignature(scheme, key, signingRoot, sig)) {
      throw new GatewayError("BAD_NATIVE_SIGNATURE", `the ${scheme} co-signature does not verify for this member over the batch`, {
        facts,
      });
    }
    return sig;
  }

  /** Aggregates once the stored partials meet the policy; true when the batch is attested. */
  async #tryAggregate(h: BatchHeader, committee: ReturnType<CommitteeChain["committeeFor"]>): Promise<boolean> {
    const partials = await this.#o.store.partialsFor(h, committee.epoch);
    try {
      checkQuorum(
        committee,
        partials.map((p) => p.memberIndex),
      );
    } catch {
      return false;
    }
    const signingRoot = batchSigningRoot(committee.hash, committee.epoch, h);
    const attestation = aggregatePartials(committee, signingRoot, partials, this.#o.bls);
    // Every partial of a native lane was stored with its checked native signature, so the same signers
    // meet the same policy natively.
    const scheme = this.#o.nativeSchemes?.get(h.destinationChainId);
    const native = scheme
      ? aggregateNative(
          committee,
          scheme,
          signingRoot,
          partials.map((p) => {
            if (!p.nativeSignature) {
              throw new GatewayError("BAD_NATIVE_SIGNATURE", "a stored partial of a native lane has no native signature", {
                facts: { memberIndex: p.memberIndex, scheme },
              });
            }
            return { memberIndex: p.memberIndex, signature: p.nativeSignature };
          }),
        )
      : undefined;
    const leaf = leafHash(logLeafData(h, attestation));
    const { created, logIndex } = await this.#o.store.commitAttestation(h, attestation, () => leaf, native);
    const seen = this.#firstSeen.get(batchMsgId(h));
    this.#firstSeen.delete(batchMsgId(h));
    if (created) {
      this.#log.info("attested", {
        lane: laneKey(h.sourceChainId, h.destinationChainId),
        firstNonce: h.firstNonce,
        lastNonce: h.lastNonce,
        logIndex,
      });
      this.#emit({
        type: "attested",
        lane: laneKey(h.sourceChainId, h.destinationChainId),
        sourceChainId: h.sourceChainId,
        destinationChainId: h.destinationChainId,
        firstNonce: h.firstNonce,
        lastNonce: h.lastNonce,
        signers: partials.length,
        logIndex,
        ...(seen !== undefined ? { latencyMs: Date.now() - seen } : {}),
      });
      for (const wake of [...this.#waiters]) wake();
    }
    const stored = await this.#o.store.attestation(h);
    if (stored && !stored.published) await this.#publish(stored);
    return true;
  }

  #toAttested(s: StoredAttestation): AttestedBatch {
    return {
      header: s.header,
      attestation: s.attestation,
      ...(s.native ? { native: s.native } : {}),
      messages: s.messages,
      committees: this.#o.committees,
      logIndex: s.logIndex,
    };
  }

  async #publish(s: StoredAttestation): Promise<boolean> {
    const h = s.header;
    try {
      const r = await this.#o.queue.publish(
        batchSubject(h.destinationChainId, h.sourceChainId),
        encodeAttestedBatch(this.#toAttested(s)),
        batchMsgId(h),
      );
      await this.#o.store.markPublished(h);
      this.#emit({ type: "published", result: r.duplicate ? "duplicate" : "ok" });
      return true;
    } catch (e) {
      this.#emit({ type: "published", result: "failed" });
      this.#log.warn("publish failed; will retry", { firstNonce: h.firstNonce, lastNonce: h.lastNonce, error: (e as Error).message });
      return false;
    }
  }

  async #republishLoop(): Promise<void> {
    const signal = this.#closing.signal;
    while (!signal.aborted) {
      try {
        for (const s of await this.#o.store.unpublished(100)) {
          if (signal.aborted || !(await this.#publish(s))) break;
        }
      } catch (e) {
        this.#log.warn("republish scan failed", { error: (e as Error).message });
      }
      await sleep(this.#o.republishIntervalMs ?? 1000, undefined, { signal }).catch(() => {});
    }
  }

  async getAttestation(ref: BatchRef): Promise<AttestedBatch> {
    this.#assertOpen();
    const s = await this.#o.store.attestation(ref);
    if (!s) throw new GatewayError("NOT_FOUND", "no attestation for this batch (yet)", { facts: { ...ref } });
    return this.#toAttested(s);
  }

  async getProofBundle(ref: MessageRef): Promise<unknown> {
    this.#assertOpen();
    const s = await this.#o.store.attestationForNonce(ref.sourceChainId, ref.destinationChainId, ref.nonce);
    if (!s) throw new GatewayError("NOT_FOUND", "no attested batch holds this message (yet)", { facts: { ...ref } });
    const batch = buildBatch(s.messages.map((m) => decodeMessage(m)));
    const index = Number(ref.nonce - s.header.firstNonce);
    const message = batch.messages[index]!;
    const lane = { sourceChainId: ref.sourceChainId, destinationChainId: ref.destinationChainId };
    const sourceEvidence = await this.#evidence(ref.sourceChainId, (a) => a.sourceEvidence(message));
    const destinationEvidence = await this.#evidence(ref.destinationChainId, (a) => a.destinationEvidence(lane, ref.nonce));
    return bundleToJson(bundleFor(batch, index, s.attestation, this.#o.committees, { sourceEvidence, destinationEvidence }));
  }

  /** Chain evidence when an adapter for the chain is configured and can give it; otherwise none. */
  async #evidence(chainId: bigint, get: (a: ChainAdapter) => Promise<Evidence | null>): Promise<Evidence | null> {
    const adapter = this.#o.adapters?.get(chainId);
    if (!adapter) return null;
    try {
      return await get(adapter);
    } catch (e) {
      this.#log.warn("evidence unavailable", { chainId, error: (e as Error).message });
      return null;
    }
  }

  async *streamAttestedBatches(opts: {
    fromLogIndex: bigint;
    destinationChainId?: bigint;
    signal: AbortSignal;
  }): AsyncIterable<AttestedBatch> {
    this.#assertOpen();
    const signal = AbortSignal.any([opts.signal, this.#closing.signal]);
    let next = opts.fromLogIndex;
    while (!signal.aborted) {
      const page = await this.#o.store.attestedFrom(next, 100, opts.destinationChainId);
      for (const s of page) {
        yield this.#toAttested(s);
        next = s.logIndex + 1n;
      }
      if (page.length === 100) continue;
      // Wait for a local attestation, or poll for other instances' ones.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, 500);
        this.#waiters.add(done);
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  async listLanes(): Promise<LaneStatus[]> {
    this.#assertOpen();
    const stats = new Map((await this.#o.store.laneStats()).map((s) => [laneKey(s.sourceChainId, s.destinationChainId), s]));
    const out: LaneStatus[] = [];
    for (const l of this.#o.lanes) {
      const s = stats.get(laneKey(l.sourceChainId, l.destinationChainId));
      let terminated = 0;
      try {
        terminated = (await this.#o.queue.listTerminations(terminatedSubject(l.destinationChainId, l.sourceChainId), 1000)).length;
      } catch {
        // The queue being down does not hide the lane's store state.
      }
      out.push({
        sourceChainId: l.sourceChainId,
        destinationChainId: l.destinationChainId,
        lastAttestedNonce: s?.lastAttestedNonce ?? null,
        attestedBatches: s?.attestedBatches ?? 0,
        pendingBatches: s?.pendingBatches ?? 0,
        terminated,
      });
    }
    return out;
  }

  /** Brings the in-memory log up to the store's (other instances append too). */
  async #syncLog(): Promise<void> {
    const size = await this.#o.store.logSize();
    if (size > this.#merkle.size) for (const h of await this.#o.store.leafHashes(this.#merkle.size)) this.#merkle.append(h);
  }

  async treeHead(): Promise<SignedTreeHead> {
    this.#assertOpen();
    await this.#syncLog();
    const treeSize = this.#merkle.size;
    const head = { treeSize, rootHash: this.#merkle.root(treeSize), timestampMs: BigInt(Date.now()) };
    return { ...head, signature: signTreeHead(this.#o.logSecretKey, head), publicKey: this.#o.logPublicKey };
  }

  async inclusionProof(index: bigint, treeSize: bigint): Promise<{ leaf: Uint8Array; path: Uint8Array[] }> {
    this.#assertOpen();
    await this.#syncLog();
    if (treeSize > this.#merkle.size || index >= treeSize || index < 0n) {
      throw new GatewayError("NOT_FOUND", "no such leaf in a tree of that size", {
        facts: { index, treeSize, logSize: this.#merkle.size },
      });
    }
    return { leaf: this.#merkle.leaf(index), path: this.#merkle.inclusionProof(index, treeSize) };
  }

  async consistencyProof(fromSize: bigint, toSize: bigint): Promise<Uint8Array[]> {
    this.#assertOpen();
    await this.#syncLog();
    if (toSize > this.#merkle.size || fromSize > toSize || fromSize < 0n) {
      throw new GatewayError("NOT_FOUND", "the log has no tree of that size", { facts: { fromSize, toSize, logSize: this.#merkle.size } });
    }
    return this.#merkle.consistencyProof(fromSize, toSize);
  }

  /** Equivocation evidence recorded so far (each record verifies on its own against the member's key). */
  async equivocations(): Promise<EquivocationRecord[]> {
    return this.#o.store.equivocations();
  }

  async health(): Promise<HealthStatus> {
    const store = (await this.#o.store.ping()) ? "ok" : "unavailable";
    let queue: "ok" | "unavailable" = "ok";
    try {
      await this.#o.queue.listTerminations("shandu.terminated.>", 1);
    } catch {
      queue = "unavailable";
    }
    return { ok: store === "ok" && queue === "ok", store, queue, queueKind: this.#o.queue.kind, version: this.#o.version ?? "0.1.0" };
  }

  #assertOpen(): void {
    if (this.#closing.signal.aborted) throw new GatewayError("CLOSED", "the gateway is shutting down");
  }

  /** Stops the republisher and open streams. The store and queue belong to the caller. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#republisher;
  }
}
