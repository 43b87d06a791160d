import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeAllianceGovernance, markSettledArgs } from "@shandu/deploy";
import {
  type AllianceAgreement,
  concatBytes,
  decodeSettlementRootPayload,
  encodeSettlementHeader,
  encodeSettlementLine,
  encodeSettlementRootPayload,
  proveLine,
  recomputeSettlement,
  SETTLEMENT_TAG,
  type SettlementBatch,
  settlementRootOf,
  sha256,
  toHex,
  verifySettledLine,
} from "@shandu/proofs";
import { codeOf } from "../testing/harness.ts";
import { org1Admin, org1User } from "../testing/identities.ts";
import type { FakeTransactionResult } from "../testing/stub.ts";
import { SETTLEMENT_RECIPIENT } from "./common.ts";
import { accountOf, json, refused, utf8, World } from "./testing/world.ts";

const A = 3003n;
const B = 4004n;
const C = 5005n;
const clearing = accountOf(org1Admin);

const agreement: AllianceAgreement = {
  id: "深圳-上海-低碳",
  currency: "元",
  rates: [{ creditClass: "low-carbon", numerator: 3n, denominator: 2n }],
};
function batchOf(windowId: bigint): SettlementBatch {
  const r = (n: string, sponsor: string, platform: string, credits: bigint) => ({
    redemptionId: sha256(utf8(n)),
    sponsor,
    exchangePlatform: platform,
    credits,
    creditClass: "low-carbon",
    confirmedAt: 1_750_000_100n,
  });
  return recomputeSettlement(
    { allianceAgreementId: agreement.id, windowId, from: 1_750_000_000n, to: 1_750_086_400n },
    [r("r1", "绿色基金", "地铁", 1000n), r("r2", "地铁", "商场", 600n), r("r3", "绿色基金", "书店", 50n)],
    agreement,
  );
}

async function worlds() {
  const a = await new World({
    chainId: A,
    settlementPeers: [
      [C, "settlement"],
      [B, "settlement"],
    ],
  }).setup();
  const b = await new World({ chainId: B, settlementPeers: [[A, "settlement"]] }).setup();
  await a.governance(encodeAllianceGovernance({ op: "grant", role: 5, roleChainId: A, account: clearing }));
  await b.governance(encodeAllianceGovernance({ op: "grant", role: 5, roleChainId: B, account: clearing }));
  return { a, b };
}

const publish = (w: World, windowId: bigint, root: Uint8Array, lineCount: number, who = org1Admin) =>
  w.tx(who, (ctx) => w.settlement.publish(ctx, windowId.toString(), toHex(root), String(lineCount)));

type Args = ReturnType<typeof markSettledArgs>;
const mark = (w: World, args: Args, who = org1Admin): Promise<FakeTransactionResult<string>> =>
  w.tx(who, (ctx) => w.settlement.markSettled(ctx, args[0].toString(), args[1], args[2], args[3], JSON.stringify(args[4]), args[5]));
const ref = new Uint8Array(32).fill(0xbb);

