/**
 * The relayer's dispositions, over the in-process queue and in-memory chains whose inboxes really
 * verify: a good batch is delivered once and acked; one the destination already has is skipped; a
 * forged one is given up with the destination's reason recorded; a paused lane is retried and delivered
 * once resumed; bytes that are not an attested batch are given up too.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { type ConnectedChains, connectedChains, sendDeeds } from "@shandu/adapter-core/testing";
import { type AttestedBatch, batchMsgId, batchSubject, EmbeddedQueue, encodeAttestedBatch, terminatedSubject } from "@shandu/gateway";
import { encodeMessage, loadBls } from "@shandu/proofs";
import { attestBatch, pilotCommittee } from "@shandu/proofs/testing";
import { Relayer, type RelayerEvent, relayerDurable } from "./relayer.ts";

const bls = await loadBls();
const committee = pilotCommittee(bls, "relayer-test");
let net: ConnectedChains;
let queue: EmbeddedQueue;
let relayer: Relayer;
let events: RelayerEvent[];

beforeEach(async () => {
  net = connectedChains({ bls, committee });
  queue = new EmbeddedQueue();
  await queue.ensureStreams();
  events = [];
  relayer = new Relayer({
    name: "test-relayer",
    queue,
    lanes: [net.laneAB],
    destinations: new Map([[net.b.chainId, net.adapterB]]),
    ackWaitMs: 2000,
    backoffMs: 50,
    onEvent: (e) => events.push(e),
  });
  relayer.start();
});

afterEach(async () => {
  await relayer.close();
  await queue.close();
});

function attested(count: number, signers = [0, 1, 3]): AttestedBatch {
  const d = net.attest(sendDeeds(net.a, net.b.chainId, count), { signers });
  return { header: d.header, attestation: d.attestation, messages: d.messages.map(encodeMessage), committees: d.committees, logIndex: 0n };
}

async function publish(b: AttestedBatch, msgId = batchMsgId(b.header)): Promise<void> {
  await queue.publish(batchSubject(b.header.destinationChainId, b.header.sourceChainId), encodeAttestedBatch(b), msgId);
}

async function until(f: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`timed out; events: ${events.map((e) => e.type).join(",")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const pending = () => queue.pending(relayerDurable(net.laneAB), batchSubject(net.b.chainId, net.a.chainId));

test("a good batch is delivered once and acked; the same batch again is skipped", async () => {
  const b = attested(3);
  await publish(b);
  await until(() => events.some((e) => e.type === "delivered"));
  assert.equal(net.b.executedMessages().length, 3);
  await publish(b, "same batch, published under another id");
  await until(() => events.some((e) => e.type === "skipped"));
  assert.equal(net.b.executedMessages().length, 3, "nothing executed twice");
  await until(async () => (await pending()) === 0);
});

test("a forged batch is given up with the destination's reason, and the reason is kept", async () => {
  const b = attested(2);
  const other = pilotCommittee(bls, "not-the-committee");
  const forged = { ...b, attestation: attestBatch(bls, other, [0, 1, 3], b.header) };
  await publish(forged);
  await until(() => events.some((e) => e.type === "terminated"));
  const t = events.find((e) => e.type === "terminated");
  assert.equal(t?.type === "terminated" && t.code, "DELIVERY_REJECTED");
  assert.equal(net.b.executedMessages().length, 0);
  const records = await queue.listTerminations(terminatedSubject(net.b.chainId, net.a.chainId), 10);
  assert.equal(records.length, 1);
  assert.equal(records[0]!.code, "DELIVERY_REJECTED");
  assert.equal(records[0]!.relayer, "test-relayer");
  assert.equal(await pending(), 0, "a given-up batch is not redelivered");
});

test("a paused lane is retried, then delivered once resumed", async () => {
  net.b.setLanePaused(net.a.chainId, true);
  await publish(attested(2));
  await until(() => events.filter((e) => e.type === "retry").length >= 2);
  assert.equal(net.b.executedMessages().length, 0);
  net.b.setLanePaused(net.a.chainId, false);
  await until(() => events.some((e) => e.type === "delivered"));
  assert.equal(net.b.executedMessages().length, 2);
});

test("bytes that are not an attested batch are given up, not retried", async () => {
  await queue.publish(batchSubject(net.b.chainId, net.a.chainId), new TextEncoder().encode("{not json"), "garbage");
  await until(() => events.some((e) => e.type === "terminated"));
  const t = events.find((e) => e.type === "terminated");
  assert.equal(t?.type === "terminated" && t.code, "INVALID_REQUEST");
});
