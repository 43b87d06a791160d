/**
 * {@link BatchQueue} over NATS JetStream: the deployment queue between gateways and relayers.
 *
 * Two file-backed streams with limits retention (not work-queue retention), so any number of durable
 * consumers — relayers, auditors — read the same batches independently:
 * - the batch stream (`shandu.batches.>`), de-duplicating publishes by `Nats-Msg-Id` over `duplicateWindowMs`;
 * - the termination stream (`shandu.terminated.>`), one JSON {@link TerminationRecord} per message.
 *
 * A consumer is a durable pull consumer (explicit ack); `consume` pulls exactly as many messages as it has
 * free handler slots, so no message waits in a client buffer while its ack-wait timer runs.
 *
 * Works with nats-server 2.9 and later. Older servers lack a few JetStream features, and this module avoids
 * them: `+TERM <reason>` (2.11) is sent as a plain `+TERM` (a 2.9 server ignores an ack with a reason and
 * would redeliver); multi-filter and ordered-with-filter consumers (2.10) are replaced by one ephemeral pull
 * consumer with a single filter; batch direct get (2.11) is not used; consumer create-or-update uses the
 * `create` action and falls back to `update` where the server (2.10+) refuses to change an existing consumer.
 *
 * Trust: message payloads are untrusted bytes; termination records read back are validated and malformed
 * ones skipped. Connection failures and timeouts throw {@link GatewayError} `UNAVAILABLE` naming the servers.
 */
import {
  AckPolicy,
  type Consumer,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { connect, type NatsConnection, nanos } from "@nats-io/transport-node";
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

export interface JetStreamQueueOptions {
  /** NATS server URLs, e.g. `["nats://127.0.0.1:4222"]`. */
  servers: string[];
  /** Connection name shown by the server; default "shandu". */
  name?: string;
  /** Default "SHANDU_BATCHES". */
  streamName?: string;
  /** Default "SHANDU_TERMINATED". */
  terminatedStreamName?: string;
  /** The de-duplication window of the batch stream; default 120,000 ms (the interface's minimum). */
  duplicateWindowMs?: number;
  /** Stream replicas (a clustered server); default 1. */
  replicas?: number;
  /** Timeout of each JetStream API request, publish and ack confirmation; default 5,000 ms. */
  requestTimeoutMs?: number;
  /** How long one pull request waits for messages before the next is sent; default 5,000 ms, at least 1,000. */
  pullExpiresMs?: number;
}

const BATCH_SUBJECTS = "shandu.batches.>";
const TERMINATED_SUBJECTS = "shandu.terminated.>";
/** nats-server's "stream name already in use with a different configuration". */
const STREAM_NAME_EXISTS = 10058;
/** nats-server 2.10+: "consumer already exists" (create action against a consumer with another config). */
const CONSUMER_EXISTS = 10148;
const NATS_MSG_ID = "Nats-Msg-Id";

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Parses "2.9.10" (or "2.11.0-beta") into a comparable number; 0 when unknown. */
function versionNumber(v: string | undefined): number {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v ?? "");
  return m ? Number(m[1]) * 1_000_000 + Number(m[2]) * 1_000 + Number(m[3]) : 0;
}

function parseTermination(data: Uint8Array): TerminationRecord | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;
    const fields = ["subject", "msgId", "code", "reason", "at", "relayer"] as const;
    if (typeof v !== "object" || v === null || fields.some((f) => typeof v[f] !== "string")) return null;
    return { subject: v.subject, msgId: v.msgId, code: v.code, reason: v.reason, at: v.at, relayer: v.relayer } as TerminationRecord;
  } catch {
    return null;
  }
}

/**
 * Connects to NATS and checks that JetStream is enabled. Does not create the streams: call
 * {@link JetStreamQueue.ensureStreams}. Throws `GatewayError` `UNAVAILABLE` (no server at `servers`, or a
 * server without JetStream).
 */
