import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { type Bls, CommitteeError, encodeMessage, loadBls, type Message, messageIdOfEncoding, toHex } from "@shandu/proofs";
import { pilotCommittee, rotate, signAs, type TestCommittee } from "@shandu/proofs/testing";
import { cursorFromJson, cursorToJson, startCursor } from "./cursor.ts";
import { AdapterError } from "./errors.ts";
import type { Delivery } from "./interface.ts";
import { MemoryChain } from "./memory.ts";
import { attestedDelivery, type ConnectedChains, connectedChains, PILOT_QUORUM, sendDeeds, takeFromWatch } from "./testing/mod.ts";

let bls: Bls;
/** Built once: proving possession of each key is the slow part of making a committee. */
let pilot: TestCommittee;
let forger: TestCommittee;
let epoch1: TestCommittee;
before(async () => {
  bls = await loadBls();
  pilot = pilotCommittee(bls);
  forger = pilotCommittee(bls, "forger");
  epoch1 = pilotCommittee(bls, "epoch-1", 1n);
});

const setup = (opts: Parameters<typeof connectedChains>[0] = {}): ConnectedChains => connectedChains({ bls, committee: pilot, ...opts });

/** Resolves to "pending" if `p` has not settled once the current I/O turn is over. */
async function settledOrPending<T>(p: Promise<T>): Promise<T | "pending"> {
  return Promise.race([p, new Promise<"pending">((resolve) => setImmediate(() => resolve("pending")))]);
}

