import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { committeeSetHash, deliveryOutcome, encodeMessage, nobleBls, rotationToJson, toHex } from "@shandu/proofs";
import { pilotCommittee, rotate } from "@shandu/proofs/testing";
import { chaincodeEnvironment } from "./env.ts";
import { BATCH_DELIVERED_EVENT } from "./inbox.ts";
import { appMessage, batchOf, codeOf, governanceMessage, Harness, SOURCE_CHAIN, utf8Bytes } from "./testing/harness.ts";
import { org1Admin, org1User, org2User } from "./testing/identities.ts";
import type { FakeTransactionResult } from "./testing/stub.ts";

const tc0 = pilotCommittee(nobleBls);
const tc1 = pilotCommittee(nobleBls, "pilot-epoch-1", 1n);
const messages = [0n, 1n, 2n, 3n].map((n) => appMessage(n));

async function ready(): Promise<Harness> {
  const h = new Harness();
  assert.equal(codeOf(await h.initialise(tc0.committee)), "ok");
  return h;
}

async function received(h: Harness, nonce: bigint): Promise<unknown> {
  const v = h.ledger.state.get(`app/recorder/received/${SOURCE_CHAIN}/${nonce}`);
  return v && JSON.parse(Buffer.from(v).toString());
}

/** Runs `f` and checks that it was refused with `code` and left world state as it was. */
async function refused(h: Harness, code: string, f: () => Promise<FakeTransactionResult<unknown>>): Promise<void> {
  const before = h.ledger.snapshot();
  assert.equal(codeOf(await f()), code);
  assert.deepEqual(h.ledger.snapshot(), before, `${code}: state changed`);
}

describe("ShanduInbox: initialise", () => {
  it("only once, only by the initialiser MSP, only with a valid genesis", async () => {
    const h = new Harness();
    await refused(h, "NOT_AUTHORISED", () => h.initialise(tc0.committee, { identity: org2User }));
    const rogue = structuredClone(tc0.committee);
    rogue.members[1]!.proofOfPossession = tc0.committee.members[2]!.proofOfPossession;
    await refused(h, "INVALID_PROOF_OF_POSSESSION", () => h.initialise(rogue));
    await refused(h, "INVALID_GOVERNOR", () => h.initialise(tc0.committee, { governor: new Uint8Array(32) }));
    await refused(h, "INVALID_CHAIN_ID", () => h.initialise(tc0.committee, { chainId: 0n }));
    await refused(h, "SCHEMA", () => h.tx(org1Admin, (ctx) => h.inbox.initialise(ctx, "{not json")));
    const r = await h.initialise(tc0.committee, { identity: org1User });
    assert.equal(codeOf(r), "ok");
    assert.equal(r.event?.name, "CommitteeRegistered");
    await refused(h, "ALREADY_INITIALISED", () => h.initialise(tc0.committee));
    await refused(h, "ALREADY_INITIALISED", () => h.initialise(tc1.committee, { chainId: 4004n }));
  });

  it("with the initialiser's identity pinned, another client of the same MSP cannot initialise", async () => {
    const h = new Harness({ initialiser: org1Admin });
    await refused(h, "NOT_AUTHORISED", () => h.initialise(tc0.committee, { identity: org1User }));
    assert.equal(codeOf(await h.initialise(tc0.committee, { identity: org1Admin })), "ok");
  });

  it("reads the pinned initialiser from the environment, and fails closed on a malformed pin", () => {
    const digest = "ab".repeat(32);
    const env = chaincodeEnvironment({ SHANDU_INITIALISER_MSP: "Org1MSP", SHANDU_INITIALISER_SENDER: `0x${digest}` });
    assert.equal(env.initialiserMsp, "Org1MSP");
    assert.equal(toHex(env.initialiserSender!), `0x${digest}`);
    assert.equal(chaincodeEnvironment({ SHANDU_INITIALISER_MSP: "Org1MSP", SHANDU_INITIALISER_SENDER: "xyz" }).initialiserMsp, undefined);
    assert.equal(chaincodeEnvironment({ SHANDU_INITIALISER_MSP: "Org1MSP" }).initialiserSender, undefined);
  });

  it("fails closed when no initialiser MSP is configured", async () => {
    const h = new Harness({ initialiserMsp: null });
    await refused(h, "INITIALISER_NOT_CONFIGURED", () => h.initialise(tc0.committee));
  });

  it("refuses deliveries before initialisation", async () => {
    const h = new Harness();
    await refused(h, "NOT_INITIALISED", () => h.deliver(batchOf(messages, tc0).deliver()));
  });
});

