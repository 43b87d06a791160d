/**
 * {@link BatchQueue} in process memory, with the semantics of the JetStream queue (`jetstream.ts`):
 * `msgId` de-duplication over a window, durable consumers that share work, ack-wait timers with
 * redelivery, `nak` delays, `term`, `maxDeliver`, handler concurrency and pending counts.
 *
 * ONE PROCESS ONLY: it exists so that a devnet runs on a laptop without the `nats-server` binary, with
 * every gateway and relayer in one process sharing one `EmbeddedQueue`. Nothing survives the process, and
 * two processes never see each other's messages. Use JetStream for anything else.
 *
 * Messages are delivered in stream order, redeliveries first; with several consumers on one durable,
 * messages go round-robin to those with a free handler slot.
 */
import { GatewayError } from "../errors.ts";
import {
  BATCH_PREFIX,
  type BatchQueue,
  type ConsumeOptions,
  checkConsumeOptions,
  type PublishResult,
  positiveInt,
  type QueueMessage,
  type TerminationRecord,
  toTerminated,
} from "./interface.ts";

export interface EmbeddedQueueOptions {
  /** How long a `msgId` is remembered for de-duplication; default 120,000 ms. */
  duplicateWindowMs?: number;
}

interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgId: string;
}

/** A message delivered and not yet acked, terminated or out of deliveries (JetStream's "ack pending"). */
interface AckPending {
  readonly seq: number;
  /** Deliveries so far; also identifies the current delivery. */
  deliveries: number;
  /** `inflight`: with a handler, ack-wait timer running; `delayed`: nak'd, delay timer running; `ready`: waiting for a consumer. */
  state: "inflight" | "delayed" | "ready";
  timer: NodeJS.Timeout | undefined;
}

interface Puller {
  free(): number;
  give(m: QueueMessage): void;
}

interface Durable {
  filter: string;
  ackWaitMs: number;
  maxDeliver: number;
  /** Next stream sequence not yet delivered to this durable. */
  cursor: number;
  readonly pending: Map<number, AckPending>;
  /** Sequences waiting for redelivery, ascending. */
  readonly ready: number[];
  readonly pullers: Puller[];
  /** Round-robin position in `pullers`. */
  next: number;
}

/** NATS subject matching: `*` is one token, a final `>` is one or more tokens. */
function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    const t = f[i];
    if (t === ">") return i === f.length - 1 && s.length > i;
    if (i >= s.length) return false;
    if (t !== "*" && t !== s[i]) return false;
  }
  return f.length === s.length;
}

function timer(ms: number, fn: () => void): NodeJS.Timeout {
  const t = setTimeout(fn, ms);
  t.unref();
  return t;
}

/** The in-process queue. Not shared between processes; see the module documentation. */
export class EmbeddedQueue implements BatchQueue {
  readonly kind = "embedded" as const;
  readonly #duplicateWindowMs: number;
  readonly #messages: StoredMessage[] = [];
  /** msgId → first copy's sequence and publish time; insertion order is time order. */
  readonly #seen = new Map<string, { seq: number; atMs: number }>();
  readonly #terminations: { subject: string; record: TerminationRecord }[] = [];
  readonly #durables = new Map<string, Durable>();
  readonly #closing = new AbortController();
  readonly #consumers = new Set<Promise<void>>();
  #closed: Promise<void> | undefined;

