import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { fromHex, keccak256, loadBls, memberNativeKey, SM2_CURVE, sm3, toHex } from "@shandu/proofs";
import { pilotCommittee } from "@shandu/proofs/testing";
import { CONTRACTS_DIR } from "./compile.ts";
import {
  FISCO_CRYPTO_PRECOMPILE,
  FISCO_TIMESTAMP_UNITS_PER_SECOND,
  nativeAttestationArgs,
  nativeCommitteeInput,
  nativeInboxDeployArgs,
  SM2_VERIFY_SELECTOR,
} from "./native.ts";

const bls = await loadBls();
const tc = pilotCommittee(bls, "native-encoders", 0n, ["secp256k1", "sm2"]);
const enc = (s: string) => new TextEncoder().encode(s);
const selectorOf = (hash: (b: Uint8Array) => Uint8Array, signature: string) => toHex(hash(enc(signature)).subarray(0, 4));

/** The value of `NAME = 0x…;` in a Solidity source. */
function constant(source: string, name: string): bigint {
  const m = new RegExp(`\\b${name} = (0x[0-9a-fA-F]+);`).exec(source);
  if (!m) throw new Error(`no constant ${name}`);
  return BigInt(m[1]!);
}

describe("native.ts encoders", () => {
  it("nativeCommitteeInput lists the 64-byte key of each member holding one of the scheme, in member order", () => {
    const partial = structuredClone(tc.committee);
    partial.members[2]!.nativeKeys = partial.members[2]!.nativeKeys.filter((k) => k.scheme === "sm2");
    const input = nativeCommitteeInput(partial, "secp256k1");
    const keys = fromHex(input.keys);
    assert.equal(keys.length, 3 * 64);
    assert.deepEqual(keys.subarray(128), memberNativeKey(partial.members[3]!, "secp256k1"));
    assert.equal(fromHex(nativeCommitteeInput(partial, "sm2").keys).length, 4 * 64);
  });

  it("nativeAttestationArgs concatenates the signatures; the deploy arguments default to FISCO 3.x", () => {
    const sig = new Uint8Array(65).fill(1);
    const args = nativeAttestationArgs({
      scheme: "secp256k1",
      epoch: 3n,
      committeeSetHash: new Uint8Array(32),
      signers: Uint8Array.of(0x0b),
      signatures: [sig, sig, sig],
    });
    assert.equal(fromHex(args.signatures).length, 195);
    assert.equal(args.epoch, 3n);
    const [chainId, scheme, precompile, units, genesis, governance] = nativeInboxDeployArgs({
      chainId: 9n,
      scheme: "sm2",
      committee: tc.committee,
      governance: [{ chainId: 1n, sender: Uint8Array.of(1, 2) }],
    });
    assert.deepEqual([chainId, scheme, precompile, units], [9n, 2, FISCO_CRYPTO_PRECOMPILE.v3, FISCO_TIMESTAMP_UNITS_PER_SECOND]);
    assert.equal(genesis.keys, nativeCommitteeInput(tc.committee, "sm2").keys);
    assert.deepEqual(governance, [{ chainId: 1n, sender: "0x0102" }]);
    assert.equal(
      nativeInboxDeployArgs({ chainId: 9n, scheme: "secp256k1", committee: tc.committee })[2],
      "0x0000000000000000000000000000000000000000",
    );
  });

  it("the contracts' curve, hash and selector constants are the values they name", () => {
    const inbox = readFileSync(`${CONTRACTS_DIR}fisco/ShanduNativeInbox.sol`, "utf8");
    const lib = readFileSync(`${CONTRACTS_DIR}fisco/lib/NativeCommittees.sol`, "utf8");
    const h = (b: Uint8Array) => BigInt(toHex(b));
    assert.equal(constant(inbox, "KECCAK_OF_1"), h(keccak256(Uint8Array.of(1))));
    assert.equal(constant(inbox, "KECCAK_OF_2"), h(keccak256(Uint8Array.of(2))));
    assert.equal(constant(inbox, "SM3_OF_1"), h(sm3(Uint8Array.of(1))));
    assert.equal(constant(inbox, "SM3_OF_2"), h(sm3(Uint8Array.of(2))));
    const sm2Verify = "sm2Verify(bytes32,bytes,bytes32,bytes32)";
    const receive = "shanduReceive(uint64,bytes,uint64,bytes)";
    assert.equal(constant(inbox, "SM2_VERIFY_KECCAK"), BigInt(selectorOf(keccak256, sm2Verify)));
    assert.equal(constant(inbox, "SM2_VERIFY_SM3"), BigInt(selectorOf(sm3, sm2Verify)));
    assert.equal(constant(inbox, "RECEIVE_KECCAK"), BigInt(selectorOf(keccak256, receive)));
    assert.equal(constant(inbox, "RECEIVE_SM3"), BigInt(selectorOf(sm3, receive)));
    assert.equal(SM2_VERIFY_SELECTOR.ecdsa, selectorOf(keccak256, sm2Verify));
    assert.equal(SM2_VERIFY_SELECTOR.sm, selectorOf(sm3, sm2Verify));
    const curve = secp256k1.Point.CURVE();
    assert.equal(constant(lib, "SECP_P"), curve.p);
    assert.equal(constant(lib, "SECP_HALF_N"), curve.n >> 1n);
    assert.equal(constant(lib, "SM2_P"), SM2_CURVE.p);
    assert.equal(constant(lib, "SM2_A"), SM2_CURVE.a);
    assert.equal(constant(lib, "SM2_B"), SM2_CURVE.b);
  });
});