describe("ShanduInbox: deliver", () => {
  it("executes a batch once; delivering it again skips every message", async () => {
    const h = await ready();
    const b = batchOf(messages, tc0);
    const first = await h.deliver(b.deliver());
    assert.equal(codeOf(first), "ok");
    assert.equal(first.event?.name, BATCH_DELIVERED_EVENT);
    const ev = JSON.parse(Buffer.from(first.event!.payload).toString());
    assert.deepEqual(ev, { sourceChainId: "1001", root: toHex(b.header.root), fromNonce: "0", outcomes: "0x55" });
    for (const n of [0n, 1n, 2n, 3n]) assert.equal(deliveryOutcome(0n, Buffer.from(ev.outcomes.slice(2), "hex"), n), 1);
    assert.equal(((await received(h, 2n)) as { payload: string }).payload, toHex(utf8Bytes("deed-2")));
    const again = await h.deliver(b.deliver());
    assert.equal(codeOf(again), "ok");
    assert.deepEqual(JSON.parse(again.result!).skipped, ["0", "1", "2", "3"]);
    assert.equal(JSON.parse(Buffer.from(again.event!.payload).toString()).outcomes, "0x00");
    assert.equal(JSON.parse(Buffer.from(h.ledger.state.get("app/recorder/count")!).toString()), 4);
    assert.equal((await h.tx(org1User, (ctx) => h.inbox.lane(ctx, "1001"))).result, '{"next":"4","paused":false}');
  });

  it("partial overlap: skips what was consumed and executes the rest, in and out of order", async () => {
    const h = await ready();
    const b = batchOf(messages, tc0);
    assert.deepEqual(JSON.parse((await h.deliver(b.deliver([2, 3]))).result!).executed, ["2", "3"]);
    assert.equal((await h.tx(org1User, (ctx) => h.inbox.isDelivered(ctx, "1001", "3"))).result, "true");
    assert.equal((await h.tx(org1User, (ctx) => h.inbox.isDelivered(ctx, "1001", "1"))).result, "false");
    const r = JSON.parse((await h.deliver(b.deliver([1, 2]))).result!);
    assert.deepEqual([r.executed, r.skipped, r.outcomes], [["1"], ["2"], "0x01"]);
    const all = JSON.parse((await h.deliver(b.deliver())).result!);
    assert.deepEqual([all.executed, all.skipped], [["0"], ["1", "2", "3"]]);
    // The watermark folded the out-of-order nonces in: one value per lane again.
    assert.equal((await h.tx(org1User, (ctx) => h.inbox.lane(ctx, "1001"))).result, '{"next":"4","paused":false}');
    assert.deepEqual(
      [...h.ledger.state.keys()].filter((k) => k.startsWith("inbox/consumed/")),
      [],
    );
  });

  it("refuses forged, short and misdirected batches with the EVM inbox's codes, writing nothing", async () => {
    const h = await ready();
    const b = batchOf(messages, tc0);
    const other = batchOf(
      [4n, 5n].map((n) => appMessage(n)),
      tc0,
    );
    await refused(h, "BAD_SIGNATURE", () =>
      h.deliver({ ...b.deliver(), attestation: { ...b.attestation, signature: other.attestation.signature } }),
    );
    await refused(h, "QUORUM_WEIGHT_NOT_MET", () => h.deliver(batchOf(messages, tc0, [0, 3]).deliver()));
    await refused(h, "QUORUM_GROUP_NOT_MET", () => h.deliver(batchOf(messages, tc0, [0, 1, 2]).deliver()));
    const forTheOtherChain = [0n, 1n].map((n) => appMessage(n, "recorder", { destination: 4004n }));
    await refused(h, "WRONG_DESTINATION_CHAIN", () => h.deliver(batchOf(forTheOtherChain, tc0).deliver()));
    const mixed = batchOf([appMessage(0n), appMessage(1n, "recorder", { source: 2002n })], tc0);
    await refused(h, "LANE_MISMATCH", () => h.deliver(mixed.deliver()));
    await refused(h, "NONCE_OUT_OF_RANGE", () => h.deliver({ ...b.deliver([0]), messages: [appMessage(9n)] }));
    await refused(h, "ROOT_MISMATCH", () =>
      h.deliver({ ...b.deliver([0]), messages: [{ ...appMessage(0n), payload: utf8Bytes("forged") }] }),
    );
    await refused(h, "INDICES_NOT_SORTED", () => h.deliver({ ...b.deliver([0, 1]), messages: [messages[1]!, messages[0]!] }));
    await refused(h, "EMPTY_DELIVERY", () => h.deliver({ ...b.deliver(), messages: [], siblings: [] }));
    await refused(h, "NONCE_RANGE_INVALID", () => h.deliver({ ...b.deliver(), header: { ...b.header, firstNonce: 5n } }));
    await refused(h, "EPOCH_NOT_IN_CHAIN", () => h.deliver(batchOf(messages, tc1).deliver()));
    const wrongHash = { ...b.attestation, committeeSetHash: new Uint8Array(32) };
    await refused(h, "COMMITTEE_HASH_MISMATCH", () => h.deliver({ ...b.deliver(), attestation: wrongHash }));
    await refused(h, "SCHEMA", () => h.tx(org1User, (ctx) => h.inbox.deliver(ctx, '{"header":1}')));
  });

  it("a failing or unknown recipient: consumed, recorded as failed (outcome 3), its writes discarded; retry runs it again", async () => {
    const h = await ready();
    const ms = [appMessage(0n, "failing"), appMessage(1n, "nobody"), appMessage(2n)];
    const r = await h.deliver(batchOf(ms, tc0).deliver());
    assert.equal(codeOf(r), "ok");
    assert.deepEqual(JSON.parse(r.result!).failed, ["0", "1"]);
    assert.equal(JSON.parse(r.result!).outcomes, "0x1f");
    assert.equal(h.ledger.state.get("app/failing/attempted"), undefined);
    const retry = await h.tx(org1User, (ctx) => h.inbox.retry(ctx, toHex(encodeMessage(ms[0]!))));
    assert.equal(JSON.parse(retry.result!).ok, false);
    await refused(h, "NOT_RETRYABLE", () => h.tx(org1User, (ctx) => h.inbox.retry(ctx, toHex(encodeMessage(ms[2]!)))));
  });

  it("governance from the configured sender pauses and resumes the lane; from anyone else it fails", async () => {
    const h = await ready();
    const ms = [
      governanceMessage(0n, 1, SOURCE_CHAIN, new Uint8Array(20).fill(0x66)),
      governanceMessage(1n, 1),
      appMessage(2n),
      governanceMessage(3n, 2),
      appMessage(4n),
    ];
    const b = batchOf(ms, tc0);
    const r = await h.deliver(b.deliver([0, 1]));
    assert.deepEqual([JSON.parse(r.result!).failed, JSON.parse(r.result!).executed], [["0"], ["1"]]);
    assert.equal((await h.tx(org1User, (ctx) => h.inbox.lane(ctx, "1001"))).result, '{"next":"2","paused":true}');
    await refused(h, "LANE_PAUSED", () => h.deliver(b.deliver([2])));
    // Governance still passes while paused, and the resume comes before the app message it unblocks.
    const rest = await h.deliver(b.deliver([2, 3, 4]));
    assert.equal(codeOf(rest), "LANE_PAUSED");
    assert.equal(codeOf(await h.deliver(b.deliver([3]))), "ok");
    assert.deepEqual(JSON.parse((await h.deliver(b.deliver([2, 3, 4]))).result!).executed, ["2", "4"]);
  });
});

