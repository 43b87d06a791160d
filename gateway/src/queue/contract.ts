/**
 * The behaviour every {@link BatchQueue} must have, as one test suite run against each implementation
 * (`embedded.test.ts`, `jetstream.int.test.ts`). Call {@link queueContract} inside a `describe`.
 *
 * Tests share one queue and stay apart by using their own lane (destination chain id), durable names and
 * msgIds, so a JetStream run needs one server for the whole suite.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { type BatchQueue, batchSubject, type QueueMessage, type TerminationRecord, terminatedSubject } from "./interface.ts";

export interface QueueContractTarget {
  /**
   * A handle on the queue under test, streams ensured. Handles share messages and durables: two handles
   * model two processes (JetStream: two connections; embedded: the same instance). The suite never closes them.
   */
  handle(): Promise<BatchQueue>;
  /** The ack wait the tests use; short, so the suite runs in seconds. */
  ackWaitMs: number;
}

const SOURCE = 1001n;
let nextLane = 0;
const run = `${process.pid}-${Date.now().toString(36)}`;

/** A lane of its own: subject, durable prefix and msgId prefix nobody else in the suite uses. */
function lane() {
  const n = ++nextLane;
  const destination = 7000n + BigInt(n);
  return {
    subject: batchSubject(destination, SOURCE),
    terminated: terminatedSubject(destination, SOURCE),
    durable: (name: string) => `c${n}-${name}`,
    msgId: (i: number | string) => `${run}:${n}:${i}`,
  };
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A resolvable promise, for handlers the test releases. */
function gate(): { promise: Promise<void>; open(): void } {
  let open = () => {};
  const promise = new Promise<void>((r) => {
    open = r;
  });
  return { promise, open };
}

export function queueContract(target: QueueContractTarget): void {
  const ackWaitMs = target.ackWaitMs;
  const consumeOpts = (
    durable: string,
    filterSubject: string,
    signal: AbortSignal,
    more: { maxDeliver?: number; concurrency?: number } = {},
  ) => ({
    durable,
    filterSubject,
    ackWaitMs,
    maxDeliver: more.maxDeliver ?? 5,
    concurrency: more.concurrency ?? 1,
    signal,
  });

  it("de-duplicates publishes by msgId and delivers the first copy once", async () => {
    const q = await target.handle();
    const l = lane();
    const first = await q.publish(l.subject, enc("one"), l.msgId("a"));
    assert.equal(first.duplicate, false);
    const again = await q.publish(l.subject, enc("one, re-sent"), l.msgId("a"));
    assert.deepEqual(again, { seq: first.seq, duplicate: true });
    const second = await q.publish(l.subject, enc("two"), l.msgId("b"));
    assert.equal(second.duplicate, false);
    assert.ok(second.seq > first.seq);

    const got: { data: string; msgId: string; seq: number; subject: string; deliveryCount: number }[] = [];
    const stop = new AbortController();
    const done = q.consume(consumeOpts(l.durable("d"), l.subject, stop.signal), async (m) => {
      got.push({ data: dec(m.data), msgId: m.msgId, seq: m.seq, subject: m.subject, deliveryCount: m.deliveryCount });
      await m.ack();
    });
    await waitFor("two messages", () => got.length === 2);
    await sleep(100);
    stop.abort();
    await done;
    assert.deepEqual(got, [
      { data: "one", msgId: l.msgId("a"), seq: first.seq, subject: l.subject, deliveryCount: 1 },
      { data: "two", msgId: l.msgId("b"), seq: second.seq, subject: l.subject, deliveryCount: 1 },
    ]);
  });

  it("consumers sharing a durable share the work; with every message acked none is handled twice", async () => {
    const [a, b] = [await target.handle(), await target.handle()];
    const l = lane();
    const handled: { by: string; seq: number }[] = [];
    const stop = new AbortController();
    const handler = (by: string) => async (m: QueueMessage) => {
      handled.push({ by, seq: m.seq });
      await sleep(15);
      await m.ack();
    };
    const runs = [
      a.consume(consumeOpts(l.durable("shared"), l.subject, stop.signal), handler("a")),
      b.consume(consumeOpts(l.durable("shared"), l.subject, stop.signal), handler("b")),
    ];
    await sleep(100); // both consumers are pulling
    const N = 20;
    for (let i = 0; i < N; i++) await a.publish(l.subject, enc(`m${i}`), l.msgId(i));
    await waitFor("all messages handled", () => handled.length >= N);
    await sleep(ackWaitMs + 200); // nothing comes back after its ack wait
    stop.abort();
    await Promise.all(runs);
    assert.equal(handled.length, N);
    assert.equal(new Set(handled.map((h) => h.seq)).size, N, "no message handled twice");
    assert.ok(handled.some((h) => h.by === "a") && handled.some((h) => h.by === "b"), "both consumers got work");
    assert.equal(await a.pending(l.durable("shared"), l.subject), 0);
  });

  it("a message whose consumer died without acking is redelivered to another after the ack wait", async () => {
    const [a, b] = [await target.handle(), await target.handle()];
    const l = lane();
    await a.publish(l.subject, enc("x"), l.msgId("x"));
    const stopA = new AbortController();
    let deliveredToA: number | undefined;
    const runA = a.consume(consumeOpts(l.durable("relay"), l.subject, stopA.signal), async (m) => {
      deliveredToA = Date.now();
      assert.equal(m.deliveryCount, 1);
      // The consumer "dies": it never acks, and its handler ends when the process would.
      await new Promise((r) => stopA.signal.addEventListener("abort", r, { once: true }));
    });
    await waitFor("delivery to A", () => deliveredToA !== undefined);

    const stopB = new AbortController();
    const toB: { deliveryCount: number; at: number; msgId: string }[] = [];
    const runB = b.consume(consumeOpts(l.durable("relay"), l.subject, stopB.signal), async (m) => {
      toB.push({ deliveryCount: m.deliveryCount, at: Date.now(), msgId: m.msgId });
      await m.ack();
    });
    stopA.abort();
    await runA;
    await waitFor("redelivery to B", () => toB.length === 1, ackWaitMs * 4 + 5_000);
    const [r] = toB;
    assert.equal(r?.deliveryCount, 2);
    assert.equal(r?.msgId, l.msgId("x"));
    assert.ok((r?.at ?? 0) - (deliveredToA ?? 0) >= ackWaitMs * 0.9, "not before the ack wait");
    await sleep(ackWaitMs + 200);
    stopB.abort();
    await runB;
    assert.equal(toB.length, 1);
    assert.equal(await b.pending(l.durable("relay"), l.subject), 0);
  });

  it("nak(delay) redelivers after the delay, with the delivery count raised", async () => {
    const q = await target.handle();
    const l = lane();
    const delayMs = 400;
    await q.publish(l.subject, enc("later"), l.msgId(0));
    const deliveries: { count: number; at: number }[] = [];
    const stop = new AbortController();
    const done = q.consume(consumeOpts(l.durable("d"), l.subject, stop.signal), async (m) => {
      deliveries.push({ count: m.deliveryCount, at: Date.now() });
      if (m.deliveryCount === 1) m.nak(delayMs);
      else await m.ack();
    });
    await waitFor("redelivery", () => deliveries.length === 2);
    stop.abort();
    await done;
    const [d1, d2] = deliveries;
    assert.deepEqual([d1?.count, d2?.count], [1, 2]);
    assert.ok((d2?.at ?? 0) - (d1?.at ?? 0) >= delayMs * 0.9, `redelivered after ${(d2?.at ?? 0) - (d1?.at ?? 0)} ms`);
  });

  it("a handler that throws gets its message redelivered (nak with a 1 s delay)", async () => {
    const q = await target.handle();
    const l = lane();
    await q.publish(l.subject, enc("boom"), l.msgId(0));
    const deliveries: { count: number; at: number }[] = [];
    const stop = new AbortController();
    const done = q.consume(consumeOpts(l.durable("d"), l.subject, stop.signal), async (m) => {
      deliveries.push({ count: m.deliveryCount, at: Date.now() });
      if (m.deliveryCount === 1) throw new Error("transient");
      await m.ack();
    });
    await waitFor("redelivery", () => deliveries.length === 2);
    stop.abort();
    await done;
    assert.equal(deliveries[1]?.count, 2);
    assert.ok((deliveries[1]?.at ?? 0) - (deliveries[0]?.at ?? 0) >= 900);
  });

  it("term() never redelivers; termination records round-trip, per lane, newest last, limited", async () => {
    const q = await target.handle();
    const l = lane();
    const other = lane();
    await q.publish(l.subject, enc("bad"), l.msgId("bad"));
    const deliveries: number[] = [];
    const stop = new AbortController();
    const done = q.consume(consumeOpts(l.durable("d"), l.subject, stop.signal), async (m) => {
      deliveries.push(m.deliveryCount);
      m.term("destination rejected the proof");
      await q.recordTermination({
        subject: m.subject,
        msgId: m.msgId,
        code: "BAD_PROOF",
        reason: "destination rejected the proof",
        at: "2026-01-02T03:04:05.000Z",
        relayer: "relayer-1",
      });
    });
    await waitFor("delivery", () => deliveries.length === 1);
    await sleep(ackWaitMs * 2.5);
    stop.abort();
    await done;
    assert.deepEqual(deliveries, [1], "terminated message is not redelivered");
    assert.equal(await q.pending(l.durable("d"), l.subject), 0);

    const first: TerminationRecord = {
      subject: l.subject,
      msgId: l.msgId("bad"),
      code: "BAD_PROOF",
      reason: "destination rejected the proof",
      at: "2026-01-02T03:04:05.000Z",
      relayer: "relayer-1",
    };
    assert.deepEqual(await q.listTerminations(l.terminated, 10), [first]);
    const more = [2, 3, 4].map((i) => ({ ...first, msgId: l.msgId(`t${i}`), code: `C${i}`, reason: `reason ${i}` }));
    await q.recordTermination({ ...first, subject: other.subject, msgId: other.msgId("x") });
    for (const r of more) await q.recordTermination(r);
    assert.deepEqual(await q.listTerminations(l.terminated, 10), [first, ...more]);
    assert.deepEqual(await q.listTerminations(l.terminated, 2), more.slice(1), "the newest, oldest first");
    assert.deepEqual(await q.listTerminations(l.subject, 1), more.slice(2), "a batch subject filter is translated");
    assert.deepEqual(await q.listTerminations(other.terminated, 10), [{ ...first, subject: other.subject, msgId: other.msgId("x") }]);
    assert.deepEqual(await q.listTerminations(l.terminated, 0), []);
    const all = await q.listTerminations("shandu.terminated.>", 1_000);
    assert.ok(all.length >= 5);
  });

  it("stops delivering after maxDeliver deliveries", async () => {
    const q = await target.handle();
    const l = lane();
    await q.publish(l.subject, enc("poison"), l.msgId(0));
    const counts: number[] = [];
    const stop = new AbortController();
    const done = q.consume(consumeOpts(l.durable("d"), l.subject, stop.signal, { maxDeliver: 3 }), async (m) => {
      counts.push(m.deliveryCount);
      if (m.deliveryCount < 3) m.nak(0);
      // The third delivery is left unsettled: its ack wait expiring must not bring it back either.
    });
    await waitFor("three deliveries", () => counts.length === 3);
    await sleep(ackWaitMs * 2.5);
    stop.abort();
    await done;
    assert.deepEqual(counts, [1, 2, 3]);
    assert.equal(await q.pending(l.durable("d"), l.subject), 0);
  });

  it("working() keeps a long delivery from being redelivered", async () => {
    const q = await target.handle();
    const l = lane();
    await q.publish(l.subject, enc("slow"), l.msgId(0));
    const counts: number[] = [];
    const stop = new AbortController();
    const done = q.consume(consumeOpts(l.durable("d"), l.subject, stop.signal, { concurrency: 2 }), async (m) => {
      counts.push(m.deliveryCount);
      for (let t = 0; t < 5; t++) {
        await sleep(ackWaitMs / 2);
        m.working();
      }
      await m.ack();
    });
    await waitFor("delivery", () => counts.length === 1);
    await sleep(ackWaitMs * 3);
    stop.abort();
    await done;
    assert.deepEqual(counts, [1]);
  });

  it("runs at most `concurrency` handlers at once, and consume() resolves after running handlers finish", async () => {
    const q = await target.handle();
    const l = lane();
    for (let i = 0; i < 6; i++) await q.publish(l.subject, enc(`m${i}`), l.msgId(i));
    const release = gate();
    let running = 0;
    let maxRunning = 0;
    let handled = 0;
    const stop = new AbortController();
    const done = q.consume(consumeOpts(l.durable("d"), l.subject, stop.signal, { concurrency: 3 }), async (m) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await release.promise;
      await m.ack();
      running--;
      handled++;
    });
    await waitFor("three running", () => running === 3);
    await sleep(200);
    assert.equal(running, 3, "no fourth handler while three run");
    release.open();
    await waitFor("all handled", () => handled === 6);
    assert.equal(maxRunning, 3);

    stop.abort();
    await done;
    await q.publish(l.subject, enc("last"), l.msgId("last"));
    const last = gate();
    let lastFinished = false;
    const stop2 = new AbortController();
    const done2 = q.consume(consumeOpts(l.durable("d"), l.subject, stop2.signal), async (m) => {
      last.open();
      await sleep(200);
      await m.ack();
      lastFinished = true;
    });
    await last.promise;
    stop2.abort();
    await done2;
    assert.equal(lastFinished, true, "consume resolved only after its running handler finished");
  });

  it("pending counts undelivered plus delivered-but-unacked messages of the durable's filter", async () => {
    const q = await target.handle();
    const l = lane();
    const other = lane();
    for (let i = 0; i < 3; i++) await q.publish(l.subject, enc(`m${i}`), l.msgId(i));
    await q.publish(other.subject, enc("elsewhere"), other.msgId(0));
    assert.equal(await q.pending(l.durable("d"), l.subject), 3, "before the durable exists: stored under the filter");

    const hold = gate();
    let seen = 0;
    let acked = 0;
    const stop = new AbortController();
    const done = q.consume(consumeOpts(l.durable("d"), l.subject, stop.signal), async (m) => {
      seen++;
      if (seen === 2) await hold.promise;
      await m.ack();
      acked++;
    });
    await waitFor("second delivery", () => seen === 2);
    assert.equal(await q.pending(l.durable("d"), l.subject), 2, "one in flight, one not delivered");
    hold.open();
    await waitFor("three acks", () => acked === 3);
    assert.equal(await q.pending(l.durable("d"), l.subject), 0);
    stop.abort();
    await done;
    await q.publish(l.subject, enc("m3"), l.msgId(3));
    assert.equal(await q.pending(l.durable("d"), l.subject), 1, "the durable remembers what it acked");
    await assert.rejects(q.pending(l.durable("d"), "shandu.batches.>"), { name: "GatewayError", code: "INVALID_REQUEST" });
  });

  it("rejects malformed consume options with INVALID_REQUEST", async () => {
    const q = await target.handle();
    const l = lane();
    const signal = new AbortController().signal;
    const noop = async () => {};
    const bad = [
      { ...consumeOpts("has.dot", l.subject, signal) },
      { ...consumeOpts(l.durable("d"), "other.subject", signal) },
      { ...consumeOpts(l.durable("d"), l.subject, signal), ackWaitMs: 0 },
      { ...consumeOpts(l.durable("d"), l.subject, signal), maxDeliver: -1 },
      { ...consumeOpts(l.durable("d"), l.subject, signal), concurrency: 0 },
    ];
    for (const opts of bad) {
      await assert.rejects(
        q.consume(opts, noop),
        (e: unknown) => (e as { code?: string }).code === "INVALID_REQUEST",
        JSON.stringify({ ...opts, signal: undefined }),
      );
    }
    const aborted = AbortSignal.abort();
    await q.consume(consumeOpts(l.durable("d"), l.subject, aborted), noop);
  });
}