function assertAdapterError(code: string, reason?: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof AdapterError, `expected AdapterError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (reason !== undefined) assert.equal(e.facts.reason, reason);
    return true;
  };
}

const payloads = (items: { message: Message }[]): string[] => items.map((i) => new TextDecoder().decode(i.message.payload));

describe("MemoryChain outbox", { timeout: 10_000 }, () => {
  test("assigns nonces 1, 2, 3… per destination and records the source position", () => {
    const { a } = setup();
    const [m1, m2] = sendDeeds(a, 2n, 2);
    const [other] = sendDeeds(a, 3n, 1);
    assert.deepEqual([m1!.nonce, m2!.nonce, other!.nonce], [1n, 2n, 1n]);
    assert.equal(m2!.source.blockNumber, 2n);
    assert.equal(a.headBlockNumber, 3n);
  });
});

describe("MemoryAdapter.watch", { timeout: 10_000 }, () => {
  test("yields a message only once the finality depth is reached", async () => {
    const { a, adapterA } = setup({ finalityDepthBlocks: 2 });
    const controller = new AbortController();
    const it = adapterA.watch(startCursor(), { signal: controller.signal })[Symbol.asyncIterator]();
    sendDeeds(a, 2n, 1);
    const next = it.next();
    assert.equal(await settledOrPending(next), "pending");
    a.mine();
    assert.equal(await settledOrPending(next), "pending");
    a.mine();
    const r = await next;
    assert.equal(r.done, false);
    assert.equal(r.value?.message.nonce, 1n);
    assert.equal(r.value?.cursor.blockNumber, 1n);
    controller.abort();
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  });

  test("resumes from a persisted cursor with no gap and no repeat, also within one block", async () => {
    const { a, adapterA } = setup({ autoMine: false });
    sendDeeds(a, 2n, 3); // block 1 holds three sends
    a.mine();
    sendDeeds(a, 2n, 2); // block 2 holds two more
    a.mine();
    const first = await takeFromWatch(adapterA, startCursor(), 2);
    assert.deepEqual(payloads(first), ["deed-1", "deed-2"]);
    const persisted = JSON.parse(JSON.stringify(cursorToJson(first[1]!.cursor)));
    const rest = await takeFromWatch(adapterA, cursorFromJson(persisted), 3);
    assert.deepEqual(
      rest.map((i) => i.message.nonce),
      [3n, 4n, 5n],
    );
    assert.deepEqual(
      rest.map((i) => [i.cursor.blockNumber, i.cursor.eventIndex]),
      [
        [1n, 2],
        [2n, 0],
        [2n, 1],
      ],
    );
  });

  test("yields the encoding and id of each message", async () => {
    const { a, adapterA } = setup();
    sendDeeds(a, 2n, 1);
    const [item] = await takeFromWatch(adapterA, startCursor(), 1);
    assert.deepEqual(item!.encoding, encodeMessage(item!.message));
    assert.deepEqual(item!.id, messageIdOfEncoding(item!.encoding));
  });

  test("ends promptly when the signal aborts while waiting, and when the adapter closes", async () => {
    const { adapterA } = setup();
    const controller = new AbortController();
    const it = adapterA.watch(startCursor(), { signal: controller.signal })[Symbol.asyncIterator]();
    const next = it.next();
    assert.equal(await settledOrPending(next), "pending");
    controller.abort();
    assert.deepEqual(await next, { done: true, value: undefined });

    const it2 = adapterA.watch(startCursor(), { signal: new AbortController().signal })[Symbol.asyncIterator]();
    const next2 = it2.next();
    assert.equal(await settledOrPending(next2), "pending");
    await adapterA.close();
    assert.deepEqual(await next2, { done: true, value: undefined });
    await assert.rejects(
      adapterA.watch(startCursor(), { signal: new AbortController().signal })[Symbol.asyncIterator]().next(),
      assertAdapterError("CLOSED"),
    );
  });

  test("absorbs a reorg within the finality depth: a running watch never sees the lost message", async () => {
    const { a, adapterA } = setup({ finalityDepthBlocks: 2 });
    const controller = new AbortController();
    const it = adapterA.watch(startCursor(), { signal: controller.signal })[Symbol.asyncIterator]();
    const next = it.next();
    sendDeeds(a, 2n, 1); // block 1, not final
    a.mine();
    assert.equal(await settledOrPending(next), "pending");
    a.reorg(2);
    assert.equal(await settledOrPending(next), "pending", "the fork is absorbed without an error");
    a.send({
      destinationChainId: 2n,
      sender: new Uint8Array(1),
      recipient: new Uint8Array(1),
      payload: new TextEncoder().encode("after-fork"),
    });
    a.mine(2);
    const r = await next;
    assert.deepEqual(payloads([r.value!]), ["after-fork"]);
    assert.equal(r.value!.message.nonce, 1n, "the fork's outbox hands nonce 1 out again");
    controller.abort();
    assert.equal((await it.next()).done, true);
  });

  test("raises REORG_BELOW_FINALITY when a yielded final block is replaced", async () => {
    const { a, adapterA } = setup({ finalityDepthBlocks: 1 });
    sendDeeds(a, 2n, 1);
    a.mine();
    const controller = new AbortController();
    const it = adapterA.watch(startCursor(), { signal: controller.signal })[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value?.message.nonce, 1n);
    const next = it.next();
    assert.equal(await settledOrPending(next), "pending");
    a.reorg(2); // replaces block 1, which was final
    await assert.rejects(next, (e) => assertAdapterError("REORG_BELOW_FINALITY")(e) && (e as AdapterError).disposition === "reject");
    controller.abort();
  });

  test("raises REORG_BELOW_FINALITY when resumed from a cursor whose block was replaced", async () => {
    const { a, adapterA } = setup();
    sendDeeds(a, 2n, 2);
    const [item] = await takeFromWatch(adapterA, startCursor(), 1);
    a.reorg(2);
    await assert.rejects(takeFromWatch(adapterA, item!.cursor, 1), assertAdapterError("REORG_BELOW_FINALITY"));
  });

  test("notices a replaced final block even when it held no message", async () => {
    const { a, adapterA } = setup({ finalityDepthBlocks: 1 });
    a.mine(3); // blocks 1..2 final, all empty
    const controller = new AbortController();
    const it = adapterA.watch(startCursor(), { signal: controller.signal })[Symbol.asyncIterator]();
    const next = it.next();
    assert.equal(await settledOrPending(next), "pending");
    a.reorg(3);
    await assert.rejects(next, assertAdapterError("REORG_BELOW_FINALITY"));
    controller.abort();
  });
});

describe("MemoryAdapter.sourceEvidence", { timeout: 10_000 }, () => {
  test("is NOT_FINALIZED before finality, then names the block and transaction", async () => {
    const { a, adapterA } = setup({ finalityDepthBlocks: 1 });
    const [m] = sendDeeds(a, 2n, 1);
    await assert.rejects(
      adapterA.sourceEvidence(m!),
      (e) => assertAdapterError("NOT_FINALIZED")(e) && (e as AdapterError).disposition === "retry",
    );
    a.mine();
    const ev = await adapterA.sourceEvidence(m!);
    assert.equal(ev.kind, "memory-source");
    assert.equal(ev.blockNumber, "1");
    assert.equal(ev.blockHash, toHex(a.blockHash(1n)!));
    assert.equal(ev.txHash, toHex(m!.source.txHash));
  });

  test("refuses a message that is not at the position it names", async () => {
    const { a, adapterA } = setup();
    const [m] = sendDeeds(a, 2n, 1);
    await assert.rejects(adapterA.sourceEvidence({ ...m!, payload: new Uint8Array([1]) }), assertAdapterError("MESSAGE_NOT_FOUND"));
    await assert.rejects(adapterA.sourceEvidence({ ...m!, sourceChainId: 9n }), assertAdapterError("MESSAGE_NOT_FOUND"));
  });
});

describe("MemoryAdapter.submitBatch", { timeout: 10_000 }, () => {
  const signal = new AbortController().signal;

  test("executes each message once; a second delivery executes nothing and says so", async () => {
    const net = setup();
    const sent = sendDeeds(net.a, 2n, 3);
    const delivery = net.attest(sent);
    const receipt = await net.adapterB.submitBatch(delivery, { signal });
    assert.deepEqual(receipt.executed, [1n, 2n, 3n]);
    assert.deepEqual(receipt.alreadyDelivered, []);
    assert.equal(receipt.tx?.blockNumber, net.b.headBlockNumber);
    assert.deepEqual(
      net.b.executedMessages().map((e) => e.message.nonce),
      [1n, 2n, 3n],
    );

    const head = net.b.headBlockNumber;
    const again = await net.adapterB.submitBatch(delivery, { signal });
    assert.deepEqual(again, { tx: null, executed: [], alreadyDelivered: [1n, 2n, 3n] });
    assert.equal(net.b.headBlockNumber, head);
    assert.equal(net.b.executedMessages().length, 3);

    assert.deepEqual(await net.adapterB.deliveryStatus(net.laneAB, 2n), { status: "delivered", lanePaused: false });
    assert.deepEqual(await net.adapterB.deliveryStatus(net.laneAB, 4n), { status: "not-delivered", lanePaused: false });
    const ev = await net.adapterB.destinationEvidence(net.laneAB, 2n);
    assert.equal(ev?.kind, "memory-delivery");
    assert.equal(ev?.txHash, toHex(receipt.tx!.hash));
    assert.equal(await net.adapterB.destinationEvidence(net.laneAB, 4n), null);
  });

  test("delivers a subset with a multiproof, then the rest without repeating it", async () => {
    const net = setup();
    const sent = sendDeeds(net.a, 2n, 5);
    const part = await net.adapterB.submitBatch(net.attest(sent, { deliver: [1, 3] }), { signal });
    assert.deepEqual(part.executed, [2n, 4n]);
    const rest = await net.adapterB.submitBatch(net.attest(sent), { signal });
    assert.deepEqual(rest.executed, [1n, 3n, 5n]);
    assert.deepEqual(rest.alreadyDelivered, [2n, 4n]);
  });

  test("accepts a later epoch reached through attested rotations", async () => {
    const net = setup();
    const rotation = rotate(bls, net.committee, [...PILOT_QUORUM], epoch1.committee);
    const sent = sendDeeds(net.a, 2n, 2);
    const d = attestedDelivery(bls, epoch1, sent, { genesis: net.committee.committee, rotations: [rotation] });
    assert.deepEqual((await net.adapterB.submitBatch(d, { signal })).executed, [1n, 2n]);
  });

  /** Each case: a delivery that must be refused with `reason`, leaving chain B untouched. */
  const refusals: [string, string, (net: ConnectedChains, sent: Message[]) => Delivery][] = [
    [
      "signed by keys outside the committee",
      "BAD_SIGNATURE",
      (net, sent) => {
        const d = net.attest(sent);
        const forged = signAs(bls, forger, [...PILOT_QUORUM], new Uint8Array(32));
        return { ...d, attestation: { ...d.attestation, signature: forged.signature } };
      },
    ],
    [
      "attested by another committee",
      "COMMITTEE_HASH_MISMATCH",
      (net, sent) => ({ ...net.attest(sent), attestation: attestedDelivery(bls, forger, sent).attestation }),
    ],
    ["carrying another genesis", "GENESIS_MISMATCH", (net, sent) => net.attest(sent, { genesis: forger.committee })],
    ["signed by too little weight", "QUORUM_WEIGHT_NOT_MET", (net, sent) => net.attest(sent, { signers: [0, 1] })],
    ["signed without the regulator", "QUORUM_GROUP_NOT_MET", (net, sent) => net.attest(sent, { signers: [0, 1, 2] })],
    ["for another destination chain", "WRONG_DESTINATION_CHAIN", (net) => net.attest(sendDeeds(net.a, 3n, 2))],
    [
      "with a message from another lane",
      "LANE_MISMATCH",
      (net, sent) => {
        const d = net.attest(sent);
        return { ...d, messages: [{ ...d.messages[0]!, sourceChainId: 7n }, ...d.messages.slice(1)] };
      },
    ],
    [
      "with a tampered message",
      "ROOT_MISMATCH",
      (net, sent) => {
        const d = net.attest(sent);
        return { ...d, messages: [{ ...d.messages[0]!, payload: new TextEncoder().encode("deed-999") }, ...d.messages.slice(1)] };
      },
    ],
    [
      "with a proof for another position",
      "PROOF_INDEX_MISMATCH",
      (net, sent) => {
        const right = net.attest(sent, { deliver: [1] });
        const wrong = net.attest(sent, { deliver: [0] });
        return { ...right, proof: wrong.proof };
      },
    ],
    [
      "with a forged sibling in the proof",
      "ROOT_MISMATCH",
      (net, sent) => {
        const d = net.attest(sent, { deliver: [1] });
        const forged = Uint8Array.from(d.proof.siblings[0]!, (b, i) => (i === 0 ? b ^ 1 : b));
        return { ...d, proof: { ...d.proof, siblings: [forged, ...d.proof.siblings.slice(1)] } };
      },
    ],
    [
      "with a rotation the old committee did not attest",
      "ROTATION_NOT_ATTESTED",
      (net, sent) => {
        const rotation = rotate(bls, net.committee, [0, 1], epoch1.committee);
        return { ...net.attest(sent), committees: { genesis: net.committee.committee, rotations: [rotation] } };
      },
    ],
  ];

  for (const [name, reason, build] of refusals) {
    test(`refuses a delivery ${name} (${reason}) and changes nothing`, async () => {
      const net = setup();
      const sent = sendDeeds(net.a, 2n, 3);
      const delivery = build(net, sent);
      const head = net.b.headBlockNumber;
      await assert.rejects(
        net.adapterB.submitBatch(delivery, { signal }),
        (e) => assertAdapterError("DELIVERY_REJECTED", reason)(e) && (e as AdapterError).disposition === "reject",
      );
      assert.equal(net.b.headBlockNumber, head);
      assert.deepEqual(net.b.executedMessages(), []);
      assert.equal((await net.adapterB.deliveryStatus(net.laneAB, 1n)).status, "not-delivered");
    });
  }

  test("holds deliveries on a paused lane (retry) and executes them once resumed", async () => {
    const net = setup();
    const delivery = net.attest(sendDeeds(net.a, 2n, 2));
    net.b.setLanePaused(net.a.chainId, true);
    assert.equal((await net.adapterB.deliveryStatus(net.laneAB, 1n)).lanePaused, true);
    await assert.rejects(
      net.adapterB.submitBatch(delivery, { signal }),
      (e) => assertAdapterError("LANE_PAUSED")(e) && (e as AdapterError).disposition === "retry",
    );
    assert.deepEqual(net.b.executedMessages(), []);
    net.b.setLanePaused(net.a.chainId, false);
    assert.deepEqual((await net.adapterB.submitBatch(delivery, { signal })).executed, [1n, 2n]);
  });

  test("does not submit once the signal has aborted, nor after close", async () => {
    const net = setup();
    const delivery = net.attest(sendDeeds(net.a, 2n, 1));
    const aborted = AbortSignal.abort();
    await assert.rejects(net.adapterB.submitBatch(delivery, { signal: aborted }), assertAdapterError("CANCELLED"));
    await net.adapterB.close();
    await assert.rejects(net.adapterB.submitBatch(delivery, { signal }), assertAdapterError("CLOSED"));
    assert.deepEqual(net.b.executedMessages(), []);
  });

  test("answers only for lanes that end on its chain", async () => {
    const net = setup();
    await assert.rejects(net.adapterB.deliveryStatus(net.laneBA, 1n), assertAdapterError("WRONG_LANE"));
    await assert.rejects(net.adapterB.destinationEvidence(net.laneBA, 1n), assertAdapterError("WRONG_LANE"));
  });
});

describe("reorg of a destination", { timeout: 10_000 }, () => {
  test("undoes deliveries in replaced blocks, so they can be delivered again", async () => {
    const net = setup();
    const delivery = net.attest(sendDeeds(net.a, 2n, 1));
    await net.adapterB.submitBatch(delivery, { signal: new AbortController().signal });
    net.b.reorg(1);
    assert.equal((await net.adapterB.deliveryStatus(net.laneAB, 1n)).status, "not-delivered");
    assert.deepEqual((await net.adapterB.submitBatch(delivery, { signal: new AbortController().signal })).executed, [1n]);
  });
});

describe("MemoryChain deployment", { timeout: 10_000 }, () => {
  test("refuses a bad finality depth and an unverifiable genesis", () => {
    const base = { chainId: 1n, finalityDepthBlocks: 0, trustedGenesis: pilot.committee, bls };
    assert.throws(
      () => new MemoryChain({ ...base, finalityDepthBlocks: -1 }),
      (e) => assertAdapterError("INVALID_CONFIG")(e) && (e as AdapterError).facts.path === "finalityDepthBlocks",
    );
    const [m0, ...others] = pilot.committee.members;
    const badPop = { ...pilot.committee, members: [{ ...m0!, proofOfPossession: others[0]!.proofOfPossession }, ...others] };
    assert.throws(
      () => new MemoryChain({ ...base, trustedGenesis: badPop }),
      (e) => e instanceof CommitteeError && e.code === "INVALID_PROOF_OF_POSSESSION",
    );
  });
});