describe("ShanduInbox: rotate", () => {
  it("registers the next committee; delivery under it from activation; the old one within its grace only", async () => {
    const h = await ready();
    const T = h.timeSeconds + 1000n;
    const record = rotate(nobleBls, tc0, [0, 1, 3], tc1.committee, T, 100);
    const json = JSON.stringify(rotationToJson(record));
    const r = await h.tx(org2User, (ctx) => h.inbox.rotate(ctx, json));
    assert.equal(codeOf(r), "ok");
    assert.equal(r.event?.name, "CommitteeRegistered");
    assert.equal(codeOf(await h.tx(org2User, (ctx) => h.inbox.rotate(ctx, json))), "ok");
    const conflict = rotate(nobleBls, tc0, [0, 1, 3], tc1.committee, T, 200);
    await refused(h, "ROTATION_CONFLICT", () => h.tx(org2User, (ctx) => h.inbox.rotate(ctx, JSON.stringify(rotationToJson(conflict)))));

    const b1 = batchOf(messages.slice(0, 2), tc1);
    await refused(h, "EPOCH_NOT_YET_ACTIVE", () => h.deliver(b1.deliver(), T - 1n));
    const b0 = batchOf(messages.slice(2), tc0);
    await refused(h, "EPOCH_EXPIRED", () => h.deliver(b0.deliver(), T + 100n));
    assert.equal(codeOf(await h.deliver(b1.deliver(), T)), "ok");
    assert.equal(codeOf(await h.deliver(b0.deliver(), T + 99n)), "ok");
    assert.equal((await h.tx(org1User, (ctx) => h.inbox.latestEpoch(ctx))).result, "1");
  });

  it("refuses records that do not continue the chain or were not attested", async () => {
    const h = await ready();
    const tc2 = pilotCommittee(nobleBls, "pilot-epoch-2", 2n);
    const rot = (x: Parameters<typeof rotate>) => JSON.stringify(rotationToJson(rotate(...x)));
    const cases: [string, string][] = [
      ["ROTATION_EPOCH_GAP", rot([nobleBls, tc1, [0, 1, 3], tc2.committee, 0n, 0])],
      ["ROTATION_NOT_ATTESTED", rot([nobleBls, tc0, [0, 1], tc1.committee, 0n, 0])],
      ["ROTATION_PARENT_MISMATCH", rot([nobleBls, pilotCommittee(nobleBls, "attacker"), [0, 1, 3], tc1.committee, 0n, 0])],
    ];
    const forged = rotate(nobleBls, pilotCommittee(nobleBls, "attacker"), [0, 1, 3], tc1.committee, 0n, 0);
    forged.fromCommitteeSetHash = committeeSetHash(tc0.committee);
    cases.push(["ROTATION_NOT_ATTESTED", JSON.stringify(rotationToJson(forged))]);
    for (const [code, json] of cases) await refused(h, code, () => h.tx(org1User, (ctx) => h.inbox.rotate(ctx, json)));
    const e = (await h.tx(org1User, (ctx) => h.inbox.rotate(ctx, cases[1]![1]))).error as { facts: { reason: string } };
    assert.equal(e.facts.reason, "QUORUM_WEIGHT_NOT_MET");
  });
});
