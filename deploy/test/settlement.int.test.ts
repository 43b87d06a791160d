/**
 * `ShanduSettlement` on a real anvil node (Prague), with two deployments: Shandu chain A, where the
 * clearing provider publishes, and chain B, its peer. Each has a real `ShanduOutbox` and reads roles from
 * `AllianceDouble` (a test double of the alliance registry). The test plays B's inbox: it takes the
 * message from A's outbox `MessageSent` event and hands its payload to B's `shanduReceive`. Publication,
 * duplicate and conflicting roots, lines marked settled with their proofs from `@shandu/proofs`, and
 * every refusal with its code and the state left as it was.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import {
  type AllianceAgreement,
  type ConfirmedRedemption,
  concatBytes,
  encodeSettlementHeader,
  encodeSettlementLine,
  type Message,
  recomputeSettlement,
  SETTLEMENT_TAG,
  type SettlementBatch,
  sha256,
  toHex,
} from "@shandu/proofs";
import { type Contract, getBytes, getCreateAddress, Interface, type TransactionReceipt, type Wallet } from "ethers";
import {
  encodeSettlementPayload,
  loadArtifact,
  markSettledArgs,
  messageFromOutboxBody,
  publishArgs,
  settlementPayloadOf,
} from "../src/mod.ts";
import { eventsIn, rejectsWith } from "./refusals.ts";

const A = 1001n;
const B = 2002n;
const CLEARING = 5;
const outboxAbi = new Interface(loadArtifact("ShanduOutbox").abi);

const text = (s: string) => new TextEncoder().encode(s);
const ref = (s: string) => sha256(text(`payment ${s}`));

/** The worked example of docs/settlement.md §6 (window 7, three lines). */
function exampleBatch(): SettlementBatch {
  const agreement: AllianceAgreement = {
    id: "sh-sz-lowcarbon-2025",
    currency: "CNY",
    rates: [
      { creditClass: "low-carbon", numerator: 3n, denominator: 2n },
      { creditClass: "low-carbon", sponsor: "green-fund", numerator: 2n, denominator: 1n },
      { creditClass: "charity", numerator: 10n, denominator: 3n },
    ],
  };
  const r = (name: string, sponsor: string, exchangePlatform: string, credits: bigint, creditClass: string): ConfirmedRedemption => ({
    redemptionId: sha256(text(name)),
    sponsor,
    exchangePlatform,
    credits,
    creditClass,
    confirmedAt: 1_750_000_100n,
  });
  return recomputeSettlement(
    { allianceAgreementId: agreement.id, windowId: 7n, from: 1_750_000_000n, to: 1_750_086_400n },
    [
      r("r1", "green-fund", "sh-metro", 1000n, "low-carbon"),
      r("r2", "sh-metro", "sz-mall", 600n, "low-carbon"),
      r("r3", "sz-mall", "sh-metro", 201n, "low-carbon"),
      r("r4", "green-fund", "sz-mall", 100n, "charity"),
      r("r5", "green-fund", "sz-books", 50n, "charity"),
    ],
    agreement,
  );
}

/**
 * Window 8 of another agreement, with multi-byte UTF-8 ids and a longer currency label, so that the
 * contract's parsing of the header's variable-length fields is exercised at other offsets. Five lines.
 */
function otherBatch(): SettlementBatch {
  const agreement: AllianceAgreement = {
    id: "沪深低碳善度联盟-2026",
    currency: "CNY-分",
    rates: [{ creditClass: "公益", numerator: 1n, denominator: 1n }],
  };
  const r = (name: string, sponsor: string, exchangePlatform: string, credits: bigint): ConfirmedRedemption => ({
    redemptionId: sha256(text(name)),
    sponsor,
    exchangePlatform,
    credits,
    creditClass: "公益",
    confirmedAt: 1_760_000_100n,
  });
  return recomputeSettlement(
    { allianceAgreementId: agreement.id, windowId: 8n, from: 1_760_000_000n, to: 1_760_086_400n },
    [
      r("q1", "绿色基金", "上海地铁", 500n),
      r("q2", "绿色基金", "深圳书城", 300n),
      r("q3", "慈善总会", "上海地铁", 200n),
      r("q4", "慈善总会", "深圳商场", 100n),
      r("q5", "环保基金", "深圳书城", 70n),
      r("q6", "环保基金", "杭州公交", 40n),
    ],
    agreement,
  );
}