  constructor(opts: EmbeddedQueueOptions = {}) {
    this.#duplicateWindowMs = opts.duplicateWindowMs ?? 120_000;
    positiveInt("duplicateWindowMs", this.#duplicateWindowMs);
  }

  #assertOpen(what: string): void {
    if (this.#closing.signal.aborted) throw new GatewayError("CLOSED", `${what}: the queue is closed`);
  }

  async ensureStreams(): Promise<void> {
    this.#assertOpen("ensureStreams");
  }

  async publish(subject: string, data: Uint8Array, msgId: string): Promise<PublishResult> {
    this.#assertOpen("publish");
    if (!subject.startsWith(BATCH_PREFIX) || subject.split(".").some((t) => t === "" || t === "*" || t === ">")) {
      throw new GatewayError("INVALID_REQUEST", `subject must be a literal ${BATCH_PREFIX}… subject`, {
        facts: { field: "subject", value: subject },
      });
    }
    if (msgId === "") throw new GatewayError("INVALID_REQUEST", "msgId is empty", { facts: { field: "msgId" } });
    const now = Date.now();
    for (const [id, entry] of this.#seen) {
      if (now - entry.atMs < this.#duplicateWindowMs) break;
      this.#seen.delete(id);
    }
    const seen = this.#seen.get(msgId);
    if (seen) return { seq: seen.seq, duplicate: true };
    const seq = this.#messages.length + 1;
    this.#messages.push({ seq, subject, data: data.slice(), msgId });
    this.#seen.set(msgId, { seq, atMs: now });
    for (const d of this.#durables.values()) this.#dispatch(d);
    return { seq, duplicate: false };
  }

  /** Creates the durable on first use and updates its ack wait, max deliver and filter on later calls. */
  async consume(opts: ConsumeOptions, handler: (m: QueueMessage) => Promise<void>): Promise<void> {
    checkConsumeOptions(opts);
    this.#assertOpen("consume");
    const signal = AbortSignal.any([opts.signal, this.#closing.signal]);
    if (signal.aborted) return;
    let d = this.#durables.get(opts.durable);
    if (!d) {
      d = { filter: opts.filterSubject, ackWaitMs: 0, maxDeliver: 0, cursor: 1, pending: new Map(), ready: [], pullers: [], next: 0 };
      this.#durables.set(opts.durable, d);
    }
    d.filter = opts.filterSubject;
    d.ackWaitMs = opts.ackWaitMs;
    d.maxDeliver = opts.maxDeliver;
    const durable = d;
    const concurrency = opts.concurrency ?? 1;

    const run = new Promise<void>((resolve) => {
      let running = 0;
      let stopped = false;
      const puller: Puller = {
        free: () => (stopped ? 0 : concurrency - running),
        give: (m) => {
          running++;
          // Start the handler outside dispatch, so a handler settling at once does not re-enter it.
          Promise.resolve()
            .then(() => handler(m))
            .catch(() => m.nak(1_000))
            .finally(() => {
              running--;
              if (!stopped) this.#dispatch(durable);
              else if (running === 0) resolve();
            });
        },
      };
      const stop = () => {
        stopped = true;
        const i = durable.pullers.indexOf(puller);
        if (i >= 0) durable.pullers.splice(i, 1);
        if (running === 0) resolve();
      };
      signal.addEventListener("abort", stop, { once: true });
      durable.pullers.push(puller);
      this.#dispatch(durable);
    });
    this.#consumers.add(run);
    try {
      await run;
    } finally {
      this.#consumers.delete(run);
    }
  }

  /** Hands ready messages (redeliveries first, then new ones in order) to pullers with free slots, round-robin. */
  #dispatch(d: Durable): void {
    for (;;) {
      const n = d.pullers.length;
      let puller: Puller | undefined;
      for (let k = 0; k < n && !puller; k++) {
        const i = (d.next + k) % n;
        const p = d.pullers[i];
        if (p && p.free() > 0) {
          puller = p;
          d.next = i + 1;
        }
      }
      if (!puller) return;
      const seq = this.#nextSeq(d);
      if (seq === undefined) return;
      puller.give(this.#deliver(d, seq));
    }
  }

  #nextSeq(d: Durable): number | undefined {
    const redelivery = d.ready.shift();
    if (redelivery !== undefined) return redelivery;
    while (d.cursor <= this.#messages.length) {
      const m = this.#messages[d.cursor - 1];
      d.cursor++;
      if (m && subjectMatches(d.filter, m.subject)) return m.seq;
    }
    return undefined;
  }

  #deliver(d: Durable, seq: number): QueueMessage {
    // Sequences come from #nextSeq, so the message exists.
    const stored = this.#messages[seq - 1]!;
    let p = d.pending.get(seq);
    if (!p) {
      p = { seq, deliveries: 0, state: "inflight", timer: undefined };
      d.pending.set(seq, p);
    }
    const entry = p;
    entry.deliveries++;
    entry.state = "inflight";
    const delivery = entry.deliveries;
    const current = () => d.pending.get(seq) === entry && entry.deliveries === delivery && entry.state === "inflight";
    const startAckWait = () => {
      clearTimeout(entry.timer);
      entry.timer = timer(d.ackWaitMs, () => {
        if (current()) this.#retry(d, entry, 0);
      });
    };
    startAckWait();
    let settled = false;
    // Like JetStream: an ack or term from an older delivery still settles the message while it is pending.
    const finish = () => {
      if (d.pending.get(seq) !== entry) return;
      clearTimeout(entry.timer);
      d.pending.delete(seq);
      const i = d.ready.indexOf(seq);
      if (i >= 0) d.ready.splice(i, 1);
    };
    return {
      subject: stored.subject,
      data: stored.data,
      msgId: stored.msgId,
      deliveryCount: delivery,
      seq,
      ack: async () => {
        if (settled) return;
        settled = true;
        finish();
      },
      nak: (delayMs) => {
        if (settled) return;
        settled = true;
        if (current()) this.#retry(d, entry, delayMs);
      },
      term: () => {
        if (settled) return;
        settled = true;
        finish();
      },
      working: () => {
        if (!settled && current()) startAckWait();
      },
    };
  }

  /** Redelivers after `delayMs`, or drops the message from pending once it has had `maxDeliver` deliveries. */
  #retry(d: Durable, entry: AckPending, delayMs: number): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    if (entry.deliveries >= d.maxDeliver) {
      d.pending.delete(entry.seq);
      return;
    }
    const makeReady = () => {
      entry.state = "ready";
      entry.timer = undefined;
      const at = d.ready.findIndex((s) => s > entry.seq);
      d.ready.splice(at < 0 ? d.ready.length : at, 0, entry.seq);
      this.#dispatch(d);
    };
    if (delayMs > 0) {
      entry.state = "delayed";
      entry.timer = timer(delayMs, makeReady);
    } else {
      makeReady();
    }
  }

  /** Stores the record under `shandu.terminated.<dst>.<src>`, derived from `record.subject` (a batch subject). */
  async recordTermination(record: TerminationRecord): Promise<void> {
    this.#assertOpen("recordTermination");
    const subject = toTerminated(record.subject, "subject");
    this.#terminations.push({ subject, record: { ...record } });
  }

  /** A `shandu.terminated.…` filter (a `shandu.batches.…` filter is translated); oldest first. */
  async listTerminations(filterSubject: string, limit: number): Promise<TerminationRecord[]> {
    this.#assertOpen("listTerminations");
    const filter = toTerminated(filterSubject, "filterSubject");
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new GatewayError("INVALID_REQUEST", "limit must be a non-negative integer", { facts: { field: "limit", value: limit } });
    }
    if (limit === 0) return [];
    const matching = this.#terminations.filter((t) => subjectMatches(filter, t.subject)).map((t) => ({ ...t.record }));
    return matching.slice(-limit);
  }

  /** Not yet delivered plus delivered-not-settled; the durable must filter on `filterSubject` (as in JetStream). */
  async pending(durable: string, filterSubject: string): Promise<number> {
    this.#assertOpen("pending");
    const d = this.#durables.get(durable);
    if (!d) return this.#messages.filter((m) => subjectMatches(filterSubject, m.subject)).length;
    if (d.filter !== filterSubject) {
      throw new GatewayError("INVALID_REQUEST", "consumer filters on another subject", {
        facts: { field: "filterSubject", durable, filterSubject, consumerFilter: d.filter },
      });
    }
    let undelivered = 0;
    for (let seq = d.cursor; seq <= this.#messages.length; seq++) {
      const m = this.#messages[seq - 1];
      if (m && subjectMatches(d.filter, m.subject)) undelivered++;
    }
    return undelivered + d.pending.size;
  }

  /** Stops every `consume` (waiting for running handlers) and drops all timers. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      await Promise.allSettled([...this.#consumers]);
      for (const d of this.#durables.values()) for (const p of d.pending.values()) clearTimeout(p.timer);
    })();
    return this.#closed;
  }
}
