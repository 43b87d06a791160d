/**
 * The attester: one per committee member. It watches source chains through their adapters, builds the
 * batches every honest member builds, signs each batch's signing root with its one BLS key and submits
 * the partial to the gateway.
 *
 * Batches are deterministic: a lane's messages whose source blocks fall in one window of `windowBlocks`
 * blocks (windows start at block 0), split into runs of at most `maxMessages` in nonce order. A window is
 * closed once the watch reports every block in it final (`onFinalized`), so boundaries follow the chain,
 * never a member's clock. Restarts resume from the journal's cursor; a batch already in the signed journal
 * is re-sent as signed, and a different root for a signed range stops the attester (that would be a
 * reorg below finality: an alarm, not a rewrite).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { ChainAdapter, Cursor, WatchItem } from "@shandu/adapter-core";
import {
  type Bls,
  batchSigningRoot,
  buildBatch,
  type CommitteeChain,
  type NativeKeySchemeName,
  ShanduError,
  signNative,
  toHex,
  type VerifiedCommittee,
} from "@shandu/proofs";
import type { GatewayApi, SubmitPartialStatus } from "../api.ts";
import { GatewayError } from "../errors.ts";
import { type Logger, silentLogger } from "../log.ts";
import { AttesterJournal } from "./journal.ts";

export interface BatchPolicy {
  /** Window length in source blocks; 1 closes a batch per block. */
  windowBlocks: number;
  /** Most messages in one batch. */
  maxMessages: number;
}

export type AttesterEvent =
  | { type: "signed"; sourceChainId: bigint; destinationChainId: bigint; firstNonce: bigint; lastNonce: bigint; resent: boolean }
  | { type: "submitted"; status: SubmitPartialStatus; firstNonce: bigint; lastNonce: bigint }
  | { type: "rejected"; code: string; firstNonce: bigint; lastNonce: bigint }
  | { type: "window-closed"; sourceChainId: bigint; window: bigint };

export interface AttesterOptions {
  memberId: string;
  /** BLS secret key (32 bytes), read by the caller from the member's key file. */
  secretKey: Uint8Array;
  /**
   * Destination chains that verify native co-signatures (§6.5), with their scheme; batches for them are
   * also signed with the member's native key of that scheme.
   */
  nativeSchemes?: ReadonlyMap<bigint, NativeKeySchemeName>;
  /** The member's native secret keys (32 bytes each), by scheme. */
  nativeKeys?: Partial<Record<NativeKeySchemeName, Uint8Array>>;
  bls: Bls;
  chain: CommitteeChain;
  /** Source chains with the destination chain ids whose lanes this member attests. */
  sources: { adapter: ChainAdapter; destinations: readonly bigint[] }[];
  gateway: GatewayApi;
  stateDir: string;
  policy: BatchPolicy;
  /** Backoff between submission retries while the gateway is unavailable. */
  retryBackoffMs?: number;
  nowSeconds?: () => bigint;
  log?: Logger;
  onEvent?: (e: AttesterEvent) => void;
}

export class Attester {
  readonly #o: AttesterOptions;
  readonly #log: Logger;
  readonly #closing = new AbortController();
  #running: Promise<void>[] = [];

  constructor(o: AttesterOptions) {
    this.#o = o;
    this.#log = o.log ?? silentLogger;
  }

