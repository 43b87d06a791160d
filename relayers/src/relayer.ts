/**
 * The relayer: a durable JetStream pull consumer per destination lane that delivers attested batches
 * through the destination's adapter. It acks only after the destination confirmed; naks with backoff on
 * transient errors; terms on permanent ones, leaving a termination record with the reason; and skips
 * batches the destination already has (it asks the destination first). Several relayers sharing one
 * durable consumer share the work; a relayer that dies mid-delivery leaves its message unacked, and
 * the next one finds the destination's replay protection in the way of any second execution.
 *
 * Nothing a relayer carries is trusted by the destination, so correctness never depends on the relayer.
 */
import { ADAPTER_ERROR_DISPOSITIONS, AdapterError, type ChainAdapter, type Lane } from "@shandu/adapter-core";
import {
  type BatchQueue,
  batchSubject,
  decodeAttestedBatch,
  type Logger,
  type QueueMessage,
  silentLogger,
  terminatedSubject,
} from "@shandu/gateway";
import { buildBatch, decodeMessage, ShanduError } from "@shandu/proofs";

export type RelayerEvent =
  | {
      type: "delivered";
      lane: string;
      sourceChainId: bigint;
      destinationChainId: bigint;
      firstNonce: bigint;
      lastNonce: bigint;
      executed: number;
      alreadyDelivered: number;
      ms: number;
    }
  | { type: "skipped"; lane: string; sourceChainId: bigint; destinationChainId: bigint; firstNonce: bigint; lastNonce: bigint }
  | { type: "retry"; lane: string; code: string; delayMs: number; deliveryCount: number }
  | { type: "terminated"; lane: string; code: string; reason: string };

export interface RelayerOptions {
  /** Names this relayer in termination records and logs. */
  name: string;
  queue: BatchQueue;
  lanes: readonly Lane[];
  /** Destination adapters by Shandu chain id. */
  destinations: ReadonlyMap<bigint, ChainAdapter>;
  ackWaitMs?: number;
  maxDeliver?: number;
  /** First nak delay; doubles per redelivery up to 60 s. */
  backoffMs?: number;
  log?: Logger;
  onEvent?: (e: RelayerEvent) => void;
}

/** The durable consumer name relayers of one lane share. */
export function relayerDurable(lane: Lane): string {
  return `relay-${lane.sourceChainId}-${lane.destinationChainId}`;
}

export class Relayer {
  readonly #o: RelayerOptions;
  readonly #log: Logger;
  readonly #closing = new AbortController();
  #running: Promise<void>[] = [];

  constructor(o: RelayerOptions) {
    this.#o = o;
    this.#log = o.log ?? silentLogger;
  }

