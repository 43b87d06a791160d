import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeAllianceGovernance } from "@shandu/deploy";
import { decodeRedemptionPayload, encodeRedemptionPayload, reasonCode, reasonText, toHex } from "@shandu/proofs";
import { codeOf } from "../testing/harness.ts";
import { org1User, org2User } from "../testing/identities.ts";
import type { FakeTransactionResult } from "../testing/stub.ts";
import { APP_RECIPIENT } from "./common.ts";
import { creditsOf, issue } from "./credits.ts";
import { redemptionIdOf } from "./redemption.ts";
import { accountOf, json, refused, utf8, World } from "./testing/world.ts";

const A = 3003n;
const B = 4004n;
const C = 5005n;
const user = accountOf(org1User);
const platform = accountOf(org2User);
const issuer = new Uint8Array(20).fill(0x11);
const sponsor = new Uint8Array(20).fill(0x22);
const creditClass = new Uint8Array(32).fill(0xc1);
const envelope = new Uint8Array(32).fill(0xe0);
const T0 = 1_800_000_000n;
const DEADLINE = T0 + 1000n;
const MARGIN = 100n;

const grant = (role: number, roleChainId: bigint, account: Uint8Array) =>
  encodeAllianceGovernance({ op: "grant", role, roleChainId, account });

/** Chain A (3003) and chain B (4004), each its own chaincode over its own ledger, peers of each other. */
async function worlds(opts: { platformOnB?: boolean; capacity?: bigint; refill?: bigint } = {}) {
  const a = await new World({
    chainId: A,
    redemptionPeers: [
      [B, "shandu"],
      [C, "shandu"],
    ],
    refundMarginSeconds: MARGIN,
  }).setup();
  const b = await new World({ chainId: B, redemptionPeers: [[A, "shandu"]] }).setup();
  await a.governance(grant(4, B, platform));
  await a.governance(grant(4, C, platform));
  await a.governance(grant(1, A, issuer));
  await a.governance(grant(3, A, sponsor));
  await a.governance(encodeAllianceGovernance({ op: "setClassSponsor", creditClass, sponsor }));
  await a.governance(
    encodeAllianceGovernance({ op: "setLaneLimit", laneChainId: B, capacity: opts.capacity ?? 1000n, refillPerSecond: opts.refill ?? 1n }),
  );
  if (opts.platformOnB !== false) await b.governance(grant(4, B, platform));
  const issued = await a.direct(async (s) =>
    issue(s, A, { user, creditClass, amount: 500n, sponsor, deedRef: new Uint8Array(32), issuer }),
  );
  assert.equal(codeOf(issued), "ok");
  return { a, b };
}

function request(a: World, amount = 100n, o: { dst?: bigint; platform?: Uint8Array; deadline?: bigint; time?: bigint } = {}) {
  return a.tx(
    org1User,
    (ctx) =>
      a.redemption.requestRedemption(
        ctx,
        (o.dst ?? B).toString(),
        toHex(o.platform ?? platform),
        toHex(creditClass),
        amount.toString(),
        (o.deadline ?? DEADLINE).toString(),
        toHex(envelope),
      ),
    o.time ?? a.time,
  );
}

async function record(w: World, id: string) {
  return json<Record<string, unknown>>(await w.tx(org1User, (ctx) => w.redemption.redemption(ctx, id)));
}

async function credits(a: World) {
  const c = json<Record<string, string>>(await a.tx(org1User, (ctx) => a.app.credits(ctx, toHex(user), toHex(creditClass))));
  // The EVM invariant: balance + locked + burned = issued.
  assert.equal(BigInt(c.balance!) + BigInt(c.locked!) + BigInt(c.burned!), BigInt(c.issued!));
  return c;
}