describe("ShanduSettlement semantics: publication", () => {
  it("the clearing provider publishes a root once; it goes to one peer per transaction, and arrives attested", async () => {
    const { a, b } = await worlds();
    const batch = batchOf(7n);
    await refused(a, "NOT_CLEARING", () => publish(a, 7n, batch.settlementRoot, batch.lines.length, org1User));
    await refused(a, "INVALID_ROOT", () => publish(a, 7n, new Uint8Array(32), 1));
    await refused(a, "SCHEMA", () => publish(a, 7n, batch.settlementRoot, 2 ** 32));
    const p = await publish(a, 7n, batch.settlementRoot, batch.lines.length);
    assert.deepEqual(json(p), { windowId: "7", recorded: true, sentTo: "4004", outboxNonce: "0", pending: ["5005"] });
    const payload = encodeSettlementRootPayload({ windowId: 7n, settlementRoot: batch.settlementRoot, lineCount: batch.lines.length });
    assert.deepEqual(p.event!.payload.slice(-46), payload);
    await refused(a, "WINDOW_ALREADY_PUBLISHED", () => publish(a, 7n, sha256(utf8("other")), 1));
    const again = await publish(a, 7n, batch.settlementRoot, batch.lines.length);
    assert.deepEqual([json(again).recorded, again.event], [false, undefined]);

    assert.deepEqual((await b.carry(p)).executed, ["0"]);
    const onB = json(await b.tx(org1User, (ctx) => b.settlement.window(ctx, "7")));
    assert.deepEqual(onB, { windowId: "7", root: toHex(batch.settlementRoot), lineCount: batch.lines.length, sourceChainId: "3003" });

    await refused(a, "UNKNOWN_WINDOW", () => a.tx(org1User, (ctx) => a.settlement.sendRoot(ctx, "8", "5005")));
    await refused(b, "UNKNOWN_WINDOW", () => b.tx(org1User, (ctx) => b.settlement.sendRoot(ctx, "7", "3003")));
    await refused(a, "ROOT_NOT_PENDING", () => a.tx(org1User, (ctx) => a.settlement.sendRoot(ctx, "7", "4004")));
    const toC = await a.tx(org1User, (ctx) => a.settlement.sendRoot(ctx, "7", "5005"));
    assert.deepEqual(json(toC), { windowId: "7", sentTo: "5005", outboxNonce: "0" });
    assert.deepEqual(decodeSettlementRootPayload(toC.event!.payload.slice(-46)).settlementRoot, batch.settlementRoot);
    await refused(a, "ROOT_NOT_PENDING", () => a.tx(org1User, (ctx) => a.settlement.sendRoot(ctx, "7", "5005")));
  });

  it("a root from a peer: recorded once, a duplicate ignored, a different one kept as a conflict; refusals with the EVM codes", async () => {
    const { b } = await worlds();
    const root = sha256(utf8("root"));
    const payload = encodeSettlementRootPayload({ windowId: 9n, settlementRoot: root, lineCount: 3 });
    const recv = (p: Uint8Array, sourceChainId = A, sender = utf8("settlement")) =>
      b.receive(SETTLEMENT_RECIPIENT, { sourceChainId, sender, payload: p });
    await refused(b, "UNKNOWN_PEER", () => recv(payload, C));
    await refused(b, "UNKNOWN_SENDER", () => recv(payload, A, utf8("shandu")));
    await refused(b, "MALFORMED_PAYLOAD", () => recv(Uint8Array.of(1)));
    await refused(b, "UNKNOWN_VERSION", () => recv(Uint8Array.of(2, 1)));
    await refused(b, "UNKNOWN_OP", () => recv(Uint8Array.of(1, 2)));
    await refused(b, "MALFORMED_PAYLOAD", () => recv(payload.slice(0, 45)));
    await refused(b, "MALFORMED_PAYLOAD", () => recv(concatBytes(payload.slice(0, 10), new Uint8Array(32), payload.slice(42))));
    assert.equal(codeOf(await recv(payload)), "ok");
    const before = b.snapshot();
    assert.equal(codeOf(await recv(payload)), "ok");
    assert.deepEqual(b.snapshot(), before);
    const other = sha256(utf8("other"));
    assert.equal(codeOf(await recv(encodeSettlementRootPayload({ windowId: 9n, settlementRoot: other, lineCount: 3 }))), "ok");
    const w = json<Record<string, unknown>>(await b.tx(org1User, (ctx) => b.settlement.window(ctx, "9")));
    assert.deepEqual([w.root, w.conflicts], [toHex(root), { "3003": toHex(other) }]);
    // A root published here is kept against a peer's too.
    await refused(b, "WINDOW_ALREADY_PUBLISHED", () => publish(b, 9n, other, 3));
  });
});

