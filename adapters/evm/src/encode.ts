/**
 * Calldata of the inbox's `deliver` and `rotate` from untrusted deliveries. What cannot be put into
 * the contracts' form is refused here, with the code the in-memory inbox gives the same defect, instead
 * of being spent as a reverted transaction: proof positions that are not the nonce offsets
 * (`PROOF_INDEX_MISMATCH`), a signature or key that is no curve point, a field out of its range.
 */
import { type Delivery, deliveryRejected } from "@shandu/adapter-core";
import { committeeInput, evmAttestation, evmBatchHeader, g1ToEip2537, g2ToEip2537 } from "@shandu/deploy";
import { type Attestation, type Committee, encodeMessage, type RotationRecord, ShanduError, toHex } from "@shandu/proofs";
import { isError } from "ethers";
import { inboxAbi } from "./abi.ts";

/** Runs `f`; a `@shandu/proofs` error becomes a refusal with `reason` (default: its own code). */
function orReject<T>(what: string, f: () => T, reason?: string, facts: Record<string, string | number | bigint> = {}): T {
  try {
    return f();
  } catch (cause) {
    if (!(cause instanceof ShanduError)) throw cause;
    throw deliveryRejected(reason ?? cause.code, `${what}: ${cause.shortMessage}`, { facts: { ...cause.facts, ...facts }, cause });
  }
}

/** ABI-encodes; a value that does not fit its Solidity type (e.g. a u64 above 2^64 − 1) is refused. */
function abiEncode(fn: "deliver" | "rotate", args: readonly unknown[]): string {
  try {
    return inboxAbi.encodeFunctionData(fn, args);
  } catch (cause) {
    if (isError(cause, "INVALID_ARGUMENT") || isError(cause, "NUMERIC_FAULT")) {
      throw deliveryRejected("VALUE_OUT_OF_RANGE", `${fn}: a field does not fit the contract's type`, { cause });
    }
    throw cause;
  }
}

/** The attestation in the contracts' form; a signature that is no G2 point is refused as the verifier would. */
function attestationArg(a: Attestation, what: string): ReturnType<typeof evmAttestation> {
  return orReject(what, () => evmAttestation(a), "INVALID_SIGNATURE_ENCODING");
}

/** The committee in the registry's form; a key or proof of possession that is no curve point is refused. */
function committeeArg(c: Committee, facts: Record<string, string | number | bigint>): ReturnType<typeof committeeInput> {
  c.members.forEach((m, member) => {
    orReject("rotate", () => g1ToEip2537(m.blsPublicKey), "INVALID_MEMBER_KEY", { ...facts, member });
    orReject("rotate", () => g2ToEip2537(m.proofOfPossession), "INVALID_PROOF_OF_POSSESSION", { ...facts, member });
  });
  return orReject("rotate", () => committeeInput(c), undefined, facts);
}

/**
 * Calldata of `deliver(header, attestation, messages, siblings)`. Throws `DELIVERY_REJECTED`:
 * `PROOF_INDEX_MISMATCH` when the proof's tree size or indices are not those the header and nonces
 * imply, `INVALID_SIGNATURE_ENCODING`, a codec code for a message that does not encode, or
 * `VALUE_OUT_OF_RANGE`.
 */
export function deliverCalldata(d: Delivery): string {
  const h = d.header;
  if (typeof h.firstNonce === "bigint" && typeof h.lastNonce === "bigint" && h.firstNonce <= h.lastNonce) {
    // The inbox derives every leaf position from the nonce; a proof claiming others is refused, not reinterpreted.
    const expected = d.messages.map((m) => m.nonce - h.firstNonce);
    const size = h.lastNonce - h.firstNonce + 1n;
    const same =
      BigInt(d.proof.treeSize) === size &&
      d.proof.indices.length === expected.length &&
      d.proof.indices.every((x, i) => BigInt(x) === expected[i]);
    if (!same) {
      throw deliveryRejected("PROOF_INDEX_MISMATCH", "the proof is not for these messages' positions in the batch", {
        facts: { treeSize: d.proof.treeSize, expectedTreeSize: size, indices: d.proof.indices.join(","), expected: expected.join(",") },
      });
    }
  }
  const messages = d.messages.map((m) => orReject("deliver", () => toHex(encodeMessage(m)), undefined, { nonce: m.nonce }));
  return abiEncode("deliver", [
    evmBatchHeader(h),
    attestationArg(d.attestation, "deliver"),
    messages,
    d.proof.siblings.map((s) => toHex(s)),
  ]);
}

/**
 * Calldata of `rotate(...)` for record `index` of a delivery's rotations. Throws `DELIVERY_REJECTED`:
 * `ROTATION_NOT_ATTESTED` (`facts.detail` `INVALID_SIGNATURE_ENCODING`), `INVALID_MEMBER_KEY`,
 * `INVALID_PROOF_OF_POSSESSION`, a committee encoding code, or `VALUE_OUT_OF_RANGE`.
 */
export function rotateCalldata(r: RotationRecord, index: number): string {
  const facts = { rotation: index, toEpoch: r.to.epoch };
  let attestation: ReturnType<typeof evmAttestation>;
  try {
    attestation = evmAttestation(r.attestation);
  } catch (cause) {
    if (!(cause instanceof ShanduError)) throw cause;
    throw deliveryRejected("ROTATION_NOT_ATTESTED", "rotate: the rotation's signature is no curve point", {
      facts: { ...facts, detail: "INVALID_SIGNATURE_ENCODING" },
      cause,
    });
  }
  return abiEncode("rotate", [
    r.fromEpoch,
    toHex(r.fromCommitteeSetHash),
    committeeArg(r.to, facts),
    r.activatesAtSeconds,
    r.graceSeconds,
    attestation,
  ]);
}