const idOf = (r: FakeTransactionResult<string>) => json<{ id: string }>(r).id;
const confirm = (b: World, id: string, who = org2User, t = b.time) => b.tx(who, (ctx) => b.redemption.confirm(ctx, id), t);
const reject = (b: World, id: string, who = org2User) => b.tx(who, (ctx) => b.redemption.reject(ctx, id));
const refundAfter = (a: World, id: string, t: bigint) => a.tx(org2User, (ctx) => a.redemption.refundAfterTimeout(ctx, id), t);

describe("ShanduRedemption semantics: a round trip between two chaincodes, through attested deliveries", () => {
  it("request → AUTHORISE → confirm → CONFIRM → burned", async () => {
    const { a, b } = await worlds();
    const r = await request(a);
    const out = json<Record<string, string>>(r);
    assert.equal(out.id, toHex(redemptionIdOf(A, user, 0n)));
    assert.deepEqual([out.userNonce, out.outboxNonce, out.user], ["0", "0", toHex(user)]);
    // The AUTHORISE payload is the EVM contract's, byte for byte, from the application's sender to the peer.
    const p = decodeRedemptionPayload(r.event!.payload.slice(-178));
    assert.equal(p.op, "authorise");
    assert.deepEqual(encodeRedemptionPayload(p), r.event!.payload.slice(-178));
    assert.equal((await record(a, out.id!)).state, "LOCKED");
    assert.deepEqual(await credits(a), { balance: "400", locked: "100", burned: "0", issued: "500" });

    assert.deepEqual((await b.carry(r)).executed, ["0"]);
    const onB = await record(b, out.id!);
    assert.deepEqual(
      [onB.state, onB.user, onB.platform, onB.amount, onB.deadline, onB.peerChainId],
      ["AUTHORISED", toHex(user), toHex(platform), "100", DEADLINE.toString(), "3003"],
    );
    const c = await confirm(b, out.id!);
    assert.equal(json(c).state, "CONFIRMED");
    assert.deepEqual((await a.carry(c)).executed, ["0"]);
    assert.equal((await record(a, out.id!)).state, "BURNED");
    assert.deepEqual(await credits(a), { balance: "400", locked: "0", burned: "100", issued: "500" });
    // Delivering the CONFIRM again is skipped by the inbox; nothing changes.
    const before = a.snapshot();
    assert.deepEqual((await a.carry(c)).skipped, ["0"]);
    assert.deepEqual(
      [...a.snapshot()].filter(([k]) => k.startsWith("app/")),
      [...before].filter(([k]) => k.startsWith("app/")),
    );
    await refused(b, "NOT_AUTHORISED", () => confirm(b, out.id!));
    await refused(b, "NOT_AUTHORISED", () => reject(b, out.id!));
    await refused(a, "ALREADY_BURNED", () => refundAfter(a, out.id!, DEADLINE + MARGIN + 1n));
  });

  it("platform reject → REJECT → refunded; a second request gets the next user nonce", async () => {
    const { a, b } = await worlds();
    const r = await request(a, 50n);
    await b.carry(r);
    const id = idOf(r);
    await refused(b, "NOT_PLATFORM", () => reject(b, id, org1User));
    const rj = await reject(b, id);
    assert.deepEqual(json(rj), { id, state: "REJECTED", reason: "PLATFORM_REJECTED", outboxNonce: "0" });
    await a.carry(rj);
    const onA = await record(a, id);
    assert.deepEqual([onA.state, onA.reason, onA.refundedByTimeout], ["REFUNDED", "PLATFORM_REJECTED", false]);
    assert.deepEqual(await credits(a), { balance: "500", locked: "0", burned: "0", issued: "500" });
    await refused(a, "ALREADY_REFUNDED", () => refundAfter(a, id, DEADLINE + MARGIN + 1n));
    const second = json<Record<string, string>>(await request(a, 10n));
    assert.deepEqual([second.userNonce, second.outboxNonce], ["1", "1"]);
    assert.equal((await a.tx(org1User, (ctx) => a.redemption.nextUserNonce(ctx, toHex(user)))).result, "2");
    assert.equal((await a.tx(org1User, (ctx) => a.redemption.redemptionId(ctx, toHex(user), "1"))).result, second.id);
  });

  it("a platform B does not know: rejected on arrival, the REJECT sent by sendRejection, refunded on A", async () => {
    const { a, b } = await worlds({ platformOnB: false });
    const r = await request(a);
    const id = idOf(r);
    assert.deepEqual((await b.carry(r)).executed, ["0"]);
    const onB = await record(b, id);
    assert.deepEqual([onB.state, onB.reason, onB.rejectionPending], ["REJECTED", "UNKNOWN_PLATFORM", true]);
    await refused(b, "NOT_AUTHORISED", () => confirm(b, id));
    await refused(b, "UNKNOWN_REDEMPTION", () => b.tx(org1User, (ctx) => b.redemption.sendRejection(ctx, `0x${"00".repeat(32)}`)));
    const sent = await b.tx(org1User, (ctx) => b.redemption.sendRejection(ctx, id));
    assert.deepEqual(json(sent), { id, state: "REJECTED", reason: "UNKNOWN_PLATFORM", outboxNonce: "0" });
    const p = decodeRedemptionPayload(sent.event!.payload.slice(-66));
    assert.equal(p.op === "reject" && reasonText(p.reason), "UNKNOWN_PLATFORM");
    await refused(b, "NO_PENDING_REJECTION", () => b.tx(org1User, (ctx) => b.redemption.sendRejection(ctx, id)));
    await a.carry(sent);
    assert.deepEqual([(await record(a, id)).state, (await record(a, id)).reason], ["REFUNDED", "UNKNOWN_PLATFORM"]);
    assert.deepEqual(await credits(a), { balance: "500", locked: "0", burned: "0", issued: "500" });
  });

  it("no answer: refunded after deadline + margin, EXPIRED closes B's record; a late CONFIRM is flagged, not burned", async () => {
    const { a, b } = await worlds();
    const r1 = await request(a);
    const r2 = await request(a);
    const [id1, id2] = [idOf(r1), idOf(r2)];
    await b.carry(r1);
    await b.carry(r2);
    await refused(a, "TOO_EARLY", () => refundAfter(a, id1, DEADLINE + MARGIN));
    await refused(a, "UNKNOWN_REDEMPTION", () => refundAfter(a, `0x${"00".repeat(32)}`, DEADLINE + MARGIN + 1n));
    const x1 = await refundAfter(a, id1, DEADLINE + MARGIN + 1n);
    assert.deepEqual(json(x1), { id: id1, state: "REFUNDED", reason: "TIMEOUT", outboxNonce: "2" });
    const onA = await record(a, id1);
    assert.deepEqual([onA.state, onA.refundedByTimeout, onA.reason], ["REFUNDED", true, "TIMEOUT"]);
    await b.carry(x1);
    assert.equal((await record(b, id1)).state, "EXPIRED");
    await refused(b, "NOT_AUTHORISED", () => confirm(b, id1));
    await refused(b, "NOT_AUTHORISED", () => reject(b, id1));

    // r2: the platform confirms in time, but the CONFIRM reaches A only after A refunded by timeout.
    const c2 = await confirm(b, id2, org2User, DEADLINE);
    const x2 = await refundAfter(a, id2, DEADLINE + MARGIN + 1n);
    await a.carry(c2);
    const late = await record(a, id2);
    assert.deepEqual([late.state, late.lateConfirmation], ["REFUNDED", true]);
    assert.deepEqual(await credits(a), { balance: "500", locked: "0", burned: "0", issued: "500" });
    // The EXPIRED after the platform answered is ignored on B.
    assert.deepEqual((await b.carry(x2)).executed, ["3"]);
    assert.equal((await record(b, id2)).state, "CONFIRMED");
  });

  it("B's refusals: unknown id, not the platform, after the deadline", async () => {
    const { a, b } = await worlds();
    const r = await request(a);
    const id = idOf(r);
    await refused(b, "UNKNOWN_REDEMPTION", () => confirm(b, id));
    await b.carry(r);
    await refused(b, "NOT_PLATFORM", () => confirm(b, id, org1User));
    await refused(b, "DEADLINE_PASSED", () => confirm(b, id, org2User, DEADLINE + 1n));
    // Reject is allowed after the deadline.
    assert.equal(codeOf(await b.tx(org2User, (ctx) => b.redemption.reject(ctx, id), DEADLINE + 1n)), "ok");
    // A's own redemption is not B's to answer.
    await refused(a, "UNKNOWN_REDEMPTION", () => confirm(a, id));
    await refused(a, "SCHEMA", () => confirm(a, "0x12"));
  });
});