describe("ShanduSettlement semantics: marking lines settled", () => {
  it("marks each line once against the window's root, with the EVM checks in order; proofs' verifySettledLine agrees", async () => {
    const { a, b } = await worlds();
    const batch = batchOf(7n);
    const p = await publish(a, 7n, batch.settlementRoot, batch.lines.length);
    await b.carry(p);
    const args = markSettledArgs(batch, 1, ref);
    await refused(a, "UNKNOWN_WINDOW", () => mark(a, markSettledArgs(batchOf(8n), 0, ref)));
    await refused(a, "NOT_CLEARING", () => mark(a, args, org1User));
    await refused(a, "INVALID_REFERENCE", () => mark(a, [...args.slice(0, 5), toHex(new Uint8Array(32))] as Args));
    await refused(a, "ROOT_MISMATCH", () => mark(a, [args[0], args[1], toHex(sha256(utf8("x"))), args[3], args[4], args[5]]));
    const line = batch.lines[1]!;
    const changed = toHex(encodeSettlementLine({ ...line, amount: line.amount + 1n }));
    await refused(a, "ROOT_MISMATCH", () => mark(a, [args[0], args[1], args[2], changed, args[4], args[5]]));
    await refused(a, "BAD_LINE", () => mark(a, [args[0], args[1], args[2], args[3].slice(0, -2), args[4], args[5]]));
    const otherCurrency = toHex(encodeSettlementLine({ ...line, currency: "USD" }));
    await refused(a, "CURRENCY_MISMATCH", () => mark(a, [args[0], args[1], args[2], otherCurrency, args[4], args[5]]));
    const movedLine = toHex(encodeSettlementLine({ ...line, windowId: 8n }));
    await refused(a, "WINDOW_MISMATCH", () => mark(a, [args[0], args[1], args[2], movedLine, args[4], args[5]]));
    await refused(a, "PROOF_TOO_SHORT", () => mark(a, [args[0], args[1], args[2], args[3], args[4].slice(1), args[5]]));
    const outside = toHex(encodeSettlementLine({ ...line, index: 99 }));
    await refused(a, "INDEX_OUT_OF_RANGE", () => mark(a, [args[0], args[1], args[2], outside, args[4], args[5]]));

    // What the chaincode accepts, proofs' verifier accepts, and the other way round.
    verifySettledLine(batch.settlementRoot, batch.header, line, proveLine(batch, 1));
    assert.deepEqual(json(await mark(a, args)), { windowId: "7", index: 1, paymentRef: toHex(ref) });
    await refused(a, "LINE_ALREADY_SETTLED", () => mark(a, args));
    assert.equal((await a.tx(org1User, (ctx) => a.settlement.referenceOf(ctx, "7", "1"))).result, toHex(ref));
    assert.equal((await a.tx(org1User, (ctx) => a.settlement.referenceOf(ctx, "7", "0"))).result, toHex(new Uint8Array(32)));
    // On B, under the root that arrived attested from A.
    for (let i = 0; i < batch.lines.length; i++) assert.equal(codeOf(await mark(b, markSettledArgs(batch, i, ref))), "ok");
  });

  it("a published root over a header that does not parse, or of another window: BAD_HEADER, WINDOW_MISMATCH", async () => {
    const { a } = await worlds();
    const batch = batchOf(7n);
    const header = encodeSettlementHeader(batch.header);
    const bad = header.slice();
    bad[bad.length - 16 - 4 - 1] = 3;
    const rootOver = (h: Uint8Array) => sha256(concatBytes(SETTLEMENT_TAG, Uint8Array.of(2), h, batch.treeRoot));
    assert.deepEqual(rootOver(header), settlementRootOf(batch.header, batch.treeRoot));
    assert.equal(codeOf(await publish(a, 20n, rootOver(bad), 2)), "ok");
    const args = markSettledArgs(batch, 0, ref);
    await refused(a, "BAD_HEADER", () => mark(a, [20n, toHex(bad), args[2], args[3], args[4], args[5]]));
    assert.equal(codeOf(await a.tx(org1User, (ctx) => a.settlement.sendRoot(ctx, "20", "5005"))), "ok");
    assert.equal(codeOf(await publish(a, 21n, batch.settlementRoot, 2)), "ok");
    await refused(a, "WINDOW_MISMATCH", () => mark(a, [21n, ...args.slice(1)] as Args));
  });
});
