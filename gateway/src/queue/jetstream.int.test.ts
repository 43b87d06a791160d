import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { type NatsServer, natsServerBinary, startNatsServer } from "../testing/natsServer.ts";
import { queueContract } from "./contract.ts";
import { batchSubject, terminatedSubject } from "./interface.ts";
import { connectJetStreamQueue, type JetStreamQueue } from "./jetstream.ts";

const skip = natsServerBinary() === null ? "nats-server binary not found: apt-get install -y nats-server" : false;

describe("JetStreamQueue", { skip }, () => {
  let server: NatsServer;
  const open: JetStreamQueue[] = [];
  const connectQueue = async () => {
    const q = await connectJetStreamQueue({ servers: [server.url], name: "contract-test" });
    open.push(q);
    await q.ensureStreams();
    return q;
  };
  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await Promise.all(open.map((q) => q.close()));
    await server?.close();
  });

  describe("the queue contract", () => {
    queueContract({ ackWaitMs: 500, handle: connectQueue });
  });

  it("ensureStreams is idempotent and brings an older configuration up to date", async () => {
    const a = await connectJetStreamQueue({ servers: [server.url], duplicateWindowMs: 300_000 });
    open.push(a);
    await a.ensureStreams();
    await a.ensureStreams();
    const b = await connectQueue();
    await b.ensureStreams();
    const nc = await connect({ servers: [server.url] });
    const info = await (await jetstreamManager(nc)).streams.info(b.streamName);
    await nc.close();
    assert.equal(info.config.duplicate_window, nanos(120_000), "the other process's window was replaced");
    assert.equal(info.config.retention, "limits");
    assert.equal(info.config.storage, "file");
    assert.equal(b.kind, "jetstream");
    assert.match(b.serverVersion, /^\d+\.\d+\.\d+/);
  });

  it("keeps batches, acks, the de-duplication window and terminations across a server restart", async () => {
    const q = await connectQueue();
    const subject = batchSubject(9001n, 1001n);
    const durable = "restart-relayer";
    const first = await q.publish(subject, new Uint8Array([1]), "restart:1");
    await q.publish(subject, new Uint8Array([2]), "restart:2");
    await q.recordTermination({ subject, msgId: "restart:0", code: "X", reason: "r", at: "2026-01-01T00:00:00.000Z", relayer: "r1" });
    const stop = new AbortController();
    let sawSecond = false;
    const done = q.consume({ durable, filterSubject: subject, ackWaitMs: 500, maxDeliver: 5, signal: stop.signal }, async (m) => {
      if (m.msgId === "restart:1") await m.ack();
      // The second is left unacked, as by a relayer that dies with it.
      else sawSecond = true;
    });
    const deadline = Date.now() + 10_000;
    while (!sawSecond || (await q.pending(durable, subject)) !== 1) {
      assert.ok(Date.now() < deadline, "first message acked, second delivered");
      await new Promise((r) => setTimeout(r, 20));
    }
    stop.abort();
    await done;
    await q.close();

    await server.stop();
    await assert.rejects(connectJetStreamQueue({ servers: [server.url] }), (e: unknown) => {
      const err = e as { name?: string; code?: string; message?: string };
      return err.name === "GatewayError" && err.code === "UNAVAILABLE" && (err.message ?? "").includes(server.url);
    });
    await server.restart();

    const r = await connectQueue();
    assert.equal(await r.pending(durable, subject), 1, "the ack survived");
    assert.deepEqual(await r.publish(subject, new Uint8Array([1]), "restart:1"), { seq: first.seq, duplicate: true });
    assert.equal((await r.listTerminations(terminatedSubject(9001n, 1001n), 10)).length, 1);
    const got: { msgId: string; deliveryCount: number }[] = [];
    const stop2 = new AbortController();
    const done2 = r.consume({ durable, filterSubject: subject, ackWaitMs: 500, maxDeliver: 5, signal: stop2.signal }, async (m) => {
      got.push({ msgId: m.msgId, deliveryCount: m.deliveryCount });
      await m.ack();
    });
    while (got.length === 0) {
      assert.ok(Date.now() < deadline + 20_000, "unacked message delivered after the restart");
      await new Promise((res) => setTimeout(res, 20));
    }
    stop2.abort();
    await done2;
    assert.equal(got.length, 1);
    assert.equal(got[0]?.msgId, "restart:2");
    assert.ok((got[0]?.deliveryCount ?? 0) >= 2, "a redelivery");
    assert.equal(await r.pending(durable, subject), 0);
  });

  it("a consumer keeps working through a server restart", async () => {
    // A short request timeout: a publish sent while the server is down fails after it.
    const q = await connectJetStreamQueue({ servers: [server.url], requestTimeoutMs: 1_000 });
    open.push(q);
    const subject = batchSubject(9002n, 1001n);
    const got: string[] = [];
    const stop = new AbortController();
    const done = q.consume(
      { durable: "survivor", filterSubject: subject, ackWaitMs: 500, maxDeliver: 5, signal: stop.signal },
      async (m) => {
        await m.ack();
        got.push(m.msgId);
      },
    );
    await q.publish(subject, new Uint8Array([1]), "survive:1");
    const waitFor = async (msgId: string) => {
      const deadline = Date.now() + 20_000;
      while (!got.includes(msgId)) {
        assert.ok(Date.now() < deadline, `${msgId} handled`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor("survive:1");
    server.kill();
    await server.restart();
    // The client reconnects by itself; publishing may fail until it has.
    for (let i = 0; ; i++) {
      try {
        await q.publish(subject, new Uint8Array([2]), "survive:2");
        break;
      } catch (e) {
        assert.equal((e as { code?: string }).code, "UNAVAILABLE");
        assert.ok(i < 100, "publish after reconnect");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await waitFor("survive:2");
    stop.abort();
    await done;
    // At least once: an ack the killed server had not yet written may bring a message back.
    assert.deepEqual([...new Set(got)], ["survive:1", "survive:2"]);
  });

  it("fails UNAVAILABLE, naming the server, when nothing listens", async () => {
    await assert.rejects(connectJetStreamQueue({ servers: ["nats://127.0.0.1:1"] }), (e: unknown) => {
      const err = e as { name?: string; code?: string; message?: string };
      return err.name === "GatewayError" && err.code === "UNAVAILABLE" && (err.message ?? "").includes("nats://127.0.0.1:1");
    });
  });
});
