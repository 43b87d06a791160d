/**
 * Attesters against an in-process gateway (embedded store and queue) over in-memory chains: batches
 * follow block windows and the size cap, so every member builds the same ones; a restarted attester
 * re-sends what it signed instead of signing again; one that finds a different root for a range it
 * signed stops instead of equivocating.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import { MemoryAdapter, MemoryChain } from "@shandu/adapter-core";
import { type Bls, loadBls, readBitfield, verifyCommitteeChain } from "@shandu/proofs";
import { pilotCommittee, type TestCommittee } from "@shandu/proofs/testing";
import { EmbeddedQueue } from "../queue/embedded.ts";
import { GatewayService } from "../service.ts";
import { openSql } from "../store/sql.ts";
import { GatewayStore } from "../store/store.ts";
import { Attester, type AttesterEvent, type BatchPolicy } from "./attester.ts";

const A = 1001n;
const B = 2002n;
let bls: Bls;
let tc: TestCommittee;
let dir: string;
let chain: MemoryChain;
let gateway: GatewayService;
let store: GatewayStore;
let queue: EmbeddedQueue;
const running: Attester[] = [];

beforeEach(async () => {
  bls ??= await loadBls();
  tc ??= pilotCommittee(bls, "attester-test");
  dir = await mkdtemp(join(tmpdir(), "shandu-attester-"));
  chain = new MemoryChain({ chainId: A, finalityDepthBlocks: 0, trustedGenesis: tc.committee, bls, autoMine: false });
  store = new GatewayStore(await openSql({}));
  queue = new EmbeddedQueue();
  await queue.ensureStreams();
  const logSecretKey = new Uint8Array(32).fill(9);
  gateway = await GatewayService.start({
    store,
    queue,
    bls,
    chain: verifyCommitteeChain(tc.committee, [], bls),
    committees: { genesis: tc.committee, rotations: [] },
    lanes: [{ sourceChainId: A, destinationChainId: B }],
    logSecretKey,
    logPublicKey: ed25519.getPublicKey(logSecretKey),
  });
});

afterEach(async () => {
  for (const a of running.splice(0)) await a.close();
  await gateway.close();
  await queue.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function attester(index: number, policy: BatchPolicy, events: AttesterEvent[] = []): Attester {
  const a = new Attester({
    memberId: tc.committee.members[index]!.id,
    secretKey: tc.secretKeys[index]!,
    bls,
    chain: verifyCommitteeChain(tc.committee, [], bls),
    sources: [{ adapter: new MemoryAdapter(chain), destinations: [B] }],
    gateway,
    stateDir: join(dir, `member-${index}`),
    policy,
    onEvent: (e) => events.push(e),
  });
  running.push(a);
  return a;
}

function sendBlock(count: number): void {
  for (let i = 0; i < count; i++) {
    chain.send({
      destinationChainId: B,
      sender: Uint8Array.of(1),
      recipient: Uint8Array.of(2),
      payload: new TextEncoder().encode(`deed ${i}`),
    });
  }
  chain.mine();
}

async function attestedRanges(expected: number): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const batches = await store.attestedFrom(0n, 100);
    if (batches.length >= expected || Date.now() > deadline) return batches.map((b) => `${b.header.firstNonce}-${b.header.lastNonce}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("batches follow block windows and the size cap; the policy's members attest them", async () => {
  const policy = { windowBlocks: 1, maxMessages: 3 };
  for (const i of [0, 1, 2, 3]) await attester(i, policy).start();
  const first = chain.send({
    destinationChainId: B,
    sender: Uint8Array.of(1),
    recipient: Uint8Array.of(2),
    payload: Uint8Array.of(0),
  }).nonce;
  chain.mine(); // block with 1 message
  sendBlock(5); // block with 5: split 3 + 2
  sendBlock(2);
  const f = Number(first);
  assert.deepEqual(await attestedRanges(4), [`${f}-${f}`, `${f + 1}-${f + 3}`, `${f + 4}-${f + 5}`, `${f + 6}-${f + 7}`]);
  const one = (await store.attestedFrom(0n, 1))[0]!;
  assert.ok(readBitfield(one.attestation.signers, 4).length >= 3);
});

test("a restarted attester re-sends what it signed and signs nothing new for those ranges", async () => {
  const policy = { windowBlocks: 2, maxMessages: 100 };
  const events: AttesterEvent[] = [];
  const member = attester(0, policy, events);
  await member.start();
  sendBlock(2);
  sendBlock(2); // window of blocks 2-3 (or 0-1) — either way, whole windows only
  chain.mine();
  chain.mine();
  await waitFor(() => events.some((e) => e.type === "submitted"));
  await member.close();
  const signedBefore = events.filter((e) => e.type === "signed").length;
  assert.ok(signedBefore >= 1);
  // Lose the cursor (e.g. a crash before it was saved): the attester rebuilds the same batches.
  await unlink(join(dir, "member-0", `${tc.committee.members[0]!.id}-${A}.cursor.json`));
  const again: AttesterEvent[] = [];
  const restarted = attester(0, policy, again);
  await restarted.start();
  await waitFor(() => again.filter((e) => e.type === "submitted").length >= signedBefore);
  const signed = again.filter((e) => e.type === "signed");
  assert.equal(signed.length, signedBefore);
  assert.ok(
    signed.every((e) => e.type === "signed" && e.resent),
    "every batch re-sent as signed, none signed anew",
  );
  assert.ok(
    again.every((e) => e.type !== "rejected"),
    JSON.stringify(again, (_, v) => (typeof v === "bigint" ? v.toString() : v)),
  );
  assert.equal((await store.equivocations()).length, 0);
});

test("an attester whose journal holds another root for a range stops instead of signing it", async () => {
  const policy = { windowBlocks: 1, maxMessages: 100 };
  const events: AttesterEvent[] = [];
  const member = attester(1, policy, events);
  await member.start();
  sendBlock(1);
  await waitFor(() => events.some((e) => e.type === "submitted"));
  await member.close();
  const id = tc.committee.members[1]!.id;
  const journal = join(dir, "member-1", `${id}-${A}.signed.jsonl`);
  const line = JSON.parse((await readFile(journal, "utf8")).trim()) as { root: string };
  line.root = `0x${"ab".repeat(32)}`;
  await writeFile(journal, `${JSON.stringify(line)}\n`);
  await unlink(join(dir, "member-1", `${id}-${A}.cursor.json`));
  const again: AttesterEvent[] = [];
  const restarted = attester(1, policy, again);
  await restarted.start();
  await assert.rejects(restarted.done(), (e: Error & { code?: string }) => e.code === "EQUIVOCATION");
  assert.equal(again.filter((e) => e.type === "signed").length, 0);
});

async function waitFor(f: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
