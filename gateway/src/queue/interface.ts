/**
 * The queue between gateways and relayers. In deployment it is NATS JetStream (`jetstream.ts`); for a
 * laptop without the `nats-server` binary there is an in-process queue with the same semantics
 * (`embedded.ts`), which only works when every gateway and relayer runs in one process.
 *
 * Semantics both implementations keep:
 * - one stream of attested batches, subjects `shandu.batches.<dst>.<src>` ({@link batchSubject});
 * - `publish` de-duplicates by `msgId` (the JetStream `Nats-Msg-Id` window, at least 2 minutes): a
 *   second publish with the same id stores nothing and reports `duplicate: true`;
 * - `consume` is a durable pull consumer: every consumer sharing one `durable` name shares the work,
 *   each message goes to one of them at a time; a message not acked within `ackWaitMs` (its consumer
 *   died) is redelivered to another, up to `maxDeliver` times; `nak(delayMs)` redelivers after the
 *   delay; `term(reason)` never redelivers;
 * - a second stream keeps termination records (`shandu.terminated.<dst>.<src>`) so that the reason a
 *   relayer gave up on a batch survives the relayer and can be listed by anyone.
 */

import { GatewayError } from "../errors.ts";

export const BATCH_PREFIX = "shandu.batches.";
export const TERMINATED_PREFIX = "shandu.terminated.";

/** `shandu.batches.<dst>.<src>`: chain ids in decimal. */
export function batchSubject(destinationChainId: bigint, sourceChainId: bigint): string {
  return `shandu.batches.${destinationChainId}.${sourceChainId}`;
}

/** `shandu.terminated.<dst>.<src>`. */
export function terminatedSubject(destinationChainId: bigint, sourceChainId: bigint): string {
  return `shandu.terminated.${destinationChainId}.${sourceChainId}`;
}

export interface PublishResult {
  /** Stream sequence of the stored message (of the first copy, for a duplicate). */
  seq: number;
  duplicate: boolean;
}

export interface QueueMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** The msgId it was published with. */
  readonly msgId: string;
  /** 1 on first delivery, 2 on the first redelivery, … */
  readonly deliveryCount: number;
  readonly seq: number;
  /** Done: never redelivered. Resolves once the server confirmed the ack. */
  ack(): Promise<void>;
  /** Transient failure: redeliver after `delayMs`. */
  nak(delayMs: number): void;
  /** Permanent failure: never redeliver. Record the reason with {@link BatchQueue.recordTermination}. */
  term(reason: string): void;
  /** Still working: restarts the ack-wait timer (long deliveries). */
  working(): void;
}

export interface ConsumeOptions {
  /** Durable consumer name; consumers with one name share the work. */
  durable: string;
  /** Subject filter, e.g. `shandu.batches.2002.1001` (one lane) or `shandu.batches.2002.>`. */
  filterSubject: string;
  ackWaitMs: number;
  maxDeliver: number;
  /** Handlers running at once in this consumer. */
  concurrency?: number;
  signal: AbortSignal;
}

export interface TerminationRecord {
  subject: string;
  msgId: string;
  code: string;
  reason: string;
  /** ISO 8601. */
  at: string;
  relayer: string;
}

export interface BatchQueue {
  readonly kind: "jetstream" | "embedded";
  /** Creates or updates the streams; idempotent, safe to call from several processes. */
  ensureStreams(): Promise<void>;
  publish(subject: string, data: Uint8Array, msgId: string): Promise<PublishResult>;
  /**
   * Runs `handler` for each message until `opts.signal` aborts; resolves then (after handlers running
   * at that moment finished). A handler that throws naks the message with a 1 s delay. The handler
   * must call exactly one of ack/nak/term.
   */
  consume(opts: ConsumeOptions, handler: (m: QueueMessage) => Promise<void>): Promise<void>;
  recordTermination(record: TerminationRecord): Promise<void>;
  /** Newest last; at most `limit`. */
  listTerminations(filterSubject: string, limit: number): Promise<TerminationRecord[]>;
  /** Messages stored in the batch stream under `filterSubject`, and not yet acked by consumer `durable`. */
  pending(durable: string, filterSubject: string): Promise<number>;
  close(): Promise<void>;
}

/** Throws `INVALID_REQUEST` naming `field` unless `value` is a positive safe integer. */
export function positiveInt(field: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new GatewayError("INVALID_REQUEST", `${field} must be a positive integer`, { facts: { field, value } });
  }
}

/** Checks what both queue implementations require of consume options; durable names are single NATS tokens. */
export function checkConsumeOptions(opts: ConsumeOptions): void {
  if (!/^[A-Za-z0-9_-]+$/.test(opts.durable)) {
    throw new GatewayError("INVALID_REQUEST", "durable must be letters, digits, '_' or '-'", {
      facts: { field: "durable", value: opts.durable },
    });
  }
  if (!opts.filterSubject.startsWith(BATCH_PREFIX)) {
    throw new GatewayError("INVALID_REQUEST", `filterSubject must start with ${BATCH_PREFIX}`, {
      facts: { field: "filterSubject", value: opts.filterSubject },
    });
  }
  positiveInt("ackWaitMs", opts.ackWaitMs);
  positiveInt("maxDeliver", opts.maxDeliver);
  positiveInt("concurrency", opts.concurrency ?? 1);
}

/** `shandu.batches.<dst>.<src>` → `shandu.terminated.<dst>.<src>`; filters are translated the same way. */
export function toTerminated(subject: string, field: string): string {
  if (subject.startsWith(TERMINATED_PREFIX)) return subject;
  if (subject.startsWith(BATCH_PREFIX)) return TERMINATED_PREFIX + subject.slice(BATCH_PREFIX.length);
  throw new GatewayError("INVALID_REQUEST", `${field} must start with ${BATCH_PREFIX} or ${TERMINATED_PREFIX}`, {
    facts: { field, value: subject },
  });
}
