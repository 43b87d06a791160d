import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { batchSigningRoot } from "./attestation.ts";
import { loadBls } from "./bls/bls.ts";
import { concatBytes, utf8 } from "./bytes.ts";
import { committeeSetHash, type NativeKeySchemeName, verifyCommittee } from "./committee.ts";
import { sm2Verify } from "./fisco/crypto.ts";
import { sha256 } from "./hash.ts";
import {
  aggregateNative,
  decodeNativeAttestation,
  encodeNativeAttestation,
  memberNativeKey,
  nativeDigest,
  signNative,
  verifyNativeAttestation,
  verifyNativeSignature,
} from "./native.ts";
import { errorCode, pilotCommittee, signNativeAs } from "./testing/mod.ts";

const bls = await loadBls();
const SCHEMES: NativeKeySchemeName[] = ["secp256k1", "sm2"];
const tc = pilotCommittee(bls, "native-test", 0n, SCHEMES);
const vc = verifyCommittee(tc.committee, bls);
const header = { sourceChainId: 7n, destinationChainId: 9n, firstNonce: 0n, lastNonce: 3n, root: sha256(utf8("batch")) };
const root = batchSigningRoot(committeeSetHash(tc.committee), 0n, header);

describe("native co-signatures", () => {
  it("digests with the domain tag and the scheme code", () => {
    assert.deepEqual(nativeDigest("secp256k1", root), sha256(concatBytes(utf8("SHANDU-NATIVE-v1"), Uint8Array.of(1), root)));
    assert.deepEqual(nativeDigest("sm2", root), sha256(concatBytes(utf8("SHANDU-NATIVE-v1"), Uint8Array.of(2), root)));
  });

  it("secp256k1 signatures are r ‖ s ‖ v with v ∈ {27, 28}, low s, recoverable with the digest alone", () => {
    const key = tc.nativeSecretKeys.secp256k1![0]!;
    const sig = signNative("secp256k1", key, root);
    assert.equal(sig.length, 65);
    assert.ok(sig[64] === 27 || sig[64] === 28);
    const pub = memberNativeKey(tc.committee.members[0]!, "secp256k1")!;
    assert.ok(verifyNativeSignature("secp256k1", pub, root, sig));
    const recovered = secp256k1.Signature.fromBytes(sig.subarray(0, 64), "compact")
      .addRecoveryBit(sig[64]! - 27)
      .recoverPublicKey(nativeDigest("secp256k1", root))
      .toBytes(false)
      .subarray(1);
    assert.deepEqual(recovered, pub);
    // The high-s twin verifies as ECDSA but is refused, as ecrecover-based inboxes refuse it.
    const n = secp256k1.Point.CURVE().n;
    const s = BigInt(`0x${Buffer.from(sig.subarray(32, 64)).toString("hex")}`);
    const high = Uint8Array.from(Buffer.from((n - s).toString(16).padStart(64, "0"), "hex"));
    const twin = concatBytes(sig.subarray(0, 32), high, Uint8Array.of(sig[64] === 27 ? 28 : 27));
    assert.equal(verifyNativeSignature("secp256k1", pub, root, twin), false);
    assert.equal(verifyNativeSignature("secp256k1", pub, root, concatBytes(sig.subarray(0, 64), Uint8Array.of(sig[64]! - 27))), false);
    assert.equal(verifyNativeSignature("secp256k1", pub, sha256(root), sig), false);
  });

  it("SM2 signatures are r ‖ s over the digest with Z_A, as FISCO's sm2Verify checks them", () => {
    const sig = signNative("sm2", tc.nativeSecretKeys.sm2![1]!, root);
    const pub = memberNativeKey(tc.committee.members[1]!, "sm2")!;
    assert.equal(sig.length, 64);
    assert.ok(sm2Verify(sig, nativeDigest("sm2", root), pub));
    assert.ok(verifyNativeSignature("sm2", pub, root, sig));
    assert.equal(verifyNativeSignature("sm2", memberNativeKey(tc.committee.members[2]!, "sm2")!, root, sig), false);
  });

  for (const scheme of SCHEMES) {
    it(`${scheme}: a quorum verifies; too little weight, a missing group, a forged or misplaced signature fail with their codes`, () => {
      const att = signNativeAs(tc, scheme, [0, 1, 3], root);
      assert.deepEqual(verifyNativeAttestation(att, vc, root).signerIds, ["shanghai-lowcarbon", "shenzhen-welfare", "regulator"]);
      assert.deepEqual(decodeNativeAttestation(encodeNativeAttestation(att)), att);
      assert.equal(
        errorCode(() => verifyNativeAttestation(signNativeAs(tc, scheme, [0, 3], root), vc, root)),
        "QUORUM_WEIGHT_NOT_MET",
      );
      assert.equal(
        errorCode(() => verifyNativeAttestation(signNativeAs(tc, scheme, [0, 1, 2], root), vc, root)),
        "QUORUM_GROUP_NOT_MET",
      );
      // Member 2's key signs in member 1's place.
      const forged = {
        ...att,
        signatures: [att.signatures[0]!, signNative(scheme, tc.nativeSecretKeys[scheme]![2]!, root), att.signatures[2]!],
      };
      assert.equal(
        errorCode(() => verifyNativeAttestation(forged, vc, root)),
        "NATIVE_SIGNATURE_INVALID",
      );
      // Signatures for another root, another committee, a short list.
      assert.equal(
        errorCode(() => verifyNativeAttestation(att, vc, sha256(root))),
        "NATIVE_SIGNATURE_INVALID",
      );
      assert.equal(
        errorCode(() => verifyNativeAttestation({ ...att, committeeSetHash: sha256(root) }, vc, root)),
        "COMMITTEE_HASH_MISMATCH",
      );
      assert.equal(
        errorCode(() => verifyNativeAttestation({ ...att, signatures: att.signatures.slice(1) }, vc, root)),
        "NATIVE_SIGNATURES_LENGTH",
      );
      assert.equal(
        errorCode(() => verifyNativeAttestation({ ...att, signers: new Uint8Array(1) }, vc, root)),
        "EMPTY_SIGNER_SET",
      );
    });
  }

  it("a member without a key of the scheme cannot co-sign, and aggregation refuses duplicates", () => {
    const mixed = pilotCommittee(bls, "native-mixed", 0n, ["secp256k1"]);
    const mvc = verifyCommittee(mixed.committee, bls);
    const r = batchSigningRoot(committeeSetHash(mixed.committee), 0n, header);
    const sig = (i: number) => signNative("sm2", tc.nativeSecretKeys.sm2![i]!, r);
    assert.equal(
      errorCode(() => aggregateNative(mvc, "sm2", r, [{ memberIndex: 0, signature: sig(0) }])),
      "NATIVE_KEY_MISSING",
    );
    const s0 = signNative("secp256k1", mixed.nativeSecretKeys.secp256k1![0]!, r);
    assert.equal(
      errorCode(() =>
        aggregateNative(mvc, "secp256k1", r, [
          { memberIndex: 0, signature: s0 },
          { memberIndex: 0, signature: s0 },
        ]),
      ),
      "DUPLICATE_PARTIAL",
    );
  });

  it("a committee whose native key is not a curve point is refused", () => {
    const bad = structuredClone(tc.committee);
    bad.members[0]!.nativeKeys[1]!.publicKey[10]! ^= 1;
    assert.equal(
      errorCode(() => verifyCommittee(bad, bls)),
      "INVALID_NATIVE_KEY",
    );
  });
});
