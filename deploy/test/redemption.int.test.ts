/**
 * Cross-alliance redemption (`ShanduAlliance` + `GoodDeedCredits` + `ShanduRedemption`) on one real anvil
 * node (Prague) with two deployments, Shandu chain A (the user's alliance) and chain B (the exchange
 * platform's), each with a real `ShanduOutbox` and its own alliance registry. The test plays both inboxes:
 * it takes every message from an outbox's `MessageSent` event and hands its payload to the other side's
 * `shanduReceive`, in order, out of order or twice; it also delivers the registries' governance messages
 * and stands in for the deed registry, issuing credits directly. Every flow, every refusal with its code
 * (and the state left as it was), the lane limits, and a property test over random interleavings of
 * deliveries, answers and timeouts.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import { CodecError, concatBytes, type Message, toHex } from "@shandu/proofs";
import { type Contract, getBytes, getCreateAddress, Interface, type TransactionReceipt, type Wallet } from "ethers";
import fc from "fast-check";
import {
  ALLIANCE_ROLE,
  type AllianceGovernance,
  decodeRedemptionPayload,
  encodeAllianceGovernance,
  encodeRedemptionPayload,
  loadArtifact,
  messageFromOutboxBody,
  type RedemptionPayload,
  RedemptionState,
  reasonCode,
  redemptionId,
} from "../src/mod.ts";
import { codeOf, eventsIn as eventsOf, RevertedInBlock, rejectsWith } from "./refusals.ts";

const A = 1001n;
const B = 2002n;
/** A chain with a peer on A but (at first) no open lane, for the lane-limit tests. */
const C = 3003n;
const MARGIN = 300n;
/** No regulator envelope: the zero commitment. */
const NO_ENVELOPE = `0x${"00".repeat(32)}`;
const REGULATOR_CHAIN = 9009n;
const REGULATOR = getBytes("0x00000000000000000000000000000000000c0de1");

const outboxAbi = new Interface(loadArtifact("ShanduOutbox").abi);
const creditsAbi = new Interface(loadArtifact("GoodDeedCredits").abi);

interface Side {
  chainId: bigint;
  alliance: Contract;
  outbox: Contract;
  credits: Contract;
  redemption: Contract;
}

interface Deployment {
  a: Side;
  b: Side;
}

const hex = (b: Uint8Array) => toHex(b);
const ascii = (code: string) => hex(reasonCode(code));