describe("ShanduRedemption: A's refusals and the lane's token bucket", () => {
  it("refuses a request before anything changes, with the EVM contract's codes in its order", async () => {
    const { a } = await worlds();
    await refused(a, "UNKNOWN_PEER", () => request(a, 1n, { dst: 6006n }));
    await refused(a, "UNKNOWN_PEER", () => request(a, 0n, { dst: A }));
    await refused(a, "ZERO_AMOUNT", () => request(a, 0n, { platform: new Uint8Array(20) }));
    await refused(a, "INVALID_PLATFORM", () => request(a, 1n, { platform: new Uint8Array(20), deadline: 1n }));
    await refused(a, "INVALID_DEADLINE", () => request(a, 1n, { deadline: a.time, platform: issuer }));
    await refused(a, "UNKNOWN_PLATFORM", () => request(a, 1n, { platform: issuer }));
    await refused(a, "LANE_NOT_OPEN", () => request(a, 1n, { dst: C }));
    await refused(a, "RATE_LIMITED", () => request(a, 1001n));
    await refused(a, "INSUFFICIENT_CREDITS", () => request(a, 501n));
    await refused(a, "SCHEMA", () => request(a, -1n));
    await a.governance(encodeAllianceGovernance({ op: "pauseLane", laneChainId: B }));
    await refused(a, "LANE_PAUSED", () => request(a, 1n));
    assert.equal((await a.tx(org1User, (ctx) => a.redemption.availableCredits(ctx, B.toString()))).result, "0");
    await a.governance(encodeAllianceGovernance({ op: "resumeLane", laneChainId: B }));
    assert.equal(codeOf(await request(a, 1n)), "ok");
    await refused(a, "NOT_INITIALISED", async () => {
      const fresh = new World({ chainId: A });
      return fresh.tx(org1User, (ctx) => fresh.redemption.redemptionId(ctx, toHex(user), "0"));
    });
  });

  it("the bucket: full at first use, refilled with time up to capacity, restarted by a new limit, not refilled by refunds", async () => {
    const { a, b } = await worlds({ capacity: 300n, refill: 2n });
    const avail = (t = a.time) => a.tx(org1User, (ctx) => a.redemption.availableCredits(ctx, B.toString()), t).then((r) => r.result);
    assert.equal(await avail(), "300");
    const r = await request(a, 200n);
    assert.equal(await avail(), "100");
    await refused(a, "RATE_LIMITED", () => request(a, 101n));
    assert.equal(await avail(a.time + 10n), "120");
    assert.equal(codeOf(await request(a, 120n, { time: a.time + 10n })), "ok");
    assert.equal(await avail(a.time + 10n), "0");
    // A timestamp earlier than the bucket's last use counts as no time passed.
    assert.equal(await avail(a.time), "0");
    assert.equal(await avail(a.time + 1000n), "300");
    // A refund returns nothing to the bucket.
    await b.carry(r);
    await a.carry(await reject(b, idOf(r)));
    assert.equal(await avail(a.time + 10n), "0");
    // A new limit starts full; setting the same one again does not.
    await a.governance(encodeAllianceGovernance({ op: "setLaneLimit", laneChainId: B, capacity: 50n, refillPerSecond: 2n }));
    assert.equal(await avail(a.time + 10n), "50");
    await a.governance(encodeAllianceGovernance({ op: "setLaneLimit", laneChainId: B, capacity: 300n, refillPerSecond: 2n }));
    assert.equal(await avail(a.time + 10n), "0");
  });
});

