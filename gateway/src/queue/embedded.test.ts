import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { queueContract } from "./contract.ts";
import { EmbeddedQueue } from "./embedded.ts";
import { batchSubject } from "./interface.ts";

describe("EmbeddedQueue: the queue contract", () => {
  const queue = new EmbeddedQueue();
  after(() => queue.close());
  queueContract({
    ackWaitMs: 200,
    async handle() {
      await queue.ensureStreams();
      return queue;
    },
  });
});

describe("EmbeddedQueue", () => {
  it("forgets a msgId after the duplicate window", async () => {
    const q = new EmbeddedQueue({ duplicateWindowMs: 50 });
    const s = batchSubject(2n, 1n);
    const a = await q.publish(s, new Uint8Array([1]), "id");
    assert.deepEqual(await q.publish(s, new Uint8Array([1]), "id"), { seq: a.seq, duplicate: true });
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(await q.publish(s, new Uint8Array([1]), "id"), { seq: a.seq + 1, duplicate: false });
    await q.close();
  });

  it("close() ends running consumers and refuses later calls with CLOSED", async () => {
    const q = new EmbeddedQueue();
    const s = batchSubject(2n, 1n);
    const done = q.consume(
      { durable: "d", filterSubject: s, ackWaitMs: 1_000, maxDeliver: 1, signal: new AbortController().signal },
      async (m) => m.ack(),
    );
    await q.close();
    await done;
    await assert.rejects(q.publish(s, new Uint8Array(), "x"), { code: "CLOSED" });
    await q.close();
  });
});
