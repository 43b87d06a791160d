/**
 * Native co-signatures through the gateway (docs/protocol.md §6.5): a lane into a chain that verifies
 * native signatures needs one in every partial, checked on arrival; the attestation then carries the
 * same signers' native attestation through the store, the wire forms and the API.
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
  signNative,
  verifyCommittee,
  verifyCommitteeChain,
  verifyNativeAttestation,
} from "@shandu/proofs";
import { laneMessage, pilotCommittee, type TestCommittee } from "@shandu/proofs/testing";
import type { SubmitPartialRequest } from "./api.ts";
import { GatewayError } from "./errors.ts";
import { EmbeddedQueue } from "./queue/embedded.ts";
import { getAttestationResponseCodec, submitPartialRequestCodec } from "./rpc/convert.ts";
import { GatewayService } from "./service.ts";
import { openSql } from "./store/sql.ts";
import { GatewayStore } from "./store/store.ts";
import { decodeAttestedBatch, encodeAttestedBatch } from "./wire.ts";

const A = 1001n;
const B = 2002n; // verifies BLS
const F = 3003n; // verifies secp256k1 co-signatures
let bls: Bls;
let tc: TestCommittee;
let store: GatewayStore;
let queue: EmbeddedQueue;
let gateway: GatewayService;

before(async () => {
  bls = await loadBls();
  tc = pilotCommittee(bls, "native-gateway-test", 0n, ["secp256k1"]);
  store = new GatewayStore(await openSql({}));
  queue = new EmbeddedQueue();
  await queue.ensureStreams();
  const sk = new Uint8Array(32).fill(6);
  gateway = await GatewayService.start({
    store,
    queue,
    bls,
    chain: verifyCommitteeChain(tc.committee, [], bls),
    committees: { genesis: tc.committee, rotations: [] },
    lanes: [
      { sourceChainId: A, destinationChainId: B },
      { sourceChainId: A, destinationChainId: F },
    ],
    nativeSchemes: new Map([[F, "secp256k1"]]),
    logSecretKey: sk,
    logPublicKey: ed25519.getPublicKey(sk),
  });
});
after(async () => {
  await gateway.close();
  await queue.close();
  await store.close();
});

function messages(first: bigint, count: number, dst: bigint): Message[] {
  return Array.from({ length: count }, (_, i) => laneMessage(A, dst, first + BigInt(i)));
}

function partial(member: number, ms: Message[], native = true): SubmitPartialRequest {
  const batch = buildBatch(ms);
  const root = batchSigningRoot(committeeSetHash(tc.committee), 0n, batch.header);
  return {
    header: batch.header,
    epoch: 0n,
    memberId: tc.committee.members[member]!.id,
    signature: bls.sign(tc.secretKeys[member]!, root),
    messages: ms.map(encodeMessage),
    ...(native
      ? { native: [{ scheme: "secp256k1" as const, signature: signNative("secp256k1", tc.nativeSecretKeys.secp256k1![member]!, root) }] }
      : {}),
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

test("a native lane refuses partials without a valid co-signature; a BLS lane refuses co-signatures", async () => {
  const ms = messages(0n, 3, F);
  const good = partial(0, ms);
  assert.equal(await refusal(partial(0, ms, false)), "BAD_NATIVE_SIGNATURE");
  // Member 1's valid co-signature under member 0's id, and a signature over another root.
  assert.equal(await refusal({ ...good, native: partial(1, ms).native! }), "BAD_NATIVE_SIGNATURE");
  const other = partial(0, messages(5n, 3, F)).native!;
  assert.equal(await refusal({ ...good, native: other }), "BAD_NATIVE_SIGNATURE");
  assert.equal(await refusal({ ...good, native: [...good.native!, ...good.native!] }), "INVALID_REQUEST");
  assert.equal(await refusal({ ...good, native: [{ scheme: "sm2", signature: new Uint8Array(64) }] }), "INVALID_REQUEST");
  // The same co-signature sent on a lane into a BLS chain is refused, not silently dropped.
  const bls = partial(0, messages(0n, 3, B));
  assert.equal(await refusal({ ...bls, native: good.native! }), "INVALID_REQUEST");
  assert.equal((await store.laneStats()).length, 0, "nothing was stored");
  assert.equal((await gateway.submitPartial(partial(0, messages(0n, 3, B), false))).status, "accepted");
});

test("at quorum the attestation carries a native attestation that verifies, through store, queue JSON and gRPC", async () => {
  const ms = messages(0n, 4, F);
  for (const i of [0, 1]) assert.equal((await gateway.submitPartial(partial(i, ms))).status, "accepted");
  assert.equal((await gateway.submitPartial(partial(3, ms))).status, "attested");
  const batch = await gateway.getAttestation({ sourceChainId: A, destinationChainId: F, firstNonce: 0n, lastNonce: 3n });
  assert.ok(batch.native, "native attestation present");
  const vc = verifyCommittee(tc.committee, bls);
  const root = batchSigningRoot(vc.hash, 0n, batch.header);
  assert.deepEqual(verifyNativeAttestation(batch.native, vc, root).signerIds, ["shanghai-lowcarbon", "shenzhen-welfare", "regulator"]);
  assert.deepEqual(batch.native.signers, batch.attestation.signers, "the same signers as the BLS aggregate");
  assert.deepEqual(decodeAttestedBatch(encodeAttestedBatch(batch)).native, batch.native);
  const viaPb = getAttestationResponseCodec.fromPb(structuredClone(getAttestationResponseCodec.toPb(batch)));
  assert.deepEqual(viaPb.native, batch.native);
  // A lane into a BLS chain has none.
  const msB = messages(10n, 2, B);
  for (const i of [0, 1, 3]) await gateway.submitPartial(partial(i, msB, false));
  const blsBatch = await gateway.getAttestation({ sourceChainId: A, destinationChainId: B, firstNonce: 10n, lastNonce: 11n });
  assert.equal(blsBatch.native, undefined);
  assert.equal(getAttestationResponseCodec.fromPb(getAttestationResponseCodec.toPb(blsBatch)).native, undefined);
});

test("the gRPC request form keeps the co-signature and refuses a wrong length or scheme", () => {
  const req = partial(2, messages(20n, 1, F));
  const pb = submitPartialRequestCodec.toPb(req);
  assert.deepEqual(submitPartialRequestCodec.fromPb(pb).native, req.native);
  const code = (p: unknown) => {
    try {
      submitPartialRequestCodec.fromPb(p);
      return "ok";
    } catch (e) {
      return (e as GatewayError).code;
    }
  };
  assert.equal(code({ ...pb, native: [{ scheme: 1, signature: new Uint8Array(64) }] }), "INVALID_REQUEST");
  assert.equal(code({ ...pb, native: [{ scheme: 7, signature: new Uint8Array(65) }] }), "INVALID_REQUEST");
});