describe("ShanduRedemption: delivered messages it refuses (recorded as failed by the inbox)", () => {
  it("unknown peer or sender, malformed payloads, answers for ids not sent to that chain; duplicates ignored", async () => {
    const { a, b } = await worlds();
    const r = await request(a);
    const id = idOf(r);
    const idBytes = Buffer.from(id.slice(2), "hex");
    const recv = (w: World, payload: Uint8Array, sourceChainId = B, sender = utf8("shandu")) =>
      w.receive(APP_RECIPIENT, { sourceChainId, sender, payload });
    const confirmP = encodeRedemptionPayload({ op: "confirm", id: idBytes });
    await refused(a, "UNKNOWN_PEER", () => recv(a, confirmP, 6006n));
    await refused(a, "UNKNOWN_SENDER", () => recv(a, confirmP, B, utf8("shandv")));
    await refused(a, "MALFORMED_PAYLOAD", () => recv(a, Uint8Array.of(1)));
    await refused(a, "UNKNOWN_VERSION", () => recv(a, Uint8Array.of(2, 2)));
    await refused(a, "UNKNOWN_OP", () => recv(a, Uint8Array.of(1, 5)));
    await refused(a, "MALFORMED_PAYLOAD", () => recv(a, confirmP.slice(0, 33)));
    await refused(a, "MALFORMED_PAYLOAD", () => recv(a, Uint8Array.of(...confirmP, 0)));
    await refused(a, "UNKNOWN_REDEMPTION", () => recv(a, encodeRedemptionPayload({ op: "confirm", id: new Uint8Array(32) })));
    // Sent to B: C may not answer it.
    await refused(a, "UNKNOWN_REDEMPTION", () => recv(a, confirmP, C));
    await refused(a, "UNKNOWN_REDEMPTION", () =>
      recv(a, encodeRedemptionPayload({ op: "reject", id: idBytes, reason: reasonCode("PLATFORM_REJECTED") }), C),
    );
    // An AUTHORISE for an id B already has, and an EXPIRED for one B never authorised, change nothing.
    await b.carry(r);
    const authorise = r.event!.payload.slice(-178);
    const before = b.snapshot();
    assert.equal(codeOf(await recv(b, authorise, A)), "ok");
    assert.equal(codeOf(await recv(b, encodeRedemptionPayload({ op: "expired", id: new Uint8Array(32).fill(9) }), A)), "ok");
    assert.deepEqual(b.snapshot(), before);
    // A client on B forging a CONFIRM through the outbox: its sender is its own identity, not the peer. The
    // inbox consumes the message and records it as failed; A's application state is as it was.
    const appKeys = (w: World) => [...w.snapshot()].filter(([k]) => k.startsWith("app/"));
    const keys = appKeys(a);
    const forged = await b.tx(org2User, (ctx) => b.h.outbox.send(ctx, A.toString(), toHex(utf8(APP_RECIPIENT)), toHex(confirmP)));
    assert.deepEqual((await a.carry(forged)).failed, ["0"]);
    assert.deepEqual(appKeys(a), keys);
    assert.equal((await record(a, id)).state, "LOCKED");
    assert.deepEqual((await a.carry(await confirm(b, id))).executed, ["1"]);
    assert.equal((await record(a, id)).state, "BURNED");
    assert.equal((await a.direct(async (s) => (await creditsOf(s, user, creditClass)).burned)).result, 100n);
  });
});