  start(): void {
    for (const lane of this.#o.lanes) {
      const adapter = this.#o.destinations.get(lane.destinationChainId);
      if (!adapter) {
        throw new AdapterError("INVALID_CONFIG", "no destination adapter for a relayed lane", {
          facts: { path: "relayer.lanes", destinationChainId: lane.destinationChainId },
        });
      }
      const consuming = this.#o.queue.consume(
        {
          durable: relayerDurable(lane),
          filterSubject: batchSubject(lane.destinationChainId, lane.sourceChainId),
          ackWaitMs: this.#o.ackWaitMs ?? 30_000,
          maxDeliver: this.#o.maxDeliver ?? 100,
          signal: this.#closing.signal,
        },
        (m) => this.#handle(lane, adapter, m),
      );
      // Observed through done(); never an unhandled rejection.
      consuming.catch((e) =>
        this.#log.error("consumer stopped", { lane: `${lane.sourceChainId}->${lane.destinationChainId}`, error: (e as Error).message }),
      );
      this.#running.push(consuming);
    }
  }

  async #handle(lane: Lane, adapter: ChainAdapter, m: QueueMessage): Promise<void> {
    const laneName = `${lane.sourceChainId}->${lane.destinationChainId}`;
    let batch: ReturnType<typeof decodeAttestedBatch>;
    try {
      batch = decodeAttestedBatch(m.data);
      const h = batch.header;
      if (h.sourceChainId !== lane.sourceChainId || h.destinationChainId !== lane.destinationChainId) {
        throw new AdapterError("WRONG_LANE", "batch published on another lane's subject", { facts: { subject: m.subject } });
      }
    } catch (e) {
      await this.#term(m, lane, e);
      return;
    }
    const h = batch.header;
    const started = Date.now();
    // Keep the message ours while the destination works (transactions can take several blocks).
    const heartbeat = setInterval(() => m.working(), Math.max(200, Math.floor((this.#o.ackWaitMs ?? 30_000) / 3)));
    try {
      const signal = this.#closing.signal;
      if (await this.#allDelivered(adapter, lane, h.firstNonce, h.lastNonce)) {
        await m.ack();
        this.#o.onEvent?.({ type: "skipped", lane: laneName, ...lane, firstNonce: h.firstNonce, lastNonce: h.lastNonce });
        return;
      }
      const built = buildBatch(batch.messages.map((e) => decodeMessage(e)));
      const indices = built.messages.map((_, i) => i);
      const receipt = await adapter.submitBatch(
        {
          header: h,
          attestation: batch.attestation,
          ...(batch.native ? { nativeAttestation: batch.native } : {}),
          committees: batch.committees,
          messages: built.messages,
          proof: built.tree.prove(indices),
        },
        { signal },
      );
      await m.ack();
      this.#o.onEvent?.({
        type: "delivered",
        lane: laneName,
        ...lane,
        firstNonce: h.firstNonce,
        lastNonce: h.lastNonce,
        executed: receipt.executed.length,
        alreadyDelivered: receipt.alreadyDelivered.length,
        ms: Date.now() - started,
      });
      this.#log.info("delivered", { lane: laneName, firstNonce: h.firstNonce, lastNonce: h.lastNonce, executed: receipt.executed.length });
    } catch (e) {
      const code = e instanceof ShanduError ? e.code : "INTERNAL";
      const retry =
        e instanceof AdapterError
          ? ADAPTER_ERROR_DISPOSITIONS[e.code] === "retry"
          : !(e instanceof ShanduError) || e.disposition === "retry";
      if (retry && !(e instanceof AdapterError && e.code === "CANCELLED" && this.#closing.signal.aborted)) {
        const delayMs = Math.min(60_000, (this.#o.backoffMs ?? 1000) * 2 ** Math.min(10, m.deliveryCount - 1));
        m.nak(delayMs);
        this.#o.onEvent?.({ type: "retry", lane: laneName, code, delayMs, deliveryCount: m.deliveryCount });
        this.#log.warn("delivery failed; will retry", { lane: laneName, code, delayMs, message: (e as Error).message });
      } else if (retry) {
        m.nak(0);
      } else {
        await this.#term(m, lane, e);
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #allDelivered(adapter: ChainAdapter, lane: Lane, first: bigint, last: bigint): Promise<boolean> {
    const lastStatus = await adapter.deliveryStatus(lane, last);
    if (lastStatus.status !== "delivered") return false;
    for (let n = first; n < last; n++) if ((await adapter.deliveryStatus(lane, n)).status !== "delivered") return false;
    return true;
  }

  async #term(m: QueueMessage, lane: Lane, e: unknown): Promise<void> {
    const code = e instanceof ShanduError ? e.code : "INTERNAL";
    const reason = e instanceof ShanduError ? e.message : String(e);
    m.term(`${code}: ${reason}`.slice(0, 500));
    const laneName = `${lane.sourceChainId}->${lane.destinationChainId}`;
    this.#log.error("delivery given up", { lane: laneName, code, reason });
    this.#o.onEvent?.({ type: "terminated", lane: laneName, code, reason });
    try {
      await this.#o.queue.recordTermination({
        subject: terminatedSubject(lane.destinationChainId, lane.sourceChainId),
        msgId: m.msgId,
        code,
        reason,
        at: new Date().toISOString(),
        relayer: this.#o.name,
      });
    } catch (err) {
      this.#log.error("termination record not stored", { lane: laneName, error: (err as Error).message });
    }
  }

  /** Stops consuming; deliveries in flight finish or are left unacked for another relayer. */
  async close(): Promise<void> {
    this.#closing.abort();
    await Promise.allSettled(this.#running);
  }

  /** Resolves when all consumers stopped; rejects on a consumer failure. */
  done(): Promise<void> {
    return Promise.all(this.#running).then(() => {});
  }
}
