/**
 * Test helpers for code that uses chain adapters: two in-memory chains joined by lanes and trusting the
 * pilot committee, attested deliveries, and bounded reads from a watch. The committee's keys come from
 * public seeds — test use only.
 */
import { type Bls, buildBatch, type ChainId, type Committee, type Message, nobleBls, type RotationRecord } from "@shandu/proofs";
import { attestBatch, pilotCommittee, type TestCommittee } from "@shandu/proofs/testing";
import type { AdapterModules } from "../config.ts";
import type { ChainAdapter, Cursor, Delivery, Lane, WatchItem } from "../interface.ts";
import { MemoryAdapter, MemoryChain, memoryAdapterModule } from "../memory.ts";

export { type ContainerRuntime, probeContainerRuntime, skipWithoutRuntime } from "./containerRuntime.ts";

/** Pilot committee members that meet its policy: both alliances and the regulator (3 of 4 weight). */
export const PILOT_QUORUM: readonly number[] = [0, 1, 3];

export interface ConnectedChains {
  bls: Bls;
  committee: TestCommittee;
  a: MemoryChain;
  b: MemoryChain;
  adapterA: MemoryAdapter;
  adapterB: MemoryAdapter;
  laneAB: Lane;
  laneBA: Lane;
  /** `{ memory: … }` over both chains, for code that creates adapters from config. */
  modules: AdapterModules;
  /** {@link attestedDelivery} by the pilot committee. */
  attest(messages: readonly Message[], opts?: DeliveryOptions): Delivery;
}

export interface ConnectedChainsOptions {
  bls?: Bls;
  /** The genesis both inboxes trust (default: `pilotCommittee(bls)`; pass one to reuse its keys across tests). */
  committee?: TestCommittee;
  chainIdA?: ChainId;
  chainIdB?: ChainId;
  finalityDepthBlocks?: number;
  autoMine?: boolean;
  nowSeconds?: () => bigint;
}

/**
 * Chains A (id 1) and B (id 2), each inbox trusting the pilot committee (epoch 0). Defaults: the
 * pure-JS BLS backend, finality depth 0, a block per send.
 */
export function connectedChains(opts: ConnectedChainsOptions = {}): ConnectedChains {
  const bls = opts.bls ?? nobleBls;
  const committee = opts.committee ?? pilotCommittee(bls);
  const common = {
    finalityDepthBlocks: opts.finalityDepthBlocks ?? 0,
    trustedGenesis: committee.committee,
    bls,
    ...(opts.autoMine === undefined ? {} : { autoMine: opts.autoMine }),
    ...(opts.nowSeconds ? { nowSeconds: opts.nowSeconds } : {}),
  };
  const a = new MemoryChain({ chainId: opts.chainIdA ?? 1n, ...common });
  const b = new MemoryChain({ chainId: opts.chainIdB ?? 2n, ...common });
  return {
    bls,
    committee,
    a,
    b,
    adapterA: new MemoryAdapter(a),
    adapterB: new MemoryAdapter(b),
    laneAB: { sourceChainId: a.chainId, destinationChainId: b.chainId },
    laneBA: { sourceChainId: b.chainId, destinationChainId: a.chainId },
    modules: { memory: memoryAdapterModule([a, b]) },
    attest: (messages, o) => attestedDelivery(bls, committee, messages, o),
  };
}

/** Sends `count` app messages from `from` to `to`, with payloads "deed-1", "deed-2"… Returns them. */
export function sendDeeds(from: MemoryChain, to: ChainId, count: number): Message[] {
  const enc = new TextEncoder();
  return Array.from({ length: count }, (_, i) =>
    from.send({
      destinationChainId: to,
      sender: enc.encode("distributor"),
      recipient: enc.encode("issuer"),
      payload: enc.encode(`deed-${i + 1}`),
    }),
  );
}

export interface DeliveryOptions {
  /** Committee members that sign (default {@link PILOT_QUORUM}). */
  signers?: readonly number[];
  /** Positions within `messages` to deliver (default all); the batch still covers every message. */
  deliver?: readonly number[];
  /** The committee chain carried with the delivery (default: `committee` as genesis, no rotations). */
  genesis?: Committee;
  rotations?: RotationRecord[];
}

/**
 * Batches `messages` (one lane, contiguous nonces), has `committee` attest the batch and returns a
 * delivery of the chosen messages with their multiproof. For a later epoch pass its `genesis` and the
 * `rotations` leading to it.
 */
export function attestedDelivery(bls: Bls, committee: TestCommittee, messages: readonly Message[], opts: DeliveryOptions = {}): Delivery {
  const batch = buildBatch(messages);
  const indices = [...(opts.deliver ?? messages.map((_, i) => i))];
  return {
    header: batch.header,
    attestation: attestBatch(bls, committee, [...(opts.signers ?? PILOT_QUORUM)], batch.header),
    committees: { genesis: opts.genesis ?? committee.committee, rotations: opts.rotations ?? [] },
    messages: indices.map((i) => batch.messages[i]!),
    proof: batch.tree.prove(indices),
  };
}

/**
 * Reads `count` items from `adapter.watch(from)` and stops the watch. Rejects with the watch's error, or
 * with a `RangeError` when fewer items arrive within `timeoutMs`.
 */
export async function takeFromWatch(adapter: ChainAdapter, from: Cursor, count: number, timeoutMs = 2000): Promise<WatchItem[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const items: WatchItem[] = [];
  try {
    if (count > 0) {
      for await (const item of adapter.watch(from, { signal: controller.signal })) {
        items.push(item);
        if (items.length === count) break;
      }
    }
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  if (items.length < count) throw new RangeError(`watch yielded ${items.length} of ${count} items within ${timeoutMs} ms`);
  return items;
}