export async function connectJetStreamQueue(opts: JetStreamQueueOptions): Promise<JetStreamQueue> {
  const servers = opts.servers.join(", ");
  const timeout = opts.requestTimeoutMs ?? 5_000;
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: opts.servers,
      name: opts.name ?? "shandu",
      timeout,
      // A gateway or relayer outlives server restarts: keep reconnecting; calls fail UNAVAILABLE meanwhile.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
    });
  } catch (cause) {
    throw new GatewayError("UNAVAILABLE", `cannot connect to NATS at ${servers}: ${errorText(cause)}`, {
      facts: { servers, hint: "is nats-server running there (nats-server -js)?" },
      cause,
    });
  }
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout });
  } catch (cause) {
    await nc.close().catch(() => {});
    throw new GatewayError("UNAVAILABLE", `NATS at ${servers} has no JetStream: ${errorText(cause)}`, {
      facts: { servers, hint: "start nats-server with -js (JetStream enabled)" },
      cause,
    });
  }
  return new JetStreamQueue({ nc, jsm, js: jetstream(nc, { timeout }), options: opts });
}

/** Use {@link connectJetStreamQueue}; the constructor takes an open connection. */
export class JetStreamQueue implements BatchQueue {
  readonly kind = "jetstream" as const;
  readonly streamName: string;
  readonly terminatedStreamName: string;
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;
  readonly #servers: string;
  readonly #duplicateWindowMs: number;
  readonly #replicas: number;
  readonly #timeoutMs: number;
  readonly #pullExpiresMs: number;
  readonly #closing = new AbortController();
  readonly #consumers = new Set<Promise<void>>();
  /** Called after the client reconnected: a pull request sent before is lost with the old server. */
  readonly #onReconnect = new Set<() => void>();
  #closed: Promise<void> | undefined;