describe("ShanduSettlement on anvil", { timeout: 180_000 }, () => {
  let node: AnvilNode;
  let deployer: Wallet;
  let inbox: Wallet;
  let clearingA: Wallet;
  let clearingB: Wallet;
  let outsider: Wallet;
  let allianceA: Contract;
  let allianceB: Contract;
  let outboxA: Contract;
  let settlementA: Contract;
  let settlementB: Contract;
  const batch7 = exampleBatch();
  const batch8 = otherBatch();

  before(async () => {
    node = await startAnvil();
    deployer = node.wallet(0);
    inbox = node.wallet(1);
    clearingA = node.wallet(2);
    clearingB = node.wallet(3);
    outsider = node.wallet(4);
    // The two settlement contracts name each other: their addresses are computed from the deployer's nonces.
    const n = await node.provider.getTransactionCount(deployer.address);
    const at = (k: number) => getCreateAddress({ from: deployer.address, nonce: n + k });
    allianceA = await deployContract(deployer, "AllianceDouble", [A]);
    allianceB = await deployContract(deployer, "AllianceDouble", [B]);
    outboxA = await deployContract(deployer, "ShanduOutbox", [A, deployer.address]);
    const outboxB = await deployContract(deployer, "ShanduOutbox", [B, deployer.address]);
    settlementA = await deployContract(deployer, "ShanduSettlement", [
      at(0),
      at(2),
      inbox.address,
      [{ chainId: B, settlementContract: at(5) }],
    ]);
    settlementB = await deployContract(deployer, "ShanduSettlement", [
      at(1),
      await outboxB.getAddress(),
      inbox.address,
      [{ chainId: A, settlementContract: at(4) }],
    ]);
    assert.equal(await settlementA.getAddress(), at(4));
    assert.equal(await settlementB.getAddress(), at(5));
    await send(allianceA, deployer, "setRole", CLEARING, A, clearingA.address, true);
    await send(allianceB, deployer, "setRole", CLEARING, B, clearingB.address, true);
    // A's clearing provider is registered for chain A in B's registry too: that does not make it B's.
    await send(allianceB, deployer, "setRole", CLEARING, A, clearingA.address, true);
  });
  after(async () => {
    await node?.close();
  });

  async function send(c: Contract, from: Wallet, fn: string, ...args: unknown[]): Promise<TransactionReceipt> {
    const tx = await (c.connect(from) as Contract).getFunction(fn)(...args);
    const receipt = await node.provider.waitForTransaction(tx.hash);
    assert.ok(receipt && receipt.status === 1, `${fn} was mined and succeeded`);
    return receipt;
  }

  const view = async (c: Contract, fn: string, ...args: unknown[]) => c.getFunction(fn).staticCall(...args);

  function sentIn(receipt: TransactionReceipt): Message[] {
    const outbox = outboxA.target.toString().toLowerCase();
    return receipt.logs
      .filter((l) => l.address.toLowerCase() === outbox)
      .map((l) => outboxAbi.parseLog(l))
      .filter((l) => l?.name === "MessageSent")
      .map((l) => messageFromOutboxBody(getBytes(l!.args.body as string)));
  }

  /** Hands `payload` to B as B's inbox would, as sent by `sender` on `source`. */
  const receiveOnB = (payload: Uint8Array, opts: { from?: Wallet; source?: bigint; sender?: string; nonce?: bigint } = {}) =>
    send(
      settlementB,
      opts.from ?? inbox,
      "shanduReceive",
      opts.source ?? A,
      opts.sender ?? settlementA.target.toString(),
      opts.nonce ?? 0n,
      payload,
    );

  test("publish: the root is recorded on A and sent to B, which records it once", async () => {
    await rejectsWith(send(settlementA, outsider, "publish", ...publishArgs(batch7)), "NOT_CLEARING");
    await rejectsWith(send(settlementA, clearingB, "publish", ...publishArgs(batch7)), "NOT_CLEARING");
    await rejectsWith(send(settlementA, clearingA, "publish", 7n, toHex(new Uint8Array(32)), 3), "INVALID_ROOT");
    assert.equal(await view(settlementA, "rootOf", 7n), toHex(new Uint8Array(32)));

    const receipt = await send(settlementA, clearingA, "publish", ...publishArgs(batch7));
    assert.equal(await view(settlementA, "rootOf", 7n), toHex(batch7.settlementRoot));
    const events = eventsIn(receipt, settlementA);
    assert.deepEqual(
      events.map((e) => e.name),
      ["SettlementRootRecorded", "SettlementRootSent"],
    );
    assert.equal(events[0]!.args.sourceChainId, A);
    const sent = sentIn(receipt);
    assert.equal(sent.length, 1);
    const m = sent[0]!;
    assert.equal(m.destinationChainId, B);
    assert.equal(toHex(m.recipient), settlementB.target.toString().toLowerCase());
    assert.equal(toHex(m.sender), settlementA.target.toString().toLowerCase());
    assert.deepEqual(m.payload, settlementPayloadOf(batch7));

    // The same root again: nothing recorded, nothing sent. Another root for the window: refused.
    const again = await send(settlementA, clearingA, "publish", ...publishArgs(batch7));
    assert.equal(again.logs.length, 0);
    await rejectsWith(send(settlementA, clearingA, "publish", 7n, toHex(batch8.settlementRoot), 5), "WINDOW_ALREADY_PUBLISHED");
    assert.equal(await view(settlementA, "rootOf", 7n), toHex(batch7.settlementRoot));

    // B's inbox delivers it.
    const delivered = await receiveOnB(m.payload, { nonce: m.nonce });
    const recorded = eventsIn(delivered, settlementB);
    assert.equal(recorded[0]!.name, "SettlementRootRecorded");
    assert.equal(await view(settlementB, "rootOf", 7n), toHex(batch7.settlementRoot));
    const w = (await view(settlementB, "window", 7n)) as { lineCount: bigint; sourceChainId: bigint };
    assert.equal(w.lineCount, 3n);
    assert.equal(w.sourceChainId, A);
    // A duplicate delivery changes nothing.
    const duplicate = eventsIn(await receiveOnB(m.payload, { nonce: m.nonce }), settlementB);
    assert.deepEqual(
      duplicate.map((e) => e.name),
      ["MessageIgnored"],
    );
  });

  test("a conflicting root from the peer is reported and the first one kept", async () => {
    const conflicting = encodeSettlementPayload({ windowId: 7n, settlementRoot: batch8.settlementRoot, lineCount: 5 });
    const events = eventsIn(await receiveOnB(conflicting, { nonce: 1n }), settlementB);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.name, "SettlementConflict");
    assert.equal(events[0]!.args.keptRoot, toHex(batch7.settlementRoot));
    assert.equal(events[0]!.args.otherRoot, toHex(batch8.settlementRoot));
    assert.equal(await view(settlementB, "rootOf", 7n), toHex(batch7.settlementRoot));
  });

  test("messages are taken only from the inbox and the registered peer, and only well formed", async () => {
    const payload = encodeSettlementPayload({ windowId: 30n, settlementRoot: batch8.settlementRoot, lineCount: 5 });
    await rejectsWith(receiveOnB(payload, { from: outsider }), "NOT_INBOX");
    await rejectsWith(receiveOnB(payload, { source: 3003n }), "UNKNOWN_PEER");
    await rejectsWith(receiveOnB(payload, { sender: outsider.address }), "UNKNOWN_SENDER");
    await rejectsWith(receiveOnB(payload.slice(0, 45)), "MALFORMED_PAYLOAD");
    await rejectsWith(receiveOnB(concatBytes(payload, new Uint8Array(1))), "MALFORMED_PAYLOAD");
    await rejectsWith(receiveOnB(payload.slice(0, 1)), "MALFORMED_PAYLOAD");
    await rejectsWith(receiveOnB(Uint8Array.of(2, ...payload.slice(1))), "UNKNOWN_VERSION");
    await rejectsWith(receiveOnB(Uint8Array.of(1, 9, ...payload.slice(2))), "UNKNOWN_OP");
    const zero = payload.slice();
    zero.fill(0, 10, 42);
    await rejectsWith(receiveOnB(zero), "MALFORMED_PAYLOAD");
    assert.equal(await view(settlementB, "rootOf", 30n), toHex(new Uint8Array(32)));
  });

  test("markSettled: every line of the window, each once, with its proof", async () => {
    for (let i = 0; i < batch7.lines.length; i++) {
      assert.equal(await view(settlementB, "isSettled", 7n, i), false);
      const receipt = await send(settlementB, clearingB, "markSettled", ...markSettledArgs(batch7, i, ref(`7/${i}`)));
      const events = eventsIn(receipt, settlementB);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.name, "LineSettled");
      assert.equal(events[0]!.args.windowId, 7n);
      assert.equal(events[0]!.args.index, BigInt(i));
      assert.equal(events[0]!.args.paymentRef, toHex(ref(`7/${i}`)));
      assert.equal(await view(settlementB, "isSettled", 7n, i), true);
      assert.equal(await view(settlementB, "referenceOf", 7n, i), toHex(ref(`7/${i}`)));
    }
    await rejectsWith(send(settlementB, clearingB, "markSettled", ...markSettledArgs(batch7, 1, ref("again"))), "LINE_ALREADY_SETTLED");
    assert.equal(await view(settlementB, "referenceOf", 7n, 1), toHex(ref("7/1")));

    // Window 8 (variable-length fields at other offsets), published by B's own clearing provider.
    await send(settlementB, clearingB, "publish", ...publishArgs(batch8));
    assert.ok(batch8.lines.length >= 4, "window 8 has lines at odd and even positions");
    for (const i of [batch8.lines.length - 1, 0]) {
      await send(settlementB, clearingB, "markSettled", ...markSettledArgs(batch8, i, ref(`8/${i}`)));
      assert.equal(await view(settlementB, "isSettled", 8n, i), true);
    }
    assert.equal(await view(settlementB, "isSettled", 8n, 1), false);
  });

  test("markSettled refusals leave the line unsettled", async () => {
    const index = 1;
    const [windowId, header, treeRoot, line, siblings, reference] = markSettledArgs(batch8, index, ref("refused"));
    const refuse = async (args: unknown[], code: string, from: Wallet = clearingB) => {
      await rejectsWith(send(settlementB, from, "markSettled", ...args), code);
      assert.equal(await view(settlementB, "isSettled", 8n, index), false);
    };
    const good = [windowId, header, treeRoot, line, siblings, reference];

    await refuse(good, "NOT_CLEARING", outsider);
    await refuse(good, "NOT_CLEARING", clearingA);
    await refuse([windowId, header, treeRoot, line, siblings, toHex(new Uint8Array(32))], "INVALID_REFERENCE");
    await refuse([99n, header, treeRoot, line, siblings, reference], "UNKNOWN_WINDOW");

    // A header or tree root that does not hash to the window's root; window 7's header under window 8.
    await refuse([windowId, header, toHex(batch7.treeRoot), line, siblings, reference], "ROOT_MISMATCH");
    const [, header7, treeRoot7, line7, siblings7] = markSettledArgs(batch7, 0, ref("x"));
    await refuse([windowId, header7, treeRoot7, line, siblings, reference], "ROOT_MISMATCH");

    // A wrong proof: a changed sibling, one sibling too few or too many.
    const wrong = [...siblings];
    wrong[0] = toHex(sha256(text("not a sibling")));
    await refuse([windowId, header, treeRoot, line, wrong, reference], "ROOT_MISMATCH");
    await refuse([windowId, header, treeRoot, line, siblings.slice(1), reference], "PROOF_TOO_SHORT");
    await refuse([windowId, header, treeRoot, line, [...siblings, siblings[0]], reference], "PROOF_TOO_LONG");
    // Another line's proof; the line with a changed amount; the line moved to another index.
    const [, , , , siblingsOf2] = markSettledArgs(batch8, 2, ref("x"));
    await refuse([windowId, header, treeRoot, line, siblingsOf2, reference], "ROOT_MISMATCH");
    const l = batch8.lines[index]!;
    await refuse(
      [windowId, header, treeRoot, toHex(encodeSettlementLine({ ...l, amount: l.amount + 1n })), siblings, reference],
      "ROOT_MISMATCH",
    );
    await refuse([windowId, header, treeRoot, toHex(encodeSettlementLine({ ...l, index: 2 })), siblings, reference], "ROOT_MISMATCH");
    await refuse([windowId, header, treeRoot, toHex(encodeSettlementLine({ ...l, index: 99 })), siblings, reference], "INDEX_OUT_OF_RANGE");

    // A line of another window, with its own valid proof, under this window's header.
    await refuse([windowId, header, treeRoot, line7, siblings7, reference], "WINDOW_MISMATCH");
    // ... and claimed for its own window with this window's header.
    await rejectsWith(send(settlementB, clearingB, "markSettled", 7n, header, treeRoot, line7, siblings7, reference), "ROOT_MISMATCH");
    // A line whose currency is not the header's.
    await refuse(
      [windowId, header, treeRoot, toHex(encodeSettlementLine({ ...l, currency: "CNY" })), siblings, reference],
      "CURRENCY_MISMATCH",
    );

    // Malformed lines.
    const lineBytes = getBytes(line);
    await refuse([windowId, header, treeRoot, toHex(lineBytes.slice(0, lineBytes.length - 1)), siblings, reference], "BAD_LINE");
    await refuse([windowId, header, treeRoot, toHex(concatBytes(lineBytes, new Uint8Array(1))), siblings, reference], "BAD_LINE");
    await refuse([windowId, header, treeRoot, toHex(lineBytes.slice(0, 13)), siblings, reference], "BAD_LINE");

    await send(settlementB, clearingB, "markSettled", ...good);
    assert.equal(await view(settlementB, "referenceOf", 8n, index), toHex(ref("refused")));
  });

  test("markSettled parses the header strictly, even under a published root", async () => {
    // A root published over a header with bytes after netTotal: it hashes right, and is still refused.
    const treeRoot = batch8.treeRoot;
    const bad = concatBytes(encodeSettlementHeader(batch8.header), new Uint8Array(1));
    const root = sha256(concatBytes(SETTLEMENT_TAG, Uint8Array.of(0x02), bad, treeRoot));
    await send(settlementB, clearingB, "publish", 40n, toHex(root), 5);
    const [, , , line, siblings] = markSettledArgs(batch8, 0, ref("x"));
    await rejectsWith(
      send(settlementB, clearingB, "markSettled", 40n, toHex(bad), toHex(treeRoot), line, siblings, toHex(ref("x"))),
      "BAD_HEADER",
    );
    // The right header, published under window 41: its window (8) is not 41.
    const header = encodeSettlementHeader(batch8.header);
    const root41 = sha256(concatBytes(SETTLEMENT_TAG, Uint8Array.of(0x02), header, treeRoot));
    await send(settlementB, clearingB, "publish", 41n, toHex(root41), 5);
    await rejectsWith(
      send(settlementB, clearingB, "markSettled", 41n, toHex(header), toHex(treeRoot), line, siblings, toHex(ref("x"))),
      "WINDOW_MISMATCH",
    );
  });
});