  /** Starts one watch per source chain. Resolves once started; failures surface through {@link done}. */
  async start(): Promise<void> {
    for (const s of this.#o.sources) {
      const journal = await AttesterJournal.open(this.#o.stateDir, this.#o.memberId, s.adapter.chainId);
      const run = this.#run(s.adapter, new Set(s.destinations), journal);
      // Observed through done(); never an unhandled rejection.
      run.catch(() => {});
      this.#running.push(run);
    }
  }

  /** Resolves when every watch ended (after {@link close}); rejects with the first fatal error. */
  done(): Promise<void> {
    return Promise.all(this.#running).then(() => {});
  }

  #committee(): VerifiedCommittee {
    const now = this.#o.nowSeconds ? this.#o.nowSeconds() : BigInt(Math.floor(Date.now() / 1000));
    const epochs = this.#o.chain.epochs;
    for (let i = epochs.length - 1; i >= 0; i--) if (epochs[i]!.activatesAtSeconds <= now) return epochs[i]!.committee;
    return this.#o.chain.genesis;
  }

  async #run(adapter: ChainAdapter, destinations: Set<bigint>, journal: AttesterJournal): Promise<void> {
    const signal = this.#closing.signal;
    const W = BigInt(Math.max(1, this.#o.policy.windowBlocks));
    /** Items of windows not closed yet, in watch order. */
    let open: WatchItem[] = [];
    let closedThrough = -1n; // last block of the last closed window
    let work: Promise<void> = Promise.resolve();
    let failure: unknown = null;

    const closeThrough = (finalBlock: bigint) => {
      // Windows ending at or below finalBlock are complete.
      const lastClosable = ((finalBlock + 1n) / W) * W - 1n;
      if (lastClosable <= closedThrough) return;
      const ready = open.filter((i) => i.cursor.blockNumber <= lastClosable);
      open = open.filter((i) => i.cursor.blockNumber > lastClosable);
      closedThrough = lastClosable;
      if (ready.length === 0) return;
      work = work
        .then(() => (failure ? undefined : this.#closeWindow(adapter.chainId, ready, destinations, journal, W)))
        .catch((e) => {
          failure ??= e;
          stop.abort();
        });
    };

    // A fatal error while closing a window ends the watch, and the attester with it.
    const stop = new AbortController();
    const watchSignal = AbortSignal.any([signal, stop.signal]);
    try {
      for await (const item of adapter.watch(journal.cursor, { signal: watchSignal, onFinalized: closeThrough })) {
        if (failure) throw failure;
        // An item past the open windows proves the blocks before it complete.
        if (item.cursor.blockNumber > 0n) closeThrough(item.cursor.blockNumber - 1n);
        open.push(item);
      }
    } finally {
      await work;
    }
    if (failure) {
      this.#log.error("attester stopped", { sourceChainId: adapter.chainId, error: (failure as Error).message });
      throw failure;
    }
  }

  async #closeWindow(src: bigint, items: WatchItem[], destinations: Set<bigint>, journal: AttesterJournal, W: bigint): Promise<void> {
    const byLane = new Map<bigint, WatchItem[]>();
    for (const i of items) {
      const dst = i.message.destinationChainId;
      if (!destinations.has(dst)) {
        this.#log.warn("message for a lane this member does not attest", {
          sourceChainId: src,
          destinationChainId: dst,
          nonce: i.message.nonce,
        });
        continue;
      }
      const list = byLane.get(dst) ?? [];
      list.push(i);
      byLane.set(dst, list);
    }
    for (const [, laneItems] of byLane) {
      for (let at = 0; at < laneItems.length; at += this.#o.policy.maxMessages) {
        await this.#attest(journal, laneItems.slice(at, at + this.#o.policy.maxMessages));
      }
    }
    const last = items[items.length - 1]!;
    await journal.saveCursor(last.cursor as Cursor);
    this.#o.onEvent?.({ type: "window-closed", sourceChainId: src, window: last.cursor.blockNumber / W });
  }

  async #attest(journal: AttesterJournal, items: WatchItem[]): Promise<void> {
    const batch = buildBatch(items.map((i) => i.message));
    const h = batch.header;
    const committee = this.#committee();
    const memberIndex = committee.committee.members.findIndex((m) => m.id === this.#o.memberId);
    if (memberIndex < 0) {
      this.#log.warn("not a member of the active committee; not signing", { memberId: this.#o.memberId, epoch: committee.epoch });
      return;
    }
    const ref = { destinationChainId: h.destinationChainId, firstNonce: h.firstNonce, lastNonce: h.lastNonce, epoch: committee.epoch };
    const prior = journal.signedFor(ref);
    let signature: Uint8Array;
    if (prior) {
      if (toHex(prior.root) !== toHex(h.root)) {
        throw new GatewayError(
          "EQUIVOCATION",
          "this member already signed a different root for this range: the source chain changed below finality",
          {
            facts: { firstNonce: h.firstNonce, lastNonce: h.lastNonce, signedRoot: toHex(prior.root), root: toHex(h.root) },
          },
        );
      }
      signature = prior.signature;
    } else {
      signature = this.#o.bls.sign(this.#o.secretKey, batchSigningRoot(committee.hash, committee.epoch, h));
      await journal.recordSigned({ sourceChainId: h.sourceChainId, ...ref, root: h.root, signature });
    }
    this.#o.onEvent?.({
      type: "signed",
      sourceChainId: h.sourceChainId,
      destinationChainId: h.destinationChainId,
      firstNonce: h.firstNonce,
      lastNonce: h.lastNonce,
      resent: !!prior,
    });
    await this.#submit({
      header: h,
      epoch: committee.epoch,
      memberId: this.#o.memberId,
      signature,
      messages: items.map((i) => i.encoding),
      ...this.#native(h.destinationChainId, batchSigningRoot(committee.hash, committee.epoch, h)),
    });
  }

  /**
   * The native co-signature for a destination that verifies those. It signs the very root the journal
   * already guards, so it needs no journal entry of its own.
   */
  #native(destinationChainId: bigint, signingRoot: Uint8Array): { native?: { scheme: NativeKeySchemeName; signature: Uint8Array }[] } {
    const scheme = this.#o.nativeSchemes?.get(destinationChainId);
    if (!scheme) return {};
    const key = this.#o.nativeKeys?.[scheme];
    if (!key) {
      throw new GatewayError(
        "INVALID_REQUEST",
        `chain ${destinationChainId} verifies ${scheme} co-signatures but this attester has no ${scheme} key`,
        {
          facts: { field: `attesters.nativeKeyFiles.${scheme}`, destinationChainId },
        },
      );
    }
    return { native: [{ scheme, signature: signNative(scheme, key, signingRoot) }] };
  }

  async #submit(req: Parameters<GatewayApi["submitPartial"]>[0]): Promise<void> {
    const signal = this.#closing.signal;
    const backoff = this.#o.retryBackoffMs ?? 1000;
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        const r = await this.#o.gateway.submitPartial(req);
        this.#o.onEvent?.({ type: "submitted", status: r.status, firstNonce: req.header.firstNonce, lastNonce: req.header.lastNonce });
        return;
      } catch (e) {
        const code = e instanceof ShanduError ? e.code : "INTERNAL";
        if (e instanceof ShanduError && e.disposition === "reject") {
          this.#log.error("partial rejected by the gateway", {
            code,
            message: e.shortMessage,
            firstNonce: req.header.firstNonce,
            lastNonce: req.header.lastNonce,
          });
          this.#o.onEvent?.({ type: "rejected", code, firstNonce: req.header.firstNonce, lastNonce: req.header.lastNonce });
          return;
        }
        this.#log.warn("gateway unavailable; retrying", { code, attempt });
        await sleep(Math.min(backoff * attempt, 10 * backoff), undefined, { signal }).catch(() => {});
      }
    }
  }

  /** Stops watching; windows being signed finish first. */
  async close(): Promise<void> {
    this.#closing.abort();
    await Promise.allSettled(this.#running);
  }
}
