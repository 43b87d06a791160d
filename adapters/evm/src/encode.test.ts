import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { AdapterError, type Delivery } from "@shandu/adapter-core";
import { attestedDelivery } from "@shandu/adapter-core/testing";
import { encodeMessage, type Message, MessageKind, nobleBls, toHex } from "@shandu/proofs";
import { rotate as attestRotation, PILOT_POLICY, pilotCommittee, type TestCommittee } from "@shandu/proofs/testing";
import { inboxAbi } from "./abi.ts";
import { deliverCalldata, rotateCalldata } from "./encode.ts";

function messages(nonces: bigint[]): Message[] {
  return nonces.map((nonce) => ({
    version: 1,
    sourceChainId: 1001n,
    destinationChainId: 2002n,
    nonce,
    kind: MessageKind.app,
    sender: new Uint8Array(20).fill(1),
    recipient: new Uint8Array(20).fill(2),
    payload: new TextEncoder().encode(`deed-${nonce}`),
    source: { blockNumber: 10n + nonce, txHash: new Uint8Array(32).fill(3), logIndex: 0 },
  }));
}

function refused(reason: string, detail?: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof AdapterError, String(e));
    assert.equal(e.code, "DELIVERY_REJECTED");
    assert.equal(e.facts.reason, reason, e.message);
    if (detail !== undefined) assert.equal(e.facts.detail, detail);
    return true;
  };
}

describe("deliver and rotate calldata", () => {
  let tc: TestCommittee;
  let d: Delivery;
  before(() => {
    tc = pilotCommittee(nobleBls, "encode");
    d = attestedDelivery(nobleBls, tc, messages([5n, 6n, 7n]), { deliver: [0, 2] });
  });

  test("deliver carries the header, the attestation, the canonical messages and the siblings", () => {
    const args = inboxAbi.decodeFunctionData("deliver", deliverCalldata(d));
    assert.deepEqual([args[0][0], args[0][2], args[0][3]], [1001n, 5n, 7n]);
    assert.equal(args[1][0], 0n);
    assert.deepEqual(
      [...args[2]],
      d.messages.map((m) => toHex(encodeMessage(m))),
    );
    assert.deepEqual(
      [...args[3]],
      d.proof.siblings.map((s) => toHex(s)),
    );
  });

  test("deliver refuses what the inbox could not be given", () => {
    assert.throws(() => deliverCalldata({ ...d, proof: { ...d.proof, indices: [0, 1] } }), refused("PROOF_INDEX_MISMATCH"));
    assert.throws(() => deliverCalldata({ ...d, proof: { ...d.proof, treeSize: 4 } }), refused("PROOF_INDEX_MISMATCH"));
    const garbage = { ...d.attestation, signature: new Uint8Array(96).fill(0x11) };
    assert.throws(() => deliverCalldata({ ...d, attestation: garbage }), refused("INVALID_SIGNATURE_ENCODING"));
    const huge = { ...d.messages[0]!, payload: new Uint8Array(65_537) };
    assert.throws(() => deliverCalldata({ ...d, messages: [huge, d.messages[1]!] }), refused("FIELD_TOO_LONG"));
    const far = { ...d.header, lastNonce: 1n << 64n, firstNonce: (1n << 64n) - 2n };
    const m = messages([(1n << 64n) - 2n, (1n << 64n) - 1n]);
    assert.throws(
      () => deliverCalldata({ ...d, header: far, messages: m, proof: { treeSize: 3, indices: [0, 1], siblings: [] } }),
      refused("VALUE_OUT_OF_RANGE"),
    );
  });

  test("rotate carries the record; a signature, key or proof of possession that is no point is refused", () => {
    const next = pilotCommittee(nobleBls, "encode-next", 1n);
    const r = attestRotation(nobleBls, tc, [0, 1, 3], next.committee, 1000n, 60);
    const args = inboxAbi.decodeFunctionData("rotate", rotateCalldata(r, 0));
    assert.deepEqual([args[0], args[3], args[4]], [0n, 1000n, 60n]);

    const badSig = { ...r, attestation: { ...r.attestation, signature: new Uint8Array(96).fill(0x11) } };
    assert.throws(() => rotateCalldata(badSig, 0), refused("ROTATION_NOT_ATTESTED", "INVALID_SIGNATURE_ENCODING"));
    const member = next.committee.members[1]!;
    const badKey = { ...next.committee, members: [next.committee.members[0]!, { ...member, blsPublicKey: new Uint8Array(48).fill(0x11) }] };
    assert.throws(() => rotateCalldata({ ...r, to: { ...badKey, policy: PILOT_POLICY } }, 0), refused("INVALID_MEMBER_KEY"));
    const badPop = { ...next.committee, members: [{ ...member, proofOfPossession: new Uint8Array(96).fill(0x11) }] };
    assert.throws(() => rotateCalldata({ ...r, to: badPop }, 0), refused("INVALID_PROOF_OF_POSSESSION"));
  });
});