  constructor(init: { nc: NatsConnection; jsm: JetStreamManager; js: JetStreamClient; options: JetStreamQueueOptions }) {
    const o = init.options;
    this.#nc = init.nc;
    this.#jsm = init.jsm;
    this.#js = init.js;
    this.#servers = o.servers.join(", ");
    this.streamName = o.streamName ?? "SHANDU_BATCHES";
    this.terminatedStreamName = o.terminatedStreamName ?? "SHANDU_TERMINATED";
    this.#duplicateWindowMs = o.duplicateWindowMs ?? 120_000;
    this.#replicas = o.replicas ?? 1;
    this.#timeoutMs = o.requestTimeoutMs ?? 5_000;
    this.#pullExpiresMs = Math.max(1_000, o.pullExpiresMs ?? 5_000);
    positiveInt("duplicateWindowMs", this.#duplicateWindowMs);
    positiveInt("replicas", this.#replicas);
    void this.#watchStatus();
  }

  async #watchStatus(): Promise<void> {
    try {
      for await (const s of this.#nc.status()) {
        if (s.type === "reconnect") for (const f of this.#onReconnect) f();
      }
    } catch {
      // The iterator ends with the connection.
    }
  }

  /** The server's version, e.g. "2.9.10". */
  get serverVersion(): string {
    return this.#nc.info?.version ?? "unknown";
  }

  /** `+TERM <reason>` needs nats-server 2.11; older servers ignore it and redeliver. */
  get #termTakesReason(): boolean {
    return versionNumber(this.#nc.info?.version) >= versionNumber("2.11.0");
  }

  /** Maps client failures to `GatewayError`: API errors are the server refusing, the rest is unavailability. */
  #fail(what: string, cause: unknown): GatewayError {
    if (cause instanceof GatewayError) return cause;
    if (this.#closing.signal.aborted) return new GatewayError("CLOSED", `${what}: the queue is closed`, { cause });
    if (cause instanceof JetStreamApiError) {
      return new GatewayError("INVALID_REQUEST", `${what}: JetStream at ${this.#servers} refused: ${cause.message}`, {
        facts: { servers: this.#servers, apiCode: cause.code },
        cause,
      });
    }
    return new GatewayError("UNAVAILABLE", `${what}: NATS JetStream at ${this.#servers} did not answer: ${errorText(cause)}`, {
      facts: { servers: this.#servers, hint: "is nats-server running there with -js, and were the streams created (ensureStreams)?" },
      cause,
    });
  }

  #assertOpen(what: string): void {
    if (this.#closing.signal.aborted) throw new GatewayError("CLOSED", `${what}: the queue is closed`);
  }

  async ensureStreams(): Promise<void> {
    this.#assertOpen("ensureStreams");
    const common = {
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: this.#replicas,
      duplicate_window: nanos(this.#duplicateWindowMs),
    };
    await this.#ensureStream({ ...common, name: this.streamName, subjects: [BATCH_SUBJECTS] });
    await this.#ensureStream({ ...common, name: this.terminatedStreamName, subjects: [TERMINATED_SUBJECTS] });
  }

  async #ensureStream(cfg: Partial<StreamConfig> & { name: string }): Promise<void> {
    try {
      await this.#jsm.streams.add(cfg);
    } catch (e) {
      if (!(e instanceof JetStreamApiError && e.code === STREAM_NAME_EXISTS)) throw this.#fail(`create stream ${cfg.name}`, e);
      // It exists with another configuration (older settings, or another process's): bring ours in.
      try {
        await this.#jsm.streams.update(cfg.name, {
          subjects: cfg.subjects ?? [],
          duplicate_window: cfg.duplicate_window ?? 0,
          num_replicas: cfg.num_replicas ?? 1,
        });
      } catch (e2) {
        throw this.#fail(`update stream ${cfg.name}`, e2);
      }
    }
  }

  async publish(subject: string, data: Uint8Array, msgId: string): Promise<PublishResult> {
    this.#assertOpen("publish");
    if (!subject.startsWith(BATCH_PREFIX)) {
      throw new GatewayError("INVALID_REQUEST", `subject must start with ${BATCH_PREFIX}`, { facts: { field: "subject", value: subject } });
    }
    if (msgId === "") throw new GatewayError("INVALID_REQUEST", "msgId is empty", { facts: { field: "msgId" } });
    try {
      const ack = await this.#js.publish(subject, data, {
        msgID: msgId,
        expect: { streamName: this.streamName },
        timeout: this.#timeoutMs,
      });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (e) {
      throw this.#fail("publish", e);
    }
  }

  async #ensureConsumer(opts: ConsumeOptions): Promise<void> {
    const cfg: Partial<ConsumerConfig> = {
      durable_name: opts.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(opts.ackWaitMs),
      max_deliver: opts.maxDeliver,
      filter_subject: opts.filterSubject,
    };
    try {
      // 2.9 treats create as create-or-update; 2.10+ refuses to change an existing consumer this way.
      await this.#jsm.consumers.add(this.streamName, cfg);
    } catch (e) {
      if (!(e instanceof JetStreamApiError && e.code === CONSUMER_EXISTS)) throw this.#fail(`create consumer ${opts.durable}`, e);
      try {
        await this.#jsm.consumers.update(this.streamName, opts.durable, {
          ack_wait: cfg.ack_wait,
          max_deliver: opts.maxDeliver,
          filter_subject: opts.filterSubject,
        });
      } catch (e2) {
        throw this.#fail(`update consumer ${opts.durable}`, e2);
      }
    }
  }

  /**
   * Creates or updates the durable consumer, then pulls and runs handlers until `opts.signal` aborts or the
   * queue is closed. A lost connection is retried (the client reconnects); messages delivered meanwhile are
   * redelivered after `ackWaitMs`.
   */
  async consume(opts: ConsumeOptions, handler: (m: QueueMessage) => Promise<void>): Promise<void> {
    checkConsumeOptions(opts);
    this.#assertOpen("consume");
    const signal = AbortSignal.any([opts.signal, this.#closing.signal]);
    if (signal.aborted) return;
    await this.#ensureConsumer(opts);
    const run = this.#consumeLoop(opts, signal, handler);
    this.#consumers.add(run);
    try {
      await run;
    } finally {
      this.#consumers.delete(run);
    }
  }

  async #consumeLoop(opts: ConsumeOptions, signal: AbortSignal, handler: (m: QueueMessage) => Promise<void>): Promise<void> {
    const concurrency = opts.concurrency ?? 1;
    const inflight = new Set<Promise<void>>();
    let consumer: Consumer | undefined;
    let batch: ConsumerMessages | undefined;
    const stopPull = () => batch?.stop();
    signal.addEventListener("abort", stopPull, { once: true });
    // Re-pull at once after a reconnect instead of waiting for the lost pull request to expire.
    this.#onReconnect.add(stopPull);
    const aborted = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    let failures = 0;
    try {
      while (!signal.aborted) {
        if (inflight.size >= concurrency) {
          await Promise.race([...inflight, aborted]);
          continue;
        }
        try {
          consumer ??= await this.#js.consumers.get(this.streamName, opts.durable);
          // Pull only as many as there are free slots: a buffered message's ack wait would run unhandled.
          batch = await consumer.fetch({ max_messages: concurrency - inflight.size, expires: this.#pullExpiresMs });
          if (signal.aborted) batch.stop();
          for await (const m of batch) {
            const p: Promise<void> = this.#handle(m, handler).finally(() => inflight.delete(p));
            inflight.add(p);
          }
          failures = 0;
        } catch (e) {
          if (signal.aborted) break;
          if (this.#nc.isClosed()) throw this.#fail("consume", e);
          consumer = undefined;
          // The consumer may have been deleted (or the server lost it): recreate it, then back off.
          if (e instanceof JetStreamApiError || /consumer/i.test(errorText(e))) {
            await this.#ensureConsumer(opts).catch(() => {});
          }
          failures++;
          await sleep(Math.min(250 * 2 ** Math.min(failures, 3), 2_000), signal);
        } finally {
          batch = undefined;
        }
      }
    } finally {
      signal.removeEventListener("abort", stopPull);
      this.#onReconnect.delete(stopPull);
      await Promise.allSettled(inflight);
    }
  }

  async #handle(m: JsMsg, handler: (m: QueueMessage) => Promise<void>): Promise<void> {
    const termTakesReason = this.#termTakesReason;
    const msg: QueueMessage = {
      subject: m.subject,
      data: m.data,
      msgId: m.headers?.get(NATS_MSG_ID) ?? "",
      deliveryCount: m.info.deliveryCount,
      seq: m.seq,
      ack: async () => {
        try {
          await m.ackAck({ timeout: this.#timeoutMs });
        } catch (e) {
          throw this.#fail("ack", e);
        }
      },
      nak: (delayMs) => m.nak(Math.max(0, Math.round(delayMs))),
      term: (reason) => (termTakesReason && reason ? m.term(reason) : m.term()),
      working: () => m.working(),
    };
    try {
      await handler(msg);
    } catch {
      // Ignored by the server if the handler settled the message before throwing.
      msg.nak(1_000);
    }
  }

  /** Publishes the record to `shandu.terminated.<dst>.<src>`, derived from `record.subject` (a batch subject). */
  async recordTermination(record: TerminationRecord): Promise<void> {
    this.#assertOpen("recordTermination");
    const subject = toTerminated(record.subject, "subject");
    const { subject: s, msgId, code, reason, at, relayer } = record;
    const data = new TextEncoder().encode(JSON.stringify({ subject: s, msgId, code, reason, at, relayer }));
    try {
      await this.#js.publish(subject, data, { expect: { streamName: this.terminatedStreamName }, timeout: this.#timeoutMs });
    } catch (e) {
      throw this.#fail("recordTermination", e);
    }
  }

  /**
   * The newest `limit` records under `filterSubject` (a `shandu.terminated.…` filter; a `shandu.batches.…`
   * filter is translated), oldest first. Reads through one ephemeral consumer starting far enough back:
   * the window grows until it holds `limit` matches or reaches the start of the stream.
   */
  async listTerminations(filterSubject: string, limit: number): Promise<TerminationRecord[]> {
    this.#assertOpen("listTerminations");
    const filter = toTerminated(filterSubject, "filterSubject");
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new GatewayError("INVALID_REQUEST", "limit must be a non-negative integer", { facts: { field: "limit", value: limit } });
    }
    if (limit === 0) return [];
    try {
      const { state } = await this.#jsm.streams.info(this.terminatedStreamName);
      if (state.messages === 0) return [];
      for (let window = Math.max(limit * 2, 64); ; window *= 4) {
        const start = Math.max(state.first_seq, state.last_seq - window + 1);
        const fromStart = start <= state.first_seq;
        const ci = await this.#jsm.consumers.add(this.terminatedStreamName, {
          ack_policy: AckPolicy.None,
          deliver_policy: fromStart ? DeliverPolicy.All : DeliverPolicy.StartSequence,
          ...(fromStart ? {} : { opt_start_seq: start }),
          filter_subject: filter,
          inactive_threshold: nanos(30_000),
          mem_storage: true,
          num_replicas: 1,
        });
        try {
          if (ci.num_pending >= limit || fromStart) return await this.#readLast(ci.name, ci.num_pending, limit);
        } finally {
          await this.#jsm.consumers.delete(this.terminatedStreamName, ci.name).catch(() => {});
        }
      }
    } catch (e) {
      throw this.#fail("listTerminations", e);
    }
  }

  async #readLast(consumerName: string, available: number, limit: number): Promise<TerminationRecord[]> {
    const out: TerminationRecord[] = [];
    if (available === 0) return out;
    const consumer = await this.#js.consumers.get(this.terminatedStreamName, consumerName);
    let read = 0;
    while (read < available) {
      const batch = await consumer.fetch({ max_messages: Math.min(available - read, 256), expires: 1_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        const r = parseTermination(m.data);
        if (r) {
          out.push(r);
          if (out.length > limit) out.shift();
        }
        if (m.info.pending === 0) read = available;
      }
      read += got;
      if (got === 0) break;
    }
    return out;
  }

  /**
   * `num_pending + num_ack_pending` of consumer `durable`, which must filter on `filterSubject`; before the
   * consumer exists, the number of messages stored under `filterSubject`. A message that used up
   * `maxDeliver` deliveries or was terminated no longer counts.
   */
  async pending(durable: string, filterSubject: string): Promise<number> {
    this.#assertOpen("pending");
    try {
      const ci = await this.#jsm.consumers.info(this.streamName, durable);
      const consumerFilter = ci.config.filter_subject ?? ">";
      if (consumerFilter !== filterSubject) {
        throw new GatewayError("INVALID_REQUEST", "consumer filters on another subject", {
          facts: { field: "filterSubject", durable, filterSubject, consumerFilter },
        });
      }
      return ci.num_pending + ci.num_ack_pending;
    } catch (e) {
      if (!(e instanceof JetStreamApiError && e.code === 10014)) throw this.#fail("pending", e);
    }
    try {
      const si = await this.#jsm.streams.info(this.streamName, { subjects_filter: filterSubject });
      return Object.values(si.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    } catch (e) {
      throw this.#fail("pending", e);
    }
  }

  /** Stops every `consume` (waiting for running handlers) and closes the connection. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      await Promise.allSettled([...this.#consumers]);
      await this.#nc.close().catch(() => {});
    })();
    return this.#closed;
  }
}
