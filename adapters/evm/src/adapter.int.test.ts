/**
 * The EVM adapter end to end on two real anvil nodes (prague): the `ShanduOutbox` on chain A, the
 * `ShanduInbox` (trusting a pilot committee) on chain B. Messages sent on A are watched once final,
 * attested, and delivered on B, and the evidence of both ends verifies offline; forged deliveries are refused with the inbox's codes; the adapter's
 * checks at creation, RPC failures, governance lane pauses, and reorganisations above and below the
 * finality depth are exercised against the nodes themselves.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { AdapterError, type Cursor, createAdapter, type Delivery, startCursor, type WatchItem } from "@shandu/adapter-core";
import { attestedDelivery, PILOT_QUORUM } from "@shandu/adapter-core/testing";
import { committeeInput, governancePayload } from "@shandu/deploy";
import {
  type Bls,
  buildBatch,
  type ChainId,
  type Evidence,
  EvidenceError,
  evmDeliveryEvidenceVerifier,
  evmReceiptEvidenceVerifier,
  fromHex,
  loadBls,
  type Message,
  MessageKind,
  messageId,
  parseEvmDeliveryEvidence,
  toHex,
} from "@shandu/proofs";
import { attestBatch, rotate as attestRotation, errorCode, pilotCommittee, type TestCommittee } from "@shandu/proofs/testing";
import { type Contract, getBytes, keccak256, toQuantity, Wallet } from "ethers";
import { type EvmAdapter, evmAdapterModule } from "./adapter.ts";
import { type AnvilNode, deployContract, startAnvil } from "./testing/mod.ts";
import { messageFromLog } from "./watch.ts";

const A: ChainId = 1001n;
const B: ChainId = 2002n;
/** A source chain without an outbox here: its messages are made up, the inbox does not care where from. */
const C: ChainId = 3003n;
const DEPTH = 3;
const modules = { evm: evmAdapterModule };
const enc = new TextEncoder();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Runs a watch in the background, collecting what it yields and the error it ends with. */
function backgroundWatch(adapter: EvmAdapter, from: Cursor) {
  const controller = new AbortController();
  const state = { items: [] as WatchItem[], error: undefined as unknown, ended: false };
  const done = (async () => {
    try {
      for await (const item of adapter.watch(from, { signal: controller.signal })) state.items.push(item);
    } catch (e) {
      state.error = e;
    } finally {
      state.ended = true;
    }
  })();
  return {
    state,
    async stop() {
      controller.abort();
      await done;
      if (state.error) throw state.error;
      return state.items;
    },
  };
}

