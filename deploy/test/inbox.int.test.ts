/**
 * `ShanduInbox` behaviour beyond the shared vectors, on a real anvil node (Prague): exactly-once
 * execution in and out of order, failed executions and `retry`, the re-entrancy lock, a recipient that
 * burns its gas, governance from a sender the inbox does not know, rotation records submitted twice or
 * contradicted, and the grace period running out on the chain's own clock.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import {
  type Bls,
  buildBatch,
  committeeSetHash,
  encodeMessage,
  loadBls,
  type Message,
  MessageKind,
  messageId,
  toHex,
} from "@shandu/proofs";
import { attestBatch, makeTestCommittee, PILOT_POLICY, pilotCommittee, rotate, type TestCommittee } from "@shandu/proofs/testing";
import { type Contract, getBytes, Interface } from "ethers";
import { codeFromBytes32, committeeInput, deliverArgs, evmAttestation, governancePayload, loadArtifact } from "../src/mod.ts";

const SRC = 1001n;
const DST = 2002n;
const inboxInterface = new Interface(loadArtifact("ShanduInbox").abi);

function codeOf(err: unknown): string {
  const e = err as { data?: string; info?: { error?: { data?: string } } };
  const data = e.data ?? e.info?.error?.data;
  if (typeof data !== "string") return `(no revert data: ${(err as Error).message})`;
  const parsed = inboxInterface.parseError(data);
  if (!parsed) return `(unknown revert ${data})`;
  return parsed.name === "ShanduRotationNotAttested" ? "ROTATION_NOT_ATTESTED" : codeFromBytes32(parsed.args[0] as string);
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal(codeOf(err), code);
    return true;
  });
}

describe("ShanduInbox on anvil (prague)", { timeout: 120_000 }, () => {
  let bls: Bls;
  let node: AnvilNode;
  let tc: TestCommittee;

  before(async () => {
    bls = await loadBls();
    node = await startAnvil();
    tc = pilotCommittee(bls, "inbox-tests");
  });
  after(async () => {
    await node?.close();
  });

  const governor = () => node.wallet(5).address;
  const newInbox = async () =>
    deployContract(node.wallet(0), "ShanduInbox", [DST, committeeInput(tc.committee), [{ chainId: SRC, sender: governor() }]]);

  function messages(
    recipient: string,
    nonces: bigint[],
    opts: { kind?: MessageKind; sender?: Uint8Array; payload?: Uint8Array } = {},
  ): Message[] {
    return nonces.map((nonce) => ({
      version: 1,
      sourceChainId: SRC,
      destinationChainId: DST,
      nonce,
      kind: opts.kind ?? MessageKind.app,
      sender: opts.sender ?? new Uint8Array(20).fill(0x11),
      recipient: opts.kind === MessageKind.governance ? new Uint8Array(0) : getBytes(recipient),
      payload: opts.payload ?? new TextEncoder().encode(`message ${nonce}`),
      source: { blockNumber: 7n, txHash: new Uint8Array(32).fill(Number(nonce) + 1), logIndex: 0 },
    }));
  }

  /** Delivers `subset` (indices into the batch) of the attested batch of `all`; returns the outcomes event. */
  async function deliver(inbox: Contract, all: Message[], subset = all.map((_, i) => i), committee = tc) {
    const batch = buildBatch(all);
    const attestation = attestBatch(bls, committee, [0, 1, 3], batch.header);
    const args = deliverArgs({ header: batch.header, attestation, messages: subset.map((i) => all[i]!), proof: batch.tree.prove(subset) });
    const receipt = await (await inbox.getFunction("deliver")(...args)).wait();
    const log = receipt!.logs
      .map((l: { topics: string[]; data: string }) => inboxInterface.parseLog(l))
      .find((l: { name: string } | null) => l?.name === "BatchDelivered");
    const outcomes = getBytes(log!.args.outcomes as string);
    const from = log!.args.fromNonce as bigint;
    const out = new Map<bigint, number>();
    for (let i = 0; i < outcomes.length * 4; i++) {
      const v = (outcomes[i >> 2]! >> ((i & 3) * 2)) & 3;
      if (v !== 0) out.set(from + BigInt(i), v);
    }
    return out;
  }

  test("out of order: a later batch first, then the earlier one; each message runs once", async () => {
    const inbox = await newInbox();
    const rec = await deployContract(node.wallet(0), "RecordingReceiver", []);
    const to = await rec.getAddress();
    const early = messages(to, [0n, 1n, 2n]);
    const late = messages(to, [3n, 4n]);
    assert.deepEqual(
      [...(await deliver(inbox, late))],
      [
        [3n, 1],
        [4n, 1],
      ],
    );
    assert.equal(await inbox.getFunction("nextNonce")(SRC), 0n, "the watermark waits for nonce 0");
    assert.equal(await inbox.getFunction("isDelivered")(SRC, 4n), true);
    assert.equal(await inbox.getFunction("isDelivered")(SRC, 1n), false);
    assert.deepEqual([...(await deliver(inbox, early, [1]))], [[1n, 1]]);
    assert.deepEqual(
      [...(await deliver(inbox, early))],
      [
        [0n, 1],
        [2n, 1],
      ],
      "nonce 1 is not run again",
    );
    assert.deepEqual([...(await deliver(inbox, late))], [], "nothing runs twice");
    for (const n of [0n, 1n, 2n, 3n, 4n]) assert.equal(await inbox.getFunction("isDelivered")(SRC, n), true);
    assert.equal(await inbox.getFunction("isDelivered")(SRC, 5n), false);
    assert.equal(await rec.getFunction("callCount")(), 5n);
  });

  test("a failing recipient: consumed, marked failed, retried once it accepts; a second retry is refused", async () => {
    const inbox = await newInbox();
    const flaky = await deployContract(node.wallet(0), "FlakyReceiver", []);
    const [m] = messages(await flaky.getAddress(), [0n]);
    assert.deepEqual([...(await deliver(inbox, [m!]))], [[0n, 3]]);
    assert.deepEqual([...(await deliver(inbox, [m!]))], [], "a failed message is consumed: delivering again does not run it");
    const enc = toHex(encodeMessage(m!));
    await rejectsWith(
      inbox.getFunction("retry").staticCall(toHex(encodeMessage({ ...m!, payload: new Uint8Array([9]) }))),
      "NOT_RETRYABLE",
    );
    await (await flaky.getFunction("setAccept")(true)).wait();
    await (await inbox.getFunction("retry")(enc)).wait();
    assert.equal(await flaky.getFunction("received")(), 1n);
    await rejectsWith(inbox.getFunction("retry").staticCall(enc), "NOT_RETRYABLE");
  });

  test("a recipient cannot re-enter the inbox, and one that burns its gas fails on its own account", async () => {
    const inbox = await newInbox();
    const reentrant = await deployContract(node.wallet(0), "ReentrantReceiver", [await inbox.getAddress()]);
    const burner = await deployContract(node.wallet(0), "GasBurner", []);
    const [a] = messages(await reentrant.getAddress(), [0n]);
    const [b] = messages(await burner.getAddress(), [1n]);
    await (await reentrant.getFunction("setReplay")(toHex(encodeMessage(a!)))).wait();
    const out = await deliver(inbox, [a!, b!]);
    assert.deepEqual(
      [...out],
      [
        [0n, 1],
        [1n, 3],
      ],
      "the re-entrant recipient itself returns normally; the burner fails",
    );
    assert.equal(codeOf({ data: await reentrant.getFunction("lastRevert")() }), "REENTRANT_CALL");
    assert.equal(await inbox.getFunction("failed")(toHex(messageId(b!))), true, "the burner's message can be retried");
  });

  test("governance: only the named sender pauses a lane; app messages then wait, governance still passes", async () => {
    const inbox = await newInbox();
    const rec = await deployContract(node.wallet(0), "RecordingReceiver", []);
    const to = await rec.getAddress();
    const pause = governancePayload("pauseLane", SRC);
    const stranger = messages(to, [0n], { kind: MessageKind.governance, sender: new Uint8Array(20).fill(0x66), payload: pause });
    assert.deepEqual([...(await deliver(inbox, stranger))], [[0n, 3]], "refused, recorded as failed");
    assert.equal(await inbox.getFunction("lanePaused")(SRC), false);
    const fromGovernor = messages(to, [1n], { kind: MessageKind.governance, sender: getBytes(governor()), payload: pause });
    assert.deepEqual([...(await deliver(inbox, fromGovernor))], [[1n, 1]]);
    assert.equal(await inbox.getFunction("lanePaused")(SRC), true);
    const app = messages(to, [2n]);
    const batch = buildBatch(app);
    const args = deliverArgs({
      header: batch.header,
      attestation: attestBatch(bls, tc, [0, 1, 3], batch.header),
      messages: app,
      proof: batch.tree.prove([0]),
    });
    await rejectsWith(inbox.getFunction("deliver").staticCall(...args), "LANE_PAUSED");
    const resume = messages(to, [3n], {
      kind: MessageKind.governance,
      sender: getBytes(governor()),
      payload: governancePayload("resumeLane", SRC),
    });
    assert.deepEqual([...(await deliver(inbox, resume))], [[3n, 1]]);
    assert.deepEqual([...(await deliver(inbox, app))], [[2n, 1]]);
  });

  test("rotation: the same record twice is a no-op, a different one a conflict; the old epoch expires on chain time", async () => {
    const inbox = await newInbox();
    const next = makeTestCommittee(bls, {
      epoch: 1n,
      seed: "inbox-tests-next",
      members: tc.committee.members.map((m) => ({ id: m.id, group: m.group })),
      policy: PILOT_POLICY,
    });
    const block = await node.provider.getBlock("latest");
    const now = BigInt(block!.timestamp);
    const record = rotate(bls, tc, [0, 1, 3], next.committee, now + 10n, 100);
    const send = (r: typeof record) =>
      inbox.getFunction("rotate")(
        r.fromEpoch,
        toHex(r.fromCommitteeSetHash),
        committeeInput(r.to),
        r.activatesAtSeconds,
        r.graceSeconds,
        evmAttestation(r.attestation),
      );
    await (await send(record)).wait();
    assert.equal(await inbox.getFunction("latestEpoch")(), 1n);
    await (await send(record)).wait();
    assert.equal(await inbox.getFunction("latestEpoch")(), 1n, "the same record again changes nothing");
    await rejectsWith(send(rotate(bls, tc, [0, 1, 3], next.committee, now + 10n, 999)), "ROTATION_CONFLICT");
    const [hash] = await inbox.getFunction("committee")(1n);
    assert.equal(hash, toHex(committeeSetHash(next.committee)));

    const rec = await deployContract(node.wallet(0), "RecordingReceiver", []);
    const to = await rec.getAddress();
    // Epoch 1 is not active yet: its attestation is refused, epoch 0's accepted.
    await rejectsWith(deliver(inbox, messages(to, [0n]), undefined, next), "EPOCH_NOT_YET_ACTIVE");
    assert.deepEqual([...(await deliver(inbox, messages(to, [0n])))], [[0n, 1]]);
    // After activation + grace, epoch 0 is expired and epoch 1 signs.
    await node.provider.send("evm_increaseTime", [200]);
    await node.provider.send("evm_mine", []);
    await rejectsWith(deliver(inbox, messages(to, [1n])), "EPOCH_EXPIRED");
    assert.deepEqual([...(await deliver(inbox, messages(to, [1n]), undefined, next))], [[1n, 1]]);
  });

  test("refusals: another destination, an empty delivery, a message of another lane", async () => {
    const inbox = await newInbox();
    const all = messages(governor(), [0n, 1n]);
    const batch = buildBatch(all);
    const attestation = attestBatch(bls, tc, [0, 1, 3], batch.header);
    const args = deliverArgs({ header: batch.header, attestation, messages: all, proof: batch.tree.prove([0, 1]) });
    await rejectsWith(
      inbox.getFunction("deliver").staticCall({ ...args[0], destinationChainId: 3003n }, args[1], args[2], args[3]),
      "WRONG_DESTINATION_CHAIN",
    );
    await rejectsWith(inbox.getFunction("deliver").staticCall(args[0], args[1], [], []), "EMPTY_DELIVERY");
    const other = toHex(encodeMessage({ ...all[0]!, sourceChainId: 3003n }));
    await rejectsWith(inbox.getFunction("deliver").staticCall(args[0], args[1], [other, args[2][1]], args[3]), "LANE_MISMATCH");
    await rejectsWith(inbox.getFunction("deliver").staticCall(args[0], args[1], [args[2][1], args[2][0]], args[3]), "INDICES_NOT_SORTED");
  });
});