describe("cross-alliance redemption on anvil", { timeout: 180_000 }, () => {
  let node: AnvilNode;
  let d: Deployment;
  let deployer: Wallet;
  let inbox: Wallet;
  let issuer: Wallet;
  let alice: Wallet;
  let bob: Wallet;
  let shop: Wallet;
  /** Registered as a platform on B in A's registry, not in B's: A lets it through, B rejects on arrival. */
  let unregistered: Wallet;
  let outsider: Wallet;
  const sponsor = "0x00000000000000000000000000000000005B0A50";

  before(async () => {
    node = await startAnvil();
    deployer = node.wallet(0);
    inbox = node.wallet(1);
    issuer = node.wallet(2);
    alice = node.wallet(3);
    bob = node.wallet(4);
    shop = node.wallet(5);
    unregistered = node.wallet(6);
    outsider = node.wallet(7);
    d = await deployPair();
  });
  after(async () => {
    await node?.close();
  });

  /**
   * Both chains' contracts. Credits and redemption contracts name each other, and each redemption contract
   * names its peer, so their addresses are computed from the deployer's nonces before any is deployed. The
   * deed registry the credits name is the `issuer` wallet, so that the test issues directly.
   */
  async function deployPair(): Promise<Deployment> {
    const n = await node.provider.getTransactionCount(deployer.address);
    const at = (k: number) => getCreateAddress({ from: deployer.address, nonce: n + k });
    const sources = [{ chainId: REGULATOR_CHAIN, sender: REGULATOR }];
    const allianceA = await deployContract(deployer, "ShanduAlliance", [A, inbox.address, sources]);
    const allianceB = await deployContract(deployer, "ShanduAlliance", [B, inbox.address, sources]);
    const outboxA = await deployContract(deployer, "ShanduOutbox", [A, deployer.address]);
    const outboxB = await deployContract(deployer, "ShanduOutbox", [B, deployer.address]);
    const creditsA = await deployContract(deployer, "GoodDeedCredits", [at(0), issuer.address, at(6)]);
    const creditsB = await deployContract(deployer, "GoodDeedCredits", [at(1), issuer.address, at(7)]);
    const redA = await deployContract(deployer, "ShanduRedemption", [
      A,
      await outboxA.getAddress(),
      inbox.address,
      await creditsA.getAddress(),
      at(0),
      [
        { chainId: B, redemption: at(7) },
        { chainId: C, redemption: REGULATOR },
      ],
      MARGIN,
    ]);
    const redB = await deployContract(deployer, "ShanduRedemption", [
      B,
      await outboxB.getAddress(),
      inbox.address,
      await creditsB.getAddress(),
      at(1),
      [{ chainId: A, redemption: at(6) }],
      MARGIN,
    ]);
    assert.equal(await redA.getAddress(), at(6));
    assert.equal(await redB.getAddress(), at(7));
    const pair = {
      a: { chainId: A, alliance: allianceA, outbox: outboxA, credits: creditsA, redemption: redA },
      b: { chainId: B, alliance: allianceB, outbox: outboxB, credits: creditsB, redemption: redB },
    };
    const role = (r: keyof typeof ALLIANCE_ROLE, chain: bigint, who: string): AllianceGovernance => ({
      op: "grant",
      role: ALLIANCE_ROLE[r],
      roleChainId: chain,
      account: getBytes(who),
    });
    await governInit(pair.a, [
      role("issuer", A, issuer.address),
      role("sponsor", A, sponsor),
      role("platform", B, shop.address),
      role("platform", B, unregistered.address),
      role("platform", C, shop.address),
      { op: "setLaneLimit", laneChainId: B, capacity: 10n ** 30n, refillPerSecond: 10n ** 20n },
    ]);
    await governInit(pair.b, [role("platform", B, shop.address)]);
    return pair;
  }

  let governanceNonce = 0n;
  /** Delivers governance payloads to a side's registry as its inbox would, from the regulator's source. */
  async function governInit(side: Side, ops: AllianceGovernance[]): Promise<void> {
    for (const g of ops) {
      governanceNonce += 1n;
      const tx = await (side.alliance.connect(inbox) as Contract).getFunction("shanduReceive")(
        REGULATOR_CHAIN,
        REGULATOR,
        governanceNonce,
        encodeAllianceGovernance(g),
      );
      const receipt = await node.provider.waitForTransaction(tx.hash);
      assert.equal(receipt?.status, 1, `governance ${g.op}`);
    }
  }
  const govern = (side: Side, ...ops: AllianceGovernance[]) => governInit(side, ops);

  /** Sends a transaction as `from` and returns its receipt (anvil mines it at once). */
  async function send(c: Contract, from: Wallet, fn: string, ...args: unknown[]): Promise<TransactionReceipt> {
    // A quarter more gas than the estimate: anvil estimates at a pending block whose clock differs from the
    // one the transaction lands in, and the lane's bucket (refilled by elapsed time) can take another path.
    const f = (c.connect(from) as Contract).getFunction(fn);
    const gasLimit = ((await f.estimateGas(...args)) * 5n) / 4n;
    const tx = await f(...args, { gasLimit });
    const receipt = await node.provider.waitForTransaction(tx.hash);
    assert.ok(receipt, `${fn} was mined`);
    // anvil's clock runs on between the gas estimate and the block: a call at the very edge of a deadline
    // can pass the estimate and revert in the block. It changed nothing; callers decide whether that may happen.
    if (receipt.status !== 1) throw new RevertedInBlock(fn);
    return receipt;
  }

  const view = async (c: Contract, fn: string, ...args: unknown[]) => c.getFunction(fn).staticCall(...args);

  /** The messages an outbox emitted in this receipt. */
  function sentIn(receipt: TransactionReceipt): Message[] {
    const outboxes = [d.a.outbox, d.b.outbox].map((o) => o.target.toString().toLowerCase());
    return receipt.logs
      .filter((l) => outboxes.includes(l.address.toLowerCase()))
      .map((l) => outboxAbi.parseLog(l))
      .filter((l) => l?.name === "MessageSent")
      .map((l) => messageFromOutboxBody(getBytes(l!.args.body as string)));
  }

  /** Events of a redemption contract in this receipt, as `[name, args]`. */
  const eventsIn = (receipt: TransactionReceipt, side: Side) => eventsOf(receipt, side.redemption);

  const sideOf = (chainId: bigint) => (chainId === A ? d.a : d.b);

  /** Delivers a message as the destination's inbox would. */
  async function deliver(m: Message): Promise<TransactionReceipt> {
    const to = sideOf(m.destinationChainId);
    return send(to.redemption, inbox, "shanduReceive", m.sourceChainId, m.sender, m.nonce, m.payload);
  }

  async function now(): Promise<bigint> {
    return BigInt((await node.provider.getBlock("latest"))!.timestamp);
  }

  async function advance(seconds: bigint): Promise<void> {
    await node.provider.send("evm_increaseTime", [Number(seconds)]);
    await node.provider.send("evm_mine", []);
  }

  const state = async (side: Side, id: string) => Number(await view(side.redemption, "state", id));
  const balances = async (side: Side, user: string, cls: string) => ({
    balance: (await view(side.credits, "balanceOf", user, cls)) as bigint,
    locked: (await view(side.credits, "lockedOf", user, cls)) as bigint,
    burned: (await view(side.credits, "burnedOf", user, cls)) as bigint,
    issued: (await view(side.credits, "issuedTo", user, cls)) as bigint,
  });

  let classCounter = 0;
  /** A fresh credit class, so every test starts from zero balances. */
  function freshClass(): string {
    classCounter += 1;
    return ascii(`low-carbon-travel-${classCounter}`);
  }

  const sponsored = new Set<string>();
  /** Issues credits of `cls` to `user` on A, as the deed registry would (setting the class's sponsor first). */
  async function fund(user: Wallet, cls: string, amount: bigint): Promise<void> {
    if (!sponsored.has(cls)) {
      await govern(d.a, { op: "setClassSponsor", creditClass: getBytes(cls), sponsor: getBytes(sponsor) });
      sponsored.add(cls);
    }
    await send(d.a.credits, issuer, "issue", user.address, cls, amount, sponsor, ascii(`deed-${classCounter}`), issuer.address);
  }

  /** `user` requests a redemption on A; returns its id and the AUTHORISE message. */
  async function request(user: Wallet, platform: string, cls: string, amount: bigint, deadlineIn = 1_000n) {
    const receipt = await send(
      d.a.redemption,
      user,
      "requestRedemption",
      B,
      platform,
      cls,
      amount,
      (await now()) + deadlineIn,
      NO_ENVELOPE,
    );
    const [ev] = eventsIn(receipt, d.a).filter((e) => e.name === "RedemptionRequested");
    const [message] = sentIn(receipt);
    return { id: ev!.args.id as string, message: message!, receipt };
  }

  /** The one message the transaction sent, after checking it went to `to`. */
  function only(receipt: TransactionReceipt, to: bigint): Message {
    const sent = sentIn(receipt);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.destinationChainId, to);
    return sent[0]!;
  }

  describe("payload codec", () => {
    test("each payload round-trips, and the decoder refuses what the contract refuses", () => {
      const payloads: RedemptionPayload[] = [
        {
          op: "authorise",
          id: new Uint8Array(32).fill(1),
          user: new Uint8Array(20).fill(2),
          platform: new Uint8Array(20).fill(3),
          creditClass: new Uint8Array(32).fill(4),
          amount: (1n << 256n) - 1n,
          deadline: (1n << 64n) - 1n,
          envelopeCommitment: new Uint8Array(32).fill(8),
        },
        { op: "confirm", id: new Uint8Array(32).fill(5) },
        { op: "reject", id: new Uint8Array(32).fill(6), reason: reasonCode("PLATFORM_REJECTED") },
        { op: "expired", id: new Uint8Array(32).fill(7) },
      ];
      for (const p of payloads) {
        const enc = encodeRedemptionPayload(p);
        assert.equal(enc.length, { authorise: 178, confirm: 34, reject: 66, expired: 34 }[p.op]);
        assert.deepEqual(decodeRedemptionPayload(enc), p);
        const refused = (b: Uint8Array, code: string) =>
          assert.throws(
            () => decodeRedemptionPayload(b),
            (e: unknown) => e instanceof CodecError && e.code === code,
          );
        refused(enc.subarray(0, enc.length - 1), "TRUNCATED");
        refused(concatBytes(enc, Uint8Array.of(0)), "TRAILING_BYTES");
        refused(concatBytes(Uint8Array.of(2), enc.subarray(1)), "UNKNOWN_VERSION");
        refused(concatBytes(Uint8Array.of(1, 9), enc.subarray(2)), "UNKNOWN_KIND");
      }
      assert.throws(
        () => encodeRedemptionPayload({ ...(payloads[0] as RedemptionPayload & { op: "authorise" }), amount: -1n }),
        CodecError,
      );
      assert.throws(() => encodeRedemptionPayload({ op: "confirm", id: new Uint8Array(31) }), CodecError);
    });
  });

  describe("flows", () => {
    test("confirm: locked on A, authorised on B, confirmed, burned on A; duplicates change nothing", async () => {
      const cls = freshClass();
      await fund(alice, cls, 100n);
      const userNonce = (await view(d.a.redemption, "nextUserNonce", alice.address)) as bigint;
      const deadline = (await now()) + 1_000n;
      const receipt = await send(d.a.redemption, alice, "requestRedemption", B, shop.address, cls, 40n, deadline, `0x${"ab".repeat(32)}`);
      const id = eventsIn(receipt, d.a).find((e) => e.name === "RedemptionRequested")!.args.id as string;
      assert.equal(id, hex(redemptionId(A, getBytes(d.a.redemption.target as string), getBytes(alice.address), userNonce)));
      assert.equal(id, await view(d.a.redemption, "redemptionId", alice.address, userNonce));
      assert.equal(await state(d.a, id), RedemptionState.locked);
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 60n, locked: 40n, burned: 0n, issued: 100n });

      const authorise = only(receipt, B);
      assert.equal(hex(authorise.sender), (d.a.redemption.target as string).toLowerCase());
      assert.equal(hex(authorise.recipient), (d.b.redemption.target as string).toLowerCase());
      assert.deepEqual(decodeRedemptionPayload(authorise.payload), {
        op: "authorise",
        id: getBytes(id),
        user: getBytes(alice.address),
        platform: getBytes(shop.address),
        creditClass: getBytes(cls),
        amount: 40n,
        deadline,
        envelopeCommitment: new Uint8Array(32).fill(0xab),
      });

      const atB = await deliver(authorise);
      assert.deepEqual(
        eventsIn(atB, d.b).map((e) => e.name),
        ["RedemptionAuthorised"],
      );
      assert.equal(await state(d.b, id), RedemptionState.authorised);
      const record = await view(d.b.redemption, "redemption", id);
      assert.equal(record.user, alice.address);
      assert.equal(record.platform, shop.address);
      assert.equal(record.amount, 40n);
      assert.equal(record.peerChainId, A);
      const again = await deliver(authorise);
      assert.deepEqual(
        eventsIn(again, d.b).map((e) => e.name),
        ["MessageIgnored"],
      );
      assert.equal(sentIn(again).length, 0);
      assert.equal(await state(d.b, id), RedemptionState.authorised);

      const confirmed = await send(d.b.redemption, shop, "confirm", id);
      assert.equal(await state(d.b, id), RedemptionState.confirmed);
      const confirm = only(confirmed, A);
      assert.deepEqual(decodeRedemptionPayload(confirm.payload), { op: "confirm", id: getBytes(id) });

      const atA = await deliver(confirm);
      assert.deepEqual(
        eventsIn(atA, d.a).map((e) => e.name),
        ["RedemptionBurned"],
      );
      assert.equal(await state(d.a, id), RedemptionState.burned);
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 60n, locked: 0n, burned: 40n, issued: 100n });
      await deliver(confirm);
      await deliver(authorise);
      assert.equal(await state(d.a, id), RedemptionState.burned);
      assert.equal(await state(d.b, id), RedemptionState.confirmed);
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 60n, locked: 0n, burned: 40n, issued: 100n });

      await advance(2_000n);
      await rejectsWith(d.a.redemption.getFunction("refundAfterTimeout").staticCall(id), "ALREADY_BURNED");
      await rejectsWith((d.b.redemption.connect(shop) as Contract).getFunction("reject").staticCall(id), "NOT_AUTHORISED");
      assert.equal(await view(d.a.credits, "issuedBySponsor", sponsor, cls), 100n);
    });

    test("reject: the platform declines, A refunds", async () => {
      const cls = freshClass();
      await fund(alice, cls, 50n);
      const { id, message } = await request(alice, shop.address, cls, 50n);
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 0n, locked: 50n, burned: 0n, issued: 50n });
      await deliver(message);
      const rejected = await send(d.b.redemption, shop, "reject", id);
      assert.equal(await state(d.b, id), RedemptionState.rejected);
      const back = only(rejected, A);
      assert.deepEqual(decodeRedemptionPayload(back.payload), { op: "reject", id: getBytes(id), reason: reasonCode("PLATFORM_REJECTED") });
      const atA = await deliver(back);
      const refunded = eventsIn(atA, d.a).find((e) => e.name === "RedemptionRefunded")!;
      assert.equal(refunded.args.reason, ascii("PLATFORM_REJECTED"));
      assert.equal(await state(d.a, id), RedemptionState.refunded);
      await deliver(back);
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 50n, locked: 0n, burned: 0n, issued: 50n });
      await rejectsWith((d.b.redemption.connect(shop) as Contract).getFunction("confirm").staticCall(id), "NOT_AUTHORISED");
    });

    test("unknown platform: B rejects on arrival, A refunds with UNKNOWN_PLATFORM", async () => {
      const cls = freshClass();
      await fund(alice, cls, 30n);
      const { id, message } = await request(alice, unregistered.address, cls, 30n);
      const atB = await deliver(message);
      assert.equal(await state(d.b, id), RedemptionState.rejected);
      const rejected = eventsIn(atB, d.b).find((e) => e.name === "RedemptionRejected")!;
      assert.equal(rejected.args.reason, ascii("UNKNOWN_PLATFORM"));
      const back = only(atB, A);
      const again = await deliver(message);
      assert.equal(sentIn(again).length, 0, "a duplicate AUTHORISE does not send a second REJECT");
      await rejectsWith((d.b.redemption.connect(unregistered) as Contract).getFunction("confirm").staticCall(id), "NOT_AUTHORISED");
      await deliver(back);
      assert.equal(await state(d.a, id), RedemptionState.refunded);
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 30n, locked: 0n, burned: 0n, issued: 30n });
    });

    test("timeout: no answer, anyone refunds after deadline + margin, once", async () => {
      const cls = freshClass();
      await fund(alice, cls, 20n);
      const { id, message } = await request(alice, shop.address, cls, 20n, 100n);
      await deliver(message);
      await rejectsWith(d.a.redemption.getFunction("refundAfterTimeout").staticCall(id), "TOO_EARLY");
      await advance(100n + MARGIN - 5n);
      await rejectsWith(d.a.redemption.getFunction("refundAfterTimeout").staticCall(id), "TOO_EARLY");
      await advance(10n);
      const receipt = await send(d.a.redemption, outsider, "refundAfterTimeout", id);
      assert.equal(eventsIn(receipt, d.a).find((e) => e.name === "RedemptionRefunded")!.args.reason, ascii("TIMEOUT"));
      assert.equal(await state(d.a, id), RedemptionState.refunded);
      assert.equal((await view(d.a.redemption, "redemption", id)).refundedByTimeout, true);
      await rejectsWith(d.a.redemption.getFunction("refundAfterTimeout").staticCall(id), "ALREADY_REFUNDED");
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 20n, locked: 0n, burned: 0n, issued: 20n });
      await rejectsWith((d.b.redemption.connect(shop) as Contract).getFunction("confirm").staticCall(id), "DEADLINE_PASSED");

      // The refund is announced to B, which closes the redemption: the platform can no longer answer.
      const expired = only(receipt, B);
      assert.deepEqual(decodeRedemptionPayload(expired.payload), { op: "expired", id: getBytes(id) });
      const atB = await deliver(expired);
      assert.deepEqual(
        eventsIn(atB, d.b).map((e) => [e.name, e.args.id]),
        [["RedemptionExpired", id]],
      );
      assert.equal(sentIn(atB).length, 0);
      assert.equal(await state(d.b, id), RedemptionState.expired);
      for (const fn of ["confirm", "reject"]) {
        await rejectsWith((d.b.redemption.connect(shop) as Contract).getFunction(fn).staticCall(id), "NOT_AUTHORISED");
      }
      await rejectsWith((d.b.redemption.connect(outsider) as Contract).getFunction("reject").staticCall(id), "NOT_PLATFORM");
      const again = await deliver(expired);
      assert.deepEqual(
        eventsIn(again, d.b).map((e) => [e.name, e.args.op, e.args.state]),
        [["MessageIgnored", 4n, BigInt(RedemptionState.expired)]],
      );
      await deliver(message);
      assert.equal(await state(d.b, id), RedemptionState.expired, "a late duplicate AUTHORISE does not reopen it");
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 20n, locked: 0n, burned: 0n, issued: 20n });
    });

    test("an expiry notice reaching B after the platform answered, or before the request, changes nothing", async () => {
      const cls = freshClass();
      await fund(alice, cls, 10n);
      const { id, message } = await request(alice, unregistered.address, cls, 10n, 50n);
      // B has not seen the request yet when the notice arrives: ignored (on one lane, in order, this cannot happen).
      await advance(50n + MARGIN + 1n);
      const expired = only(await send(d.a.redemption, outsider, "refundAfterTimeout", id), B);
      const early = await deliver(expired);
      assert.deepEqual(
        eventsIn(early, d.b).map((e) => [e.name, e.args.state]),
        [["MessageIgnored", BigInt(RedemptionState.none)]],
      );
      assert.equal(await state(d.b, id), RedemptionState.none);
      // Then the request: B rejects the unregistered platform; the REJECT finds A refunded already.
      const back = only(await deliver(message), A);
      assert.equal(await state(d.b, id), RedemptionState.rejected);
      const ignored = await deliver(expired);
      assert.deepEqual(
        eventsIn(ignored, d.b).map((e) => [e.name, e.args.state]),
        [["MessageIgnored", BigInt(RedemptionState.rejected)]],
      );
      await deliver(back);
      assert.equal(await state(d.a, id), RedemptionState.refunded);
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 10n, locked: 0n, burned: 0n, issued: 10n });
    });

    test("a confirmation arriving after the timeout refund burns nothing and raises LateConfirmation once", async () => {
      const cls = freshClass();
      await fund(alice, cls, 25n);
      const { id, message } = await request(alice, shop.address, cls, 25n, 100n);
      await deliver(message);
      const confirm = only(await send(d.b.redemption, shop, "confirm", id), A);
      await advance(100n + MARGIN + 1n);
      const expired = only(await send(d.a.redemption, outsider, "refundAfterTimeout", id), B);
      const late = await deliver(confirm);
      assert.deepEqual(
        eventsIn(late, d.a).map((e) => e.name),
        ["LateConfirmation"],
      );
      assert.equal(await state(d.a, id), RedemptionState.refunded);
      assert.equal((await view(d.a.redemption, "redemption", id)).lateConfirmation, true);
      const again = await deliver(confirm);
      assert.deepEqual(
        eventsIn(again, d.a).map((e) => e.name),
        ["MessageIgnored"],
      );
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 25n, locked: 0n, burned: 0n, issued: 25n });
      const notice = await deliver(expired);
      assert.deepEqual(
        eventsIn(notice, d.b).map((e) => [e.name, e.args.state]),
        [["MessageIgnored", BigInt(RedemptionState.confirmed)]],
      );
      assert.equal(await state(d.b, id), RedemptionState.confirmed);
    });
  });

  describe("refusals leave the state as it was", () => {
    test("requests: more than the balance, zero, a past deadline, an unknown chain", async () => {
      const cls = freshClass();
      await fund(alice, cls, 10n);
      const before = await balances(d.a, alice.address, cls);
      const nonce = await view(d.a.redemption, "nextUserNonce", alice.address);
      const r = (...args: unknown[]) =>
        (d.a.redemption.connect(alice) as Contract).getFunction("requestRedemption").staticCall(...args, NO_ENVELOPE);
      const t = await now();
      await rejectsWith(r(B, shop.address, cls, 11n, t + 100n), "INSUFFICIENT_CREDITS");
      await rejectsWith(r(B, shop.address, cls, 0n, t + 100n), "ZERO_AMOUNT");
      await rejectsWith(r(B, shop.address, cls, 1n, t), "INVALID_DEADLINE");
      await rejectsWith(r(4004n, shop.address, cls, 1n, t + 100n), "UNKNOWN_PEER");
      await rejectsWith(r(A, shop.address, cls, 1n, t + 100n), "UNKNOWN_PEER");
      await rejectsWith(r(B, `0x${"00".repeat(20)}`, cls, 1n, t + 100n), "INVALID_PLATFORM");
      assert.deepEqual(await balances(d.a, alice.address, cls), before);
      assert.equal(await view(d.a.redemption, "nextUserNonce", alice.address), nonce);
    });

    test("A refuses a platform B's chain never registered, and a lane not open or paused, before locking", async () => {
      const cls = freshClass();
      await fund(alice, cls, 10n);
      const before = await balances(d.a, alice.address, cls);
      const nonce = await view(d.a.redemption, "nextUserNonce", alice.address);
      const sentBefore = await view(d.a.outbox, "nextNonce", B);
      const r = (...args: unknown[]) =>
        (d.a.redemption.connect(alice) as Contract).getFunction("requestRedemption").staticCall(...args, NO_ENVELOPE);
      const t = await now();
      await rejectsWith(r(B, outsider.address, cls, 1n, t + 100n), "UNKNOWN_PLATFORM");
      // Registered on C, not on B; and a role on A is not a role on B.
      await govern(d.a, { op: "grant", role: ALLIANCE_ROLE.platform, roleChainId: A, account: getBytes(outsider.address) });
      await rejectsWith(r(B, outsider.address, cls, 1n, t + 100n), "UNKNOWN_PLATFORM");
      await rejectsWith(r(C, outsider.address, cls, 1n, t + 100n), "UNKNOWN_PLATFORM");
      await rejectsWith(r(C, shop.address, cls, 1n, t + 100n), "LANE_NOT_OPEN");
      assert.equal(await view(d.a.redemption, "availableCredits", C), 0n);
      await govern(d.a, { op: "pauseLane", laneChainId: B });
      await rejectsWith(r(B, shop.address, cls, 1n, t + 100n), "LANE_PAUSED");
      assert.equal(await view(d.a.redemption, "availableCredits", B), 0n);
      await govern(d.a, { op: "resumeLane", laneChainId: B });
      // A platform revoked on B in A's registry is refused again.
      await govern(d.a, { op: "revoke", role: ALLIANCE_ROLE.platform, roleChainId: B, account: getBytes(shop.address) });
      await rejectsWith(r(B, shop.address, cls, 1n, t + 100n), "UNKNOWN_PLATFORM");
      await govern(d.a, { op: "grant", role: ALLIANCE_ROLE.platform, roleChainId: B, account: getBytes(shop.address) });
      assert.deepEqual(await balances(d.a, alice.address, cls), before);
      assert.equal(await view(d.a.redemption, "nextUserNonce", alice.address), nonce);
      assert.equal(await view(d.a.outbox, "nextNonce", B), sentBefore);
      await r(B, shop.address, cls, 1n, t + 100n);
    });

    test("the lane's token bucket: starts full, refills with time, restarts on a new limit; refunds return nothing", async () => {
      const cls = freshClass();
      await fund(bob, cls, 1_000n);
      const avail = async () => (await view(d.a.redemption, "availableCredits", C)) as bigint;
      const askAt = async (amount: bigint, deadlineIn = 100n) =>
        send(d.a.redemption, bob, "requestRedemption", C, shop.address, cls, amount, (await now()) + deadlineIn, NO_ENVELOPE);
      const refusedAt = async (amount: bigint, code: string) =>
        rejectsWith(
          (d.a.redemption.connect(bob) as Contract)
            .getFunction("requestRedemption")
            .staticCall(C, shop.address, cls, amount, (await now()) + 100n, NO_ENVELOPE),
          code,
        );
      await govern(d.a, { op: "setLaneLimit", laneChainId: C, capacity: 100n, refillPerSecond: 0n });
      assert.equal(await avail(), 100n, "full when first used");
      const first = await askAt(60n);
      const id = eventsIn(first, d.a).find((e) => e.name === "RedemptionRequested")!.args.id as string;
      assert.equal(await avail(), 40n);
      await refusedAt(41n, "RATE_LIMITED");
      const before = await balances(d.a, bob.address, cls);
      assert.deepEqual(before, { balance: 940n, locked: 60n, burned: 0n, issued: 1_000n });
      await askAt(40n);
      assert.equal(await avail(), 0n);
      await refusedAt(1n, "RATE_LIMITED");
      // A refund (here by timeout) gives the user the credits back, not the lane its volume.
      await advance(100n + MARGIN + 1n);
      await send(d.a.redemption, outsider, "refundAfterTimeout", id);
      assert.equal(await avail(), 0n);
      await refusedAt(1n, "RATE_LIMITED");
      // A new limit restarts the bucket full; then it refills at its rate, up to the capacity.
      await govern(d.a, { op: "setLaneLimit", laneChainId: C, capacity: 50n, refillPerSecond: 2n });
      assert.equal(await avail(), 50n);
      await askAt(50n);
      const drained = await now();
      await advance(10n);
      const refilled = await avail();
      const elapsed = (await now()) - drained;
      assert.equal(refilled, 2n * elapsed, "2 credits a second");
      assert.ok(refilled >= 20n && refilled < 50n);
      await refusedAt(2n * elapsed + 10n, "RATE_LIMITED");
      await advance(1_000n);
      assert.equal(await avail(), 50n, "capped at the capacity");
      await askAt(50n);
      // Pausing does not forget the bucket; resuming finds it where time left it.
      await govern(d.a, { op: "pauseLane", laneChainId: C });
      await refusedAt(1n, "LANE_PAUSED");
      await advance(5n);
      await govern(d.a, { op: "resumeLane", laneChainId: C });
      const resumed = await avail();
      assert.ok(resumed >= 10n && resumed < 50n, `refilled while paused: ${resumed}`);
      // Another lane's bucket is its own.
      assert.ok(((await view(d.a.redemption, "availableCredits", B)) as bigint) > 10n ** 29n);
    });

    test("platform actions: unknown redemption, wrong caller, after the deadline, twice", async () => {
      const cls = freshClass();
      await fund(bob, cls, 10n);
      const { id, message } = await request(bob, shop.address, cls, 10n, 100n);
      const asShop = d.b.redemption.connect(shop) as Contract;
      await rejectsWith(asShop.getFunction("confirm").staticCall(id), "UNKNOWN_REDEMPTION");
      await deliver(message);
      await rejectsWith(asShop.getFunction("confirm").staticCall(ascii("no such redemption")), "UNKNOWN_REDEMPTION");
      await rejectsWith((d.b.redemption.connect(outsider) as Contract).getFunction("confirm").staticCall(id), "NOT_PLATFORM");
      await rejectsWith((d.b.redemption.connect(bob) as Contract).getFunction("reject").staticCall(id), "NOT_PLATFORM");
      // A-side ids are not B-side redemptions: the platform cannot answer a lock on its own chain.
      await rejectsWith((d.a.redemption.connect(shop) as Contract).getFunction("confirm").staticCall(id), "UNKNOWN_REDEMPTION");
      await advance(101n);
      await rejectsWith(asShop.getFunction("confirm").staticCall(id), "DEADLINE_PASSED");
      assert.equal(await state(d.b, id), RedemptionState.authorised);
      await send(d.b.redemption, shop, "reject", id);
      await rejectsWith(asShop.getFunction("reject").staticCall(id), "NOT_AUTHORISED");
      await rejectsWith(asShop.getFunction("confirm").staticCall(id), "NOT_AUTHORISED");
      await rejectsWith(d.b.redemption.getFunction("refundAfterTimeout").staticCall(id), "UNKNOWN_REDEMPTION");
      assert.equal(await state(d.b, id), RedemptionState.rejected);
      assert.equal(await state(d.a, id), RedemptionState.locked);
    });

    test("messages: not from the inbox, unknown peer or sender, unknown redemption, malformed payloads", async () => {
      const cls = freshClass();
      await fund(alice, cls, 10n);
      const { id, message } = await request(alice, shop.address, cls, 10n);
      const toB = d.b.redemption.connect(inbox) as Contract;
      const toA = d.a.redemption.connect(inbox) as Contract;
      const recv = (c: Contract, m: Partial<Message>) =>
        c
          .getFunction("shanduReceive")
          .staticCall(m.sourceChainId ?? message.sourceChainId, m.sender ?? message.sender, 0n, m.payload ?? message.payload);
      await rejectsWith(
        (d.b.redemption.connect(outsider) as Contract)
          .getFunction("shanduReceive")
          .staticCall(A, message.sender, message.nonce, message.payload),
        "NOT_INBOX",
      );
      await rejectsWith(recv(toB, { sourceChainId: 3003n }), "UNKNOWN_PEER");
      await rejectsWith(recv(toB, { sender: getBytes(outsider.address) }), "UNKNOWN_SENDER");
      await rejectsWith(recv(toB, { sender: concatBytes(message.sender, Uint8Array.of(0)) }), "UNKNOWN_SENDER");
      await rejectsWith(recv(toB, { payload: message.payload.subarray(0, 145) }), "MALFORMED_PAYLOAD");
      await rejectsWith(recv(toB, { payload: Uint8Array.of(1) }), "MALFORMED_PAYLOAD");
      await rejectsWith(recv(toB, { payload: concatBytes(Uint8Array.of(2), message.payload.subarray(1)) }), "UNKNOWN_VERSION");
      await rejectsWith(recv(toB, { payload: concatBytes(Uint8Array.of(1, 5), message.payload.subarray(2)) }), "UNKNOWN_OP");
      await rejectsWith(recv(toB, { payload: concatBytes(Uint8Array.of(1, 4), message.payload.subarray(2)) }), "MALFORMED_PAYLOAD");
      await rejectsWith(recv(toB, { payload: concatBytes(Uint8Array.of(1, 4), message.payload.subarray(2, 33)) }), "MALFORMED_PAYLOAD");
      const fromB = { sourceChainId: B, sender: getBytes(d.b.redemption.target as string) };
      const unknownConfirm = encodeRedemptionPayload({ op: "confirm", id: reasonCode("no such redemption") });
      await rejectsWith(recv(toA, { ...fromB, payload: unknownConfirm }), "UNKNOWN_REDEMPTION");
      const unknownReject = encodeRedemptionPayload({ op: "reject", id: reasonCode("nope"), reason: reasonCode("PLATFORM_REJECTED") });
      await rejectsWith(recv(toA, { ...fromB, payload: unknownReject }), "UNKNOWN_REDEMPTION");
      // A CONFIRM from A's own contract address on the B lane is not from the peer.
      const confirmOwn = encodeRedemptionPayload({ op: "confirm", id: getBytes(id) });
      await rejectsWith(recv(toA, { sourceChainId: B, sender: message.sender, payload: confirmOwn }), "UNKNOWN_SENDER");
      assert.equal(await state(d.a, id), RedemptionState.locked);
      assert.equal(await state(d.b, id), RedemptionState.none);
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 0n, locked: 10n, burned: 0n, issued: 10n });
    });

    test("credits: only the deed registry issues, only the redemption contract locks, burns, refunds; no transfer exists", async () => {
      const cls = freshClass();
      await fund(alice, cls, 5n);
      const asOutsider = d.a.credits.connect(outsider) as Contract;
      const asRegistry = d.a.credits.connect(issuer) as Contract;
      const deed = ascii("deed");
      await rejectsWith(
        asOutsider.getFunction("issue").staticCall(alice.address, cls, 1n, sponsor, deed, issuer.address),
        "NOT_DEED_REGISTRY",
      );
      await rejectsWith(asRegistry.getFunction("issue").staticCall(alice.address, cls, 1n, sponsor, deed, outsider.address), "NOT_ISSUER");
      await rejectsWith(
        asRegistry.getFunction("issue").staticCall(alice.address, cls, 1n, shop.address, deed, issuer.address),
        "SPONSOR_MISMATCH",
      );
      await rejectsWith(asRegistry.getFunction("issue").staticCall(alice.address, cls, 0n, sponsor, deed, issuer.address), "ZERO_AMOUNT");
      for (const fn of ["lock", "burn", "refund"]) {
        await rejectsWith(asOutsider.getFunction(fn).staticCall(alice.address, cls, 1n), "NOT_REDEMPTION_CONTRACT");
        await rejectsWith(
          (d.a.credits.connect(alice) as Contract).getFunction(fn).staticCall(alice.address, cls, 1n),
          "NOT_REDEMPTION_CONTRACT",
        );
      }
      const functions = creditsAbi.fragments.filter((f) => f.type === "function").map((f) => (f as unknown as { name: string }).name);
      for (const name of functions) assert.doesNotMatch(name, /transfer|approve|allowance|withdraw|mint/i);
      assert.deepEqual(await balances(d.a, alice.address, cls), { balance: 5n, locked: 0n, burned: 0n, issued: 5n });
    });
  });

  test("property: random interleavings of deliveries, answers and timeouts keep every invariant", async () => {
    const started = Date.now();
    const seen = { redemptions: 0, burned: 0, refunded: 0, late: 0, rejectedAtB: 0, expiredAtB: 0 };
    const users = [alice, bob];
    const platforms = [shop, shop, unregistered];
    const requestArb = fc.record({
      user: fc.nat(1),
      platform: fc.nat(2),
      amount: fc.bigInt(1n, 45n),
      deadlineIn: fc.bigInt(30n, 300n),
    });
    // Weighted so that most runs request, deliver and answer several redemptions before time runs out.
    const action = fc.oneof(
      { weight: 4, arbitrary: fc.record({ t: fc.constant("request" as const) }) },
      { weight: 4, arbitrary: fc.record({ t: fc.constant("toB" as const), pick: fc.nat() }) },
      { weight: 4, arbitrary: fc.record({ t: fc.constant("toA" as const), pick: fc.nat() }) },
      { weight: 4, arbitrary: fc.record({ t: fc.constant("confirm" as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant("reject" as const), pick: fc.nat() }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant("refund" as const), pick: fc.nat() }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant("advance" as const), seconds: fc.bigInt(1n, 700n) }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(requestArb, { minLength: 1, maxLength: 4 }),
        fc.array(action, { minLength: 8, maxLength: 24 }),
        async (requests, actions) => {
          const cls = freshClass();
          for (const u of users) await fund(u, cls, 100n);
          const toB: Message[] = [];
          const toA: Message[] = [];
          const ids: { id: string; user: string; amount: bigint }[] = [];
          const burned = new Set<string>();
          const refunded = new Set<string>();
          const late = new Set<string>();
          const expiredAtB = new Set<string>();
          const confirmedAtB = new Set<string>();
          let next = 0;
          const record = (receipt: TransactionReceipt) => {
            for (const m of sentIn(receipt)) (m.destinationChainId === B ? toB : toA).push(m);
            for (const e of eventsIn(receipt, d.a)) {
              const id = e.args.id as string;
              if (e.name === "RedemptionBurned") {
                assert.ok(!burned.has(id) && !refunded.has(id), "burned once, never after a refund");
                burned.add(id);
              } else if (e.name === "RedemptionRefunded") {
                assert.ok(!burned.has(id) && !refunded.has(id), "refunded once, never after a burn");
                refunded.add(id);
              } else if (e.name === "LateConfirmation") {
                assert.ok(refunded.has(id) && !late.has(id));
                late.add(id);
              }
            }
            for (const e of eventsIn(receipt, d.b)) {
              const id = e.args.id as string;
              if (e.name === "RedemptionExpired") {
                assert.ok(!confirmedAtB.has(id) && !expiredAtB.has(id), "expired once, never after a confirmation");
                assert.ok(refunded.has(id), "B expires only what A refunded");
                expiredAtB.add(id);
              } else if (e.name === "RedemptionConfirmed") {
                assert.ok(!expiredAtB.has(id), "never confirmed after it expired");
                confirmedAtB.add(id);
              }
            }
          };
          /** Runs a transaction; a refusal must be one of `allowed` and changes nothing worth recording. */
          const attempt = async (allowed: string[], run: () => Promise<TransactionReceipt>) => {
            try {
              record(await run());
            } catch (err) {
              const code = codeOf(err);
              const timed = allowed.includes("DEADLINE_PASSED") || allowed.includes("TOO_EARLY");
              assert.ok(allowed.includes(code) || (timed && code === "REVERTED_IN_BLOCK"), `unexpected refusal ${code}`);
            }
          };
          const pickId = (pick: number) => (ids.length === 0 ? ascii("none") : ids[pick % ids.length]!.id);
          const all = async (pool: Message[]) => {
            for (const m of [...pool]) record(await deliver(m));
          };

          for (const a of actions) {
            switch (a.t) {
              case "request": {
                const r = requests[next];
                if (r === undefined) break;
                next += 1;
                const user = users[r.user]!;
                const deadline = (await now()) + r.deadlineIn;
                await attempt(["INSUFFICIENT_CREDITS"], async () => {
                  const receipt = await send(
                    d.a.redemption,
                    user,
                    "requestRedemption",
                    B,
                    platforms[r.platform]!.address,
                    cls,
                    r.amount,
                    deadline,
                    NO_ENVELOPE,
                  );
                  const ev = eventsIn(receipt, d.a).find((e) => e.name === "RedemptionRequested")!;
                  ids.push({ id: ev.args.id as string, user: user.address, amount: r.amount });
                  return receipt;
                });
                break;
              }
              case "toB":
              case "toA": {
                const pool = a.t === "toB" ? toB : toA;
                if (pool.length > 0) record(await deliver(pool[a.pick % pool.length]!));
                break;
              }
              case "confirm":
              case "reject": {
                // Odd picks answer the first redemption still open at B (if any), even picks any redemption.
                let id = pickId(a.pick);
                if (a.pick % 2 === 1) {
                  for (const x of ids) {
                    if ((await state(d.b, x.id)) === RedemptionState.authorised) {
                      id = x.id;
                      break;
                    }
                  }
                }
                await attempt(["UNKNOWN_REDEMPTION", "NOT_PLATFORM", "NOT_AUTHORISED", "DEADLINE_PASSED"], () =>
                  send(d.b.redemption, shop, a.t, id),
                );
                break;
              }
              case "refund":
                await attempt(["UNKNOWN_REDEMPTION", "ALREADY_BURNED", "ALREADY_REFUNDED", "TOO_EARLY"], () =>
                  send(d.a.redemption, outsider, "refundAfterTimeout", pickId(a.pick)),
                );
                break;
              case "advance":
                await advance(a.seconds);
                break;
            }
          }

          // Finish: every message arrives (again), answers travel back, then whatever is still locked times out.
          await all(toB);
          await all(toA);
          await advance(600n + MARGIN + 1n);
          for (const { id } of ids) {
            if ((await state(d.a, id)) === RedemptionState.locked) record(await send(d.a.redemption, outsider, "refundAfterTimeout", id));
          }
          await all(toB);
          await all(toA);

          for (const { id } of ids) {
            const sa = await state(d.a, id);
            const sb = await state(d.b, id);
            const ra = await view(d.a.redemption, "redemption", id);
            assert.ok(sa === RedemptionState.burned || sa === RedemptionState.refunded, "finished: burned or refunded");
            assert.equal(burned.has(id), sa === RedemptionState.burned);
            assert.equal(refunded.has(id), sa === RedemptionState.refunded);
            assert.equal(late.has(id), ra.lateConfirmation);
            if (sb === RedemptionState.confirmed)
              assert.ok(sa === RedemptionState.burned || late.has(id), "confirmed on B: burned on A, or refunded and flagged late");
            if (sa === RedemptionState.burned) assert.equal(sb, RedemptionState.confirmed, "burned only on B's confirmation");
            if (sb === RedemptionState.rejected) assert.ok(sa === RedemptionState.refunded && !late.has(id));
            assert.equal(expiredAtB.has(id), sb === RedemptionState.expired);
            if (sb === RedemptionState.expired) {
              assert.ok(sa === RedemptionState.refunded && ra.refundedByTimeout && !late.has(id), "expired on B: refunded by timeout on A");
              assert.ok(!confirmedAtB.has(id), "never both confirmed and expired on B");
            }
            assert.notEqual(sb, RedemptionState.none, "every AUTHORISE was delivered");
          }
          seen.redemptions += ids.length;
          seen.burned += burned.size;
          seen.refunded += refunded.size;
          seen.late += late.size;
          seen.expiredAtB += expiredAtB.size;
          for (const { id } of ids) if ((await state(d.b, id)) === RedemptionState.rejected) seen.rejectedAtB += 1;
          for (const u of users) {
            const mine = ids.filter((x) => x.user === u.address);
            const sum = (s: Set<string>) => mine.filter((x) => s.has(x.id)).reduce((acc, x) => acc + x.amount, 0n);
            const b = await balances(d.a, u.address, cls);
            assert.equal(b.balance + b.locked + b.burned, b.issued, "credits conserved");
            assert.equal(b.issued, 100n);
            assert.equal(b.locked, 0n);
            assert.equal(b.burned, sum(burned));
            assert.equal(b.balance, 100n - sum(burned));
          }
        },
      ),
      { numRuns: 25, endOnFailure: true },
    );
    console.log(`property: 25 runs in ${((Date.now() - started) / 1000).toFixed(1)} s, ${JSON.stringify(seen)}`);
  });
});