async function rejects(p: Promise<unknown>, code: string, reason?: string): Promise<AdapterError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof AdapterError, `expected AdapterError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (reason !== undefined) assert.equal(caught.facts.reason, reason, caught.message);
  return caught;
}

describe("EVM adapter on anvil (prague)", { timeout: 120_000 }, () => {
  let bls: Bls;
  let committee: TestCommittee;
  let nodeA: AnvilNode;
  let nodeB: AnvilNode;
  let outbox: Contract;
  let inbox: Contract;
  let recorder: Contract;
  let refuser: Contract;
  let recorderAddress: Uint8Array;
  let keyDir: string;
  let keyFile: string;
  let adapterA: EvmAdapter;
  let adapterB: EvmAdapter;
  /** Where the next watch on A resumes: after the last message the tests consumed. */
  let cursorA: Cursor = startCursor();
  const laneAB = { sourceChainId: A, destinationChainId: B };

  const configA = (extra: Record<string, unknown> = {}) => ({
    kind: "evm",
    chainId: A.toString(),
    rpcUrl: nodeA.rpcUrl,
    evmChainId: nodeA.chainId,
    outbox: outbox.target,
    finalityDepthBlocks: DEPTH,
    pollIntervalMs: 20,
    // Small ranges, so that watching and evidence searches read logs in several requests.
    logRangeBlocks: 4,
    maxRetries: 1,
    retryBackoffMs: 10,
    ...extra,
  });
  const configB = (extra: Record<string, unknown> = {}) => ({
    kind: "evm",
    chainId: B.toString(),
    rpcUrl: nodeB.rpcUrl,
    evmChainId: nodeB.chainId,
    inbox: inbox.target,
    finalityDepthBlocks: 0,
    pollIntervalMs: 20,
    logRangeBlocks: 3,
    maxRetries: 1,
    retryBackoffMs: 10,
    submissionTimeoutMs: 10_000,
    signer: { keyFile },
    ...extra,
  });
  const create = async (raw: unknown) => (await createAdapter(modules, raw, { bls })) as EvmAdapter;
  const signal = () => new AbortController().signal;
  const submit = (d: Delivery, adapter = adapterB) => adapter.submitBatch(d, { signal: signal() });
  const mine = (node: AnvilNode, blocks: number) => node.provider.send("anvil_mine", [toQuantity(blocks)]);

  async function sendOnA(payload: string, recipient: Uint8Array = recorderAddress) {
    const tx = await outbox.getFunction("send")(B, recipient, enc.encode(payload));
    return (await tx.wait())!;
  }

  /** Watches A from {@link cursorA} until `count` messages came, mining the depth first; moves the cursor. */
  async function watchA(count: number): Promise<WatchItem[]> {
    await mine(nodeA, DEPTH);
    const w = backgroundWatch(adapterA, cursorA);
    await until(`${count} watched messages`, () => w.state.items.length >= count || w.state.ended);
    const items = await w.stop();
    assert.equal(items.length, count);
    cursorA = items[items.length - 1]!.cursor;
    return items;
  }

  /** Messages on the made-up lane C → B, to the recorder. */
  function madeUp(nonces: bigint[]): Message[] {
    return nonces.map((nonce) => ({
      version: 1,
      sourceChainId: C,
      destinationChainId: B,
      nonce,
      kind: MessageKind.app,
      sender: new Uint8Array(20).fill(0xc3),
      recipient: recorderAddress,
      payload: enc.encode(`made-up-${nonce}`),
      source: { blockNumber: 100n + nonce, txHash: new Uint8Array(32).fill(Number(nonce)), logIndex: 0 },
    }));
  }

  const isDelivered = async (src: ChainId, nonce: bigint) => (await inbox.getFunction("isDelivered")(src, nonce)) as boolean;

  before(async () => {
    bls = await loadBls();
    committee = pilotCommittee(bls, "evm-adapter");
    [nodeA, nodeB] = await Promise.all([startAnvil({ chainId: 31337 }), startAnvil({ chainId: 31338 })]);
    const governor = nodeA.wallet(1);
    outbox = await deployContract(nodeA.wallet(0), "ShanduOutbox", [A, governor.address]);
    inbox = await deployContract(nodeB.wallet(0), "ShanduInbox", [
      B,
      committeeInput(committee.committee),
      [{ chainId: A, sender: governor.address }],
    ]);
    recorder = await deployContract(nodeB.wallet(0), "RecordingReceiver", []);
    // Never told to accept, so it refuses every message: a recipient that always reverts.
    refuser = await deployContract(nodeB.wallet(0), "FlakyReceiver", []);
    recorderAddress = getBytes(await recorder.getAddress());
    keyDir = await mkdtemp(join(tmpdir(), "shandu-evm-adapter-"));
    keyFile = join(keyDir, "delivery.key");
    await writeFile(keyFile, nodeB.accounts[2]!, { mode: 0o600 });
    adapterA = await create(configA());
    adapterB = await create(configB());
  });

  after(async () => {
    await adapterA?.close();
    await adapterB?.close();
    await Promise.all([nodeA?.close(), nodeB?.close()]);
    if (keyDir) await rm(keyDir, { recursive: true, force: true });
  });

  test("a message is watched only once final, then attested, delivered once, and evidenced", async () => {
    const w = backgroundWatch(adapterA, cursorA);
    const receipt = await sendOnA("deed-1");
    await sleep(150);
    await mine(nodeA, DEPTH - 1);
    await sleep(150);
    assert.equal(w.state.items.length, 0, "nothing is yielded before the depth is reached");
    await mine(nodeA, 1);
    await until("the final message", () => w.state.items.length === 1);
    const [item] = await w.stop();
    cursorA = item!.cursor;

    const m = item!.message;
    assert.equal(m.sourceChainId, A);
    assert.equal(m.destinationChainId, B);
    assert.equal(m.nonce, 0n, "lanes are numbered from 0");
    assert.equal(m.kind, MessageKind.app);
    assert.deepEqual(m.sender, getBytes(nodeA.wallet(0).address));
    assert.deepEqual(m.recipient, recorderAddress);
    assert.deepEqual(m.payload, enc.encode("deed-1"));
    assert.deepEqual(m.source, { blockNumber: BigInt(receipt.blockNumber), txHash: fromHex(receipt.hash, 32), logIndex: 0 });
    assert.deepEqual(item!.id, messageId(m));
    assert.deepEqual(item!.cursor, {
      blockNumber: BigInt(receipt.blockNumber),
      eventIndex: receipt.logs[0]!.index,
      blockHash: fromHex(receipt.blockHash, 32),
    });

    // Source evidence verifies offline; a message that is not at its position is not found.
    const evidence = await adapterA.sourceEvidence(m);
    assert.equal(evidence.kind, "evm-receipt");
    const batch = buildBatch([m]);
    const verifier = evmReceiptEvidenceVerifier({ outboxes: { [A.toString()]: String(outbox.target) } });
    assert.ok(verifier.verify(evidence, { message: m, messageId: messageId(m), batch: batch.header }));
    await rejects(adapterA.sourceEvidence({ ...m, payload: enc.encode("deed-2") }), "MESSAGE_NOT_FOUND");
    await rejects(adapterA.sourceEvidence({ ...m, source: { ...m.source, logIndex: 1 } }), "MESSAGE_NOT_FOUND");

    const delivery = attestedDelivery(bls, committee, [m]);
    const first = await submit(delivery);
    assert.deepEqual(first.executed, [0n]);
    assert.deepEqual(first.alreadyDelivered, []);
    assert.ok(first.tx);
    assert.equal(await recorder.getFunction("callCount")(), 1n);
    const call = await recorder.getFunction("calls")(0n);
    assert.deepEqual([call[0], call[1], call[2], call[3]], [A, toHex(m.sender), 0n, toHex(enc.encode("deed-1"))]);

    const again = await submit(delivery);
    assert.deepEqual(again, { tx: null, executed: [], alreadyDelivered: [0n] });
    assert.equal(await recorder.getFunction("callCount")(), 1n, "executed once");

    assert.deepEqual(await adapterB.deliveryStatus(laneAB, 0n), { status: "delivered", lanePaused: false });
    assert.deepEqual(await adapterB.deliveryStatus(laneAB, 1n), { status: "not-delivered", lanePaused: false });
    const dest = await adapterB.destinationEvidence(laneAB, 0n);
    assert.ok(dest);
    assert.equal(dest.kind, "evm-delivery");
    const proven = parseEvmDeliveryEvidence(dest);
    assert.equal(keccak256(proven.transaction), toHex(first.tx.hash));
    assert.equal(proven.chainId, BigInt(nodeB.chainId));
    // It verifies offline, against the bundle's batch, with the inbox pinned; a tampered copy does not.
    const deliveryVerifier = evmDeliveryEvidenceVerifier({ inboxes: { [B.toString()]: String(inbox.target) } });
    const ctx = { message: m, messageId: messageId(m), batch: delivery.header };
    assert.match(
      deliveryVerifier.verify(dest, ctx),
      new RegExp(
        `^nonce 0 executed: delivery proven in block ${toHex(proven.blockHash)} #${first.tx.blockNumber} .* from the pinned inbox`,
      ),
    );
    const flip = (hex: unknown, byte: number) => {
      const b = fromHex(String(hex));
      b[byte]! ^= 1;
      return toHex(b);
    };
    const code = (evidence: Evidence, c = ctx) => errorCode(() => deliveryVerifier.verify(evidence, c), EvidenceError);
    const tampered: [string, Evidence, string][] = [
      ["header", { ...dest, header: flip(dest.header, 10) }, "HEADER_HASH_MISMATCH"],
      ["receipt", { ...dest, receipt: flip(dest.receipt, 3) }, "TRIE_VALUE_MISMATCH"],
      ["logIndex", { ...dest, logIndex: Number(dest.logIndex) + 1 }, "LOG_NOT_FOUND"],
      ["inbox", { ...dest, inbox: flip(dest.inbox, 19) }, "INBOX_MISMATCH"],
    ];
    for (const [what, evidence, expected] of tampered) assert.equal(code(evidence), expected, what);
    assert.equal(code(dest, { ...ctx, batch: buildBatch([m, { ...m, nonce: 1n }]).header }), "BATCH_MISMATCH");
    assert.equal(await adapterB.destinationEvidence(laneAB, 1n), null);
    await rejects(adapterB.deliveryStatus({ sourceChainId: B, destinationChainId: A }, 0n), "WRONG_LANE");
    await rejects(adapterB.destinationEvidence({ sourceChainId: B, destinationChainId: A }, 0n), "WRONG_LANE");
  });

  test("part of a batch, then all of it concurrently: each nonce executes once; a reverting recipient is consumed", async () => {
    await sendOnA("deed-2");
    await sendOnA("deed-3", getBytes(await refuser.getAddress()));
    await sendOnA("deed-4");
    const messages = (await watchA(3)).map((i) => i.message);
    assert.deepEqual(
      messages.map((x) => x.nonce),
      [1n, 2n, 3n],
    );

    const part = await submit(attestedDelivery(bls, committee, messages, { deliver: [1] }));
    assert.deepEqual(part.executed, [2n]);
    const whole = attestedDelivery(bls, committee, messages);
    const [r1, r2] = await Promise.all([submit(whole), submit(whole)]);
    assert.deepEqual(r1.executed, [1n, 3n]);
    assert.deepEqual(r1.alreadyDelivered, [2n]);
    assert.deepEqual(r2, { tx: null, executed: [], alreadyDelivered: [1n, 2n, 3n] });
    assert.equal(await recorder.getFunction("callCount")(), 3n);
    assert.equal(await refuser.getFunction("received")(), 0n);
    // The recipient's failure is recorded, the message consumed: its evidence proves a failed execution.
    const refused = await adapterB.destinationEvidence(laneAB, 2n);
    assert.ok(refused);
    const verifier = evmDeliveryEvidenceVerifier();
    const ctx = (n: number) => ({ message: messages[n]!, messageId: messageId(messages[n]!), batch: whole.header });
    assert.equal(
      errorCode(() => verifier.verify(refused, ctx(1)), EvidenceError),
      "DELIVERY_FAILED",
    );
    // Nonces 1 and 3 were executed by the later delivery, in one transaction with one BatchDelivered event.
    const [one, three] = await Promise.all([adapterB.destinationEvidence(laneAB, 1n), adapterB.destinationEvidence(laneAB, 3n)]);
    assert.deepEqual(one, three);
    assert.match(verifier.verify(one!, ctx(0)), /^nonce 1 executed/);
    assert.match(verifier.verify(three!, ctx(2)), /^nonce 3 executed/);
    assert.equal(
      errorCode(() => verifier.verify(one!, ctx(1)), EvidenceError),
      "NOT_DELIVERED_HERE",
      "nonce 2 was delivered before",
    );
  });

  describe("forged or malformed deliveries are refused and execute nothing", () => {
    const cases: [string, () => Delivery, string][] = [
      [
        "a forged aggregate (signed over another batch)",
        () => {
          const d = attestedDelivery(bls, committee, madeUp([1n]));
          const other = buildBatch(madeUp([1n, 2n]));
          return {
            ...d,
            attestation: { ...d.attestation, signature: attestBatch(bls, committee, [...PILOT_QUORUM], other.header).signature },
          };
        },
        "BAD_SIGNATURE",
      ],
      [
        "a bitfield without the regulator",
        () => attestedDelivery(bls, committee, madeUp([1n]), { signers: [0, 1, 2] }),
        "QUORUM_GROUP_NOT_MET",
      ],
      ["a bitfield of half the weight", () => attestedDelivery(bls, committee, madeUp([1n]), { signers: [0, 3] }), "QUORUM_WEIGHT_NOT_MET"],
      [
        "a tampered proof",
        () => {
          const d = attestedDelivery(bls, committee, madeUp([1n, 2n]), { deliver: [0] });
          const sibling = Uint8Array.from(d.proof.siblings[0]!);
          sibling[0]! ^= 1;
          return { ...d, proof: { ...d.proof, siblings: [sibling] } };
        },
        "ROOT_MISMATCH",
      ],
      [
        "a message swapped for another",
        () => {
          const d = attestedDelivery(bls, committee, madeUp([1n]));
          return { ...d, messages: [{ ...d.messages[0]!, payload: enc.encode("swapped") }] };
        },
        "ROOT_MISMATCH",
      ],
      [
        "another genesis",
        () => {
          const other = pilotCommittee(bls, "someone-else");
          return attestedDelivery(bls, other, madeUp([1n]));
        },
        "GENESIS_MISMATCH",
      ],
      [
        "a batch for another chain",
        () =>
          attestedDelivery(
            bls,
            committee,
            madeUp([1n]).map((x) => ({ ...x, destinationChainId: 4004n })),
          ),
        "WRONG_DESTINATION_CHAIN",
      ],
      [
        "proof positions that are not the nonces'",
        () => {
          const d = attestedDelivery(bls, committee, madeUp([1n, 2n]), { deliver: [1] });
          return { ...d, messages: [madeUp([1n])[0]!] };
        },
        "PROOF_INDEX_MISMATCH",
      ],
      [
        "an empty delivery",
        () => ({ ...attestedDelivery(bls, committee, madeUp([1n])), messages: [], proof: { treeSize: 1, indices: [], siblings: [] } }),
        "EMPTY_DELIVERY",
      ],
    ];
    for (const [name, make, reason] of cases) {
      test(`${name}: ${reason}`, async () => {
        const e = await rejects(submit(make()), "DELIVERY_REJECTED", reason);
        assert.equal(e.disposition, "reject");
        assert.equal(await isDelivered(C, 1n), false);
      });
    }
  });

  test("a rotation the inbox lacks is registered first; a forged one is refused", async () => {
    const genesis = committee.committee;
    const next = pilotCommittee(bls, "evm-adapter-next", 1n);
    const now = BigInt((await nodeB.provider.getBlock("latest"))!.timestamp);
    const forged = attestRotation(bls, committee, [0, 2], next.committee, now, 86_400);
    const messages = madeUp([1n]);
    const e = await rejects(
      submit(attestedDelivery(bls, next, messages, { genesis, rotations: [forged] })),
      "DELIVERY_REJECTED",
      "ROTATION_NOT_ATTESTED",
    );
    assert.equal(e.facts.detail, "QUORUM_WEIGHT_NOT_MET");
    assert.equal(await inbox.getFunction("latestEpoch")(), 0n);

    const record = attestRotation(bls, committee, [...PILOT_QUORUM], next.committee, now, 86_400);
    const r = await submit(attestedDelivery(bls, next, messages, { genesis, rotations: [record] }));
    assert.deepEqual(r.executed, [1n]);
    assert.equal(await inbox.getFunction("latestEpoch")(), 1n);
    // Registered now: the record is skipped, and the outgoing committee is still in its grace period.
    assert.deepEqual((await submit(attestedDelivery(bls, next, madeUp([1n, 2n]), { genesis, rotations: [record] }))).executed, [2n]);
    assert.deepEqual((await submit(attestedDelivery(bls, committee, madeUp([3n])))).executed, [3n]);
  });

  test("a governance message pauses the lane: deliveries on it fail LANE_PAUSED until it is resumed", async () => {
    const governor = outbox.connect(nodeA.wallet(1)) as Contract;
    await (await governor.getFunction("sendGovernance")(B, governancePayload("pauseLane", A))).wait();
    const [pause] = await watchA(1);
    assert.equal(pause!.message.kind, MessageKind.governance);
    assert.deepEqual((await submit(attestedDelivery(bls, committee, [pause!.message]))).executed, [pause!.message.nonce]);
    assert.equal((await adapterB.deliveryStatus(laneAB, pause!.message.nonce)).lanePaused, true);

    await sendOnA("deed-while-paused");
    await (await governor.getFunction("sendGovernance")(B, governancePayload("resumeLane", A))).wait();
    const [held, resume] = (await watchA(2)).map((i) => i.message);
    const e = await rejects(submit(attestedDelivery(bls, committee, [held!, resume!], { deliver: [0] })), "LANE_PAUSED");
    assert.equal(e.disposition, "retry");
    assert.equal(await isDelivered(A, held!.nonce), false);

    // Governance still gets through a paused lane; then the held message is delivered.
    assert.deepEqual((await submit(attestedDelivery(bls, committee, [held!, resume!], { deliver: [1] }))).executed, [resume!.nonce]);
    assert.deepEqual(await adapterB.deliveryStatus(laneAB, held!.nonce), { status: "not-delivered", lanePaused: false });
    assert.deepEqual((await submit(attestedDelivery(bls, committee, [held!, resume!]))).executed, [held!.nonce]);
  });

  test("an account that cannot pay fails INSUFFICIENT_FUNDS; an aborted signal CANCELLED; nothing is sent", async () => {
    process.env.SHANDU_TEST_POOR_KEY = Wallet.createRandom().privateKey;
    const poor = await create(configB({ signer: { keyEnv: "SHANDU_TEST_POOR_KEY" } }));
    try {
      const d = attestedDelivery(bls, committee, madeUp([4n]));
      const e = await rejects(submit(d, poor), "INSUFFICIENT_FUNDS");
      assert.equal(e.disposition, "retry");
      const aborted = new AbortController();
      aborted.abort();
      await rejects(adapterB.submitBatch(d, { signal: aborted.signal }), "CANCELLED");
      assert.equal(await isDelivered(C, 4n), false);
    } finally {
      delete process.env.SHANDU_TEST_POOR_KEY;
      await poor.close();
    }
  });

  test("a transaction not mined in time: SUBMISSION_TIMEOUT, the status tells the outcome, the next one goes out", async () => {
    const slow = await create(configB({ submissionTimeoutMs: 300 }));
    try {
      await nodeB.provider.send("evm_setAutomine", [false]);
      const e = await rejects(submit(attestedDelivery(bls, committee, madeUp([4n])), slow), "SUBMISSION_TIMEOUT");
      assert.equal(e.disposition, "retry");
      assert.match(String(e.facts.txHash), /^0x[0-9a-f]{64}$/);
      const laneCB = { sourceChainId: C, destinationChainId: B };
      assert.equal((await slow.deliveryStatus(laneCB, 4n)).status, "not-delivered");
      await nodeB.provider.send("evm_setAutomine", [true]);
      await mine(nodeB, 1);
      assert.equal((await slow.deliveryStatus(laneCB, 4n)).status, "delivered");
      assert.deepEqual((await submit(attestedDelivery(bls, committee, madeUp([4n, 5n])), slow)).executed, [5n]);
    } finally {
      await nodeB.provider.send("evm_setAutomine", [true]);
      await slow.close();
    }
  });

  test("create checks the node's chain, the contracts' code and their Shandu chain ids", async () => {
    await rejects(create(configA({ evmChainId: 1 })), "WRONG_CHAIN_ID");
    await rejects(create(configA({ chainId: "4004" })), "WRONG_CHAIN_ID");
    await rejects(create(configA({ outbox: "0x000000000000000000000000000000000000dEaD" })), "CONTRACT_NOT_DEPLOYED");
    await rejects(create(configB({ inbox: await recorder.getAddress() })), "CONTRACT_NOT_DEPLOYED");
    await rejects(create(configB({ signer: { keyFile: join(keyDir, "absent") } })), "INVALID_CONFIG");
    await rejects(create({ ...configA(), outbox: undefined }), "INVALID_CONFIG");
  });

  test("a node that is down: RPC_UNAVAILABLE from create, watch, status and delivery; close ends the adapter", async () => {
    const node = await startAnvil({ chainId: 31339 });
    const ob = await deployContract(node.wallet(0), "ShanduOutbox", [C, node.wallet(1).address]);
    const ib = await deployContract(node.wallet(0), "ShanduInbox", [C, committeeInput(committee.committee), []]);
    const raw = { ...configB(), chainId: C.toString(), rpcUrl: node.rpcUrl, evmChainId: node.chainId, outbox: ob.target, inbox: ib.target };
    const adapter = await create(raw);
    await node.close();
    try {
      await rejects(create(raw), "RPC_UNAVAILABLE");
      await rejects(adapter.deliveryStatus({ sourceChainId: A, destinationChainId: C }, 1n), "RPC_UNAVAILABLE");
      const d = attestedDelivery(
        bls,
        committee,
        madeUp([1n]).map((x) => ({ ...x, sourceChainId: A, destinationChainId: C })),
      );
      const e = await rejects(submit(d, adapter), "RPC_UNAVAILABLE");
      assert.equal(e.disposition, "retry");
      const w = backgroundWatch(adapter, startCursor());
      await until("the watch to fail", () => w.state.ended);
      assert.ok(w.state.error instanceof AdapterError && w.state.error.code === "RPC_UNAVAILABLE", String(w.state.error));
    } finally {
      await adapter.close();
    }
    await rejects(adapter.deliveryStatus({ sourceChainId: A, destinationChainId: C }, 1n), "CLOSED");
    await rejects(submit(attestedDelivery(bls, committee, madeUp([1n])), adapter), "CLOSED");
    await assert.rejects(adapter.watch(startCursor(), { signal: signal() })[Symbol.asyncIterator]().next(), /closed/);
  });

  test("closing the adapter ends a running watch", async () => {
    const adapter = await create(configA());
    const w = backgroundWatch(adapter, cursorA);
    await sleep(60);
    await adapter.close();
    await until("the watch to end", () => w.state.ended);
    assert.equal(w.state.error, undefined);
  });

  test("a reorganisation above the finality depth is absorbed; one below it raises REORG_BELOW_FINALITY", async () => {
    const w = backgroundWatch(adapterA, cursorA);
    const lost = await sendOnA("lost-in-reorg");
    const lostMessage = messageFromLog(A, lost.logs[0]!, 0).message;
    await rejects(adapterA.sourceEvidence(lostMessage), "NOT_FINALIZED");
    await mine(nodeA, 1);
    await sleep(100);
    // Replaces the message's block and the one above it: within the depth, so never seen by the watch.
    await nodeA.provider.send("anvil_reorg", [2, []]);
    assert.equal(await outbox.getFunction("nextNonce")(B), lostMessage.nonce);
    const kept = await sendOnA("kept-after-reorg");
    await mine(nodeA, DEPTH);
    await until("the message of the new fork", () => w.state.items.length === 1);
    await sleep(100);
    assert.equal(w.state.items.length, 1);
    const item = w.state.items[0]!;
    assert.equal(item.message.nonce, lostMessage.nonce, "the fork reuses the nonce");
    assert.deepEqual(item.message.payload, enc.encode("kept-after-reorg"));
    assert.deepEqual(item.message.source.txHash, fromHex(kept.hash, 32));

    // Now replace final blocks, the message's among them.
    const head = await nodeA.provider.getBlockNumber();
    await nodeA.provider.send("anvil_reorg", [head - kept.blockNumber + 2, []]);
    await until("the reorg alarm", () => w.state.ended);
    assert.ok(w.state.error instanceof AdapterError, String(w.state.error));
    assert.equal(w.state.error.code, "REORG_BELOW_FINALITY");
    assert.equal(w.state.error.disposition, "reject");
    // A watch resumed from the replaced position raises it too.
    const resumed = backgroundWatch(adapterA, item.cursor);
    await until("the resumed watch to fail", () => resumed.state.ended);
    assert.ok(
      resumed.state.error instanceof AdapterError && resumed.state.error.code === "REORG_BELOW_FINALITY",
      String(resumed.state.error),
    );
  });
});
