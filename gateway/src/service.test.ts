/**
 * The gateway's refusals on untrusted partials, straight against the service (embedded store and
 * queue): each with its code, and none leaving anything behind in the store.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  type Bls,
  batchSigningRoot,
  buildBatch,
  committeeSetHash,
  encodeMessage,
  loadBls,
  type Message,
  MessageKind,
  verifyCommitteeChain,
} from "@shandu/proofs";
import { pilotCommittee, type TestCommittee } from "@shandu/proofs/testing";
import type { SubmitPartialRequest } from "./api.ts";
import { GatewayError } from "./errors.ts";
import { EmbeddedQueue } from "./queue/embedded.ts";
import { GatewayService } from "./service.ts";
import { openSql } from "./store/sql.ts";
import { GatewayStore } from "./store/store.ts";

const A = 1001n;
const B = 2002n;
let bls: Bls;
let tc: TestCommittee;
let store: GatewayStore;
let queue: EmbeddedQueue;
let gateway: GatewayService;

before(async () => {
  bls = await loadBls();
  tc = pilotCommittee(bls, "service-test");
  store = new GatewayStore(await openSql({}));
  queue = new EmbeddedQueue();
  await queue.ensureStreams();
  const sk = new Uint8Array(32).fill(5);
  gateway = await GatewayService.start({
    store,
    queue,
    bls,
    chain: verifyCommitteeChain(tc.committee, [], bls),
    committees: { genesis: tc.committee, rotations: [] },
    lanes: [{ sourceChainId: A, destinationChainId: B }],
    logSecretKey: sk,
    logPublicKey: ed25519.getPublicKey(sk),
  });
});
after(async () => {
  await gateway.close();
  await queue.close();
  await store.close();
});

function messages(first: bigint, count: number, src = A, dst = B): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    version: 1,
    sourceChainId: src,
    destinationChainId: dst,
    nonce: first + BigInt(i),
    kind: MessageKind.app,
    sender: Uint8Array.of(1),
    recipient: Uint8Array.of(2),
    payload: new TextEncoder().encode(`deed ${i}`),
    source: { blockNumber: 7n, txHash: new Uint8Array(32).fill(i), logIndex: 0 },
  }));
}

function partial(member: number, ms: Message[]): SubmitPartialRequest {
  const batch = buildBatch(ms);
  const root = batchSigningRoot(committeeSetHash(tc.committee), 0n, batch.header);
  return {
    header: batch.header,
    epoch: 0n,
    memberId: tc.committee.members[member]!.id,
    signature: bls.sign(tc.secretKeys[member]!, root),
    messages: ms.map(encodeMessage),
  };
}

async function refusal(req: SubmitPartialRequest): Promise<string> {
  try {
    await gateway.submitPartial(req);
    return "accepted";
  } catch (e) {
    assert.ok(e instanceof GatewayError, String(e));
    return e.code;
  }
}

test("untrusted partials are refused with their code and leave nothing stored", async () => {
  const good = partial(0, messages(0n, 3));
  // A lane this gateway does not attest (the reverse one, and a chain it does not know).
  assert.equal(await refusal(partial(0, messages(0n, 3, B, A))), "UNKNOWN_LANE");
  assert.equal(await refusal(partial(0, messages(0n, 3, A, 9n))), "UNKNOWN_LANE");
  // The point at infinity (compressed: 0xc0 then zeros) and random bytes are no signature.
  const infinity = new Uint8Array(96);
  infinity[0] = 0xc0;
  assert.equal(await refusal({ ...good, signature: infinity }), "BAD_SIGNATURE");
  assert.equal(await refusal({ ...good, signature: new Uint8Array(96).fill(7) }), "BAD_SIGNATURE");
  // Another member's valid signature under this member's id.
  assert.equal(await refusal({ ...good, signature: partial(1, messages(0n, 3)).signature }), "BAD_SIGNATURE");
  assert.equal(await refusal({ ...good, memberId: "mallory" }), "UNKNOWN_MEMBER");
  assert.equal(await refusal({ ...good, epoch: 1n }), "WRONG_EPOCH");
  // Messages that do not build the header: one missing, one extra, one changed, a reversed range.
  assert.equal(await refusal({ ...good, messages: good.messages.slice(1) }), "BATCH_MISMATCH");
  assert.equal(await refusal({ ...good, messages: [...good.messages, good.messages[0]!] }), "BATCH_MISMATCH");
  assert.equal(
    await refusal({ ...good, messages: messages(0n, 3).map((m, i) => encodeMessage(i === 1 ? { ...m, payload: Uint8Array.of(9) } : m)) }),
    "BATCH_MISMATCH",
  );
  assert.equal(await refusal({ ...good, header: { ...good.header, firstNonce: 5n, lastNonce: 3n } }), "BATCH_MISMATCH");
  assert.equal(await refusal({ ...good, header: { ...good.header, root: new Uint8Array(31) } }), "BATCH_MISMATCH");
  assert.equal((await store.laneStats()).length, 0, "nothing was stored");

  // The good one is accepted once; sent again (a replay) it is a duplicate, stored once.
  assert.equal((await gateway.submitPartial(good)).status, "accepted");
  assert.equal((await gateway.submitPartial(good)).status, "duplicate");
  assert.equal((await store.partialsFor(good.header, 0n)).length, 1);
});

test("quorum needs the policy, not just the weight: without the regulator the batch waits", async () => {
  const ms = messages(100n, 2);
  assert.equal((await gateway.submitPartial(partial(0, ms))).status, "accepted");
  assert.equal((await gateway.submitPartial(partial(1, ms))).status, "accepted");
  assert.equal((await gateway.submitPartial(partial(2, ms))).status, "accepted", "3 of 4 weight, but no regulator");
  assert.equal((await gateway.submitPartial(partial(3, ms))).status, "attested");
  const a = await gateway.getAttestation(partial(0, ms).header);
  assert.equal(a.messages.length, 2);
  const head = await gateway.treeHead();
  assert.equal(head.treeSize, a.logIndex + 1n);
});
