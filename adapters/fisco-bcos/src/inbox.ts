/**
 * The FISCO BCOS native-key inbox (`deploy/contracts/fisco/ShanduNativeInbox.sol`) as the adapter calls
 * it: calldata of `deliver` from an untrusted delivery, view calls, and the contract's refusals mapped to
 * adapter errors.
 *
 * Selectors and event topics follow the chain's suite: keccak-256 on ECDSA chains, SM3 on SM chains,
 * where contracts are compiled with FISCO's SM toolchain and the SDKs derive selectors with SM3
 * (FISCO-BCOS-DOC `3.x/zh_CN/docs/design/guomi.md`). The argument encoding is the plain Solidity ABI.
 */
import { AdapterError, type Delivery, deliveryRejected } from "@shandu/adapter-core";
import {
  type CryptoSuite,
  concatBytes,
  encodeMessage,
  fromHex,
  type NativeAttestation,
  NativeKeyScheme,
  type NativeKeySchemeName,
  ShanduError,
  suiteHash,
  toHex,
} from "@shandu/proofs";
import { AbiCoder, isError } from "ethers";

const BATCH_HEADER = "tuple(uint64,uint64,uint64,uint64,bytes32)";
const NATIVE_ATTESTATION = "tuple(uint64,bytes32,bytes,bytes)";

export const INBOX_SIGNATURES = {
  deliver: `deliver(${BATCH_HEADER.slice(5)},${NATIVE_ATTESTATION.slice(5)},bytes[],bytes32[])`,
  isDelivered: "isDelivered(uint64,uint64)",
  lanePaused: "lanePaused(uint64)",
  chainId: "chainId()",
  nextNonce: "nextNonce(uint64)",
  batchDelivered: "BatchDelivered(uint64,bytes32,uint64,bytes)",
  shanduRejected: "ShanduRejected(bytes32)",
  shanduRotationNotAttested: "ShanduRotationNotAttested(bytes32)",
} as const;

const abi = AbiCoder.defaultAbiCoder();
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The 4-byte selector of a function or error signature in the suite's hash. */
export function selector(suite: CryptoSuite, signature: string): Uint8Array {
  return suiteHash(suite, utf8(signature)).subarray(0, 4);
}

/** topic0 of an event signature in the suite's hash. */
export function eventTopic(suite: CryptoSuite, signature: string): Uint8Array {
  return suiteHash(suite, utf8(signature));
}

/** The native scheme an inbox on a chain of `suite` verifies. */
export function nativeSchemeOf(suite: CryptoSuite): NativeKeySchemeName {
  return suite === "sm" ? "sm2" : "secp256k1";
}

function call(suite: CryptoSuite, signature: string, types: string[], values: unknown[]): Uint8Array {
  return concatBytes(selector(suite, signature), fromHex(abi.encode(types, values)));
}

/**
 * Calldata of `deliver(header, nativeAttestation, messages, siblings)`. Throws `DELIVERY_REJECTED`:
 * `NATIVE_ATTESTATION_MISSING`, `NATIVE_SCHEME_MISMATCH`, `PROOF_INDEX_MISMATCH` (a proof whose
 * positions are not the nonce offsets), a codec code for a message that does not encode, or
 * `VALUE_OUT_OF_RANGE`.
 */
export function deliverCalldata(suite: CryptoSuite, d: Delivery): Uint8Array {
  const native = d.nativeAttestation;
  if (!native) {
    throw deliveryRejected("NATIVE_ATTESTATION_MISSING", "deliver: FISCO BCOS inboxes verify native co-signatures and the batch has none", {
      facts: { firstNonce: d.header.firstNonce, lastNonce: d.header.lastNonce },
    });
  }
  if (native.scheme !== nativeSchemeOf(suite)) {
    throw deliveryRejected("NATIVE_SCHEME_MISMATCH", `deliver: a ${suite} chain verifies ${nativeSchemeOf(suite)} co-signatures`, {
      facts: { scheme: native.scheme },
    });
  }
  const h = d.header;
  const size = h.lastNonce - h.firstNonce + 1n;
  const expected = d.messages.map((m) => m.nonce - h.firstNonce);
  if (
    BigInt(d.proof.treeSize) !== size ||
    d.proof.indices.length !== expected.length ||
    d.proof.indices.some((x, i) => BigInt(x) !== expected[i])
  ) {
    throw deliveryRejected("PROOF_INDEX_MISMATCH", "deliver: the proof's positions are not the messages' nonce offsets", {
      facts: { firstNonce: h.firstNonce, lastNonce: h.lastNonce },
    });
  }
  let messages: string[];
  try {
    messages = d.messages.map((m) => toHex(encodeMessage(m)));
  } catch (cause) {
    if (!(cause instanceof ShanduError)) throw cause;
    throw deliveryRejected(cause.code, `deliver: a message does not encode: ${cause.shortMessage}`, { facts: cause.facts, cause });
  }
  try {
    return call(
      suite,
      INBOX_SIGNATURES.deliver,
      [BATCH_HEADER, NATIVE_ATTESTATION, "bytes[]", "bytes32[]"],
      [
        [h.sourceChainId, h.destinationChainId, h.firstNonce, h.lastNonce, toHex(h.root)],
        nativeAttestationArg(native),
        messages,
        d.proof.siblings.map((s) => toHex(s)),
      ],
    );
  } catch (cause) {
    if (isError(cause, "INVALID_ARGUMENT") || isError(cause, "NUMERIC_FAULT")) {
      throw deliveryRejected("VALUE_OUT_OF_RANGE", "deliver: a field does not fit the contract's type", { cause });
    }
    throw cause;
  }
}

/** The attestation as the contract takes it: `(epoch, committeeSetHash, signers, signatures concatenated)`. */
export function nativeAttestationArg(a: NativeAttestation): [bigint, string, string, string] {
  if (!Object.hasOwn(NativeKeyScheme, a.scheme)) throw deliveryRejected("VALUE_OUT_OF_RANGE", "unknown native scheme");
  return [a.epoch, toHex(a.committeeSetHash), toHex(a.signers), toHex(concatBytes(...a.signatures))];
}

export const isDeliveredCalldata = (suite: CryptoSuite, src: bigint, nonce: bigint) =>
  call(suite, INBOX_SIGNATURES.isDelivered, ["uint64", "uint64"], [src, nonce]);
export const lanePausedCalldata = (suite: CryptoSuite, src: bigint) => call(suite, INBOX_SIGNATURES.lanePaused, ["uint64"], [src]);
export const nextNonceCalldata = (suite: CryptoSuite, src: bigint) => call(suite, INBOX_SIGNATURES.nextNonce, ["uint64"], [src]);
export const chainIdCalldata = (suite: CryptoSuite) => call(suite, INBOX_SIGNATURES.chainId, [], []);

/** A view's single bool or uint answer; anything else is the node's fault. */
export function decodeWord(output: Uint8Array, what: string): bigint {
  if (output.length !== 32) {
    throw new AdapterError(
      "RPC_UNAVAILABLE",
      `${what}: the inbox answered ${output.length} bytes, not one word (is the inbox address right?)`,
      {
        facts: { length: output.length },
      },
    );
  }
  return BigInt(toHex(output));
}

/** `ShanduRejected(code)` / `ShanduRotationNotAttested(code)` from revert output, else null. */
export function decodeRejection(suite: CryptoSuite, output: Uint8Array): { rotation: boolean; code: string } | null {
  if (output.length !== 36) return null;
  const sel = toHex(output.subarray(0, 4));
  const rotation = sel === toHex(selector(suite, INBOX_SIGNATURES.shanduRotationNotAttested));
  if (!rotation && sel !== toHex(selector(suite, INBOX_SIGNATURES.shanduRejected))) return null;
  const word = output.subarray(4);
  const end = word.indexOf(0);
  return { rotation, code: new TextDecoder().decode(end < 0 ? word : word.subarray(0, end)) };
}

/** The adapter error for a reverted delivery: `LANE_PAUSED`, or `DELIVERY_REJECTED` with the contract's code. */
export function rejectionOf(suite: CryptoSuite, status: number, output: Uint8Array, facts: Record<string, string | number | bigint>) {
  const r = decodeRejection(suite, output);
  if (!r) {
    return deliveryRejected("REVERTED", `deliver: the transaction failed with FISCO status ${status} and no Shandu error`, {
      facts: { ...facts, status, output: toHex(output) },
    });
  }
  if (r.code === "LANE_PAUSED") return new AdapterError("LANE_PAUSED", "deliver: the lane is paused at the destination", { facts });
  return deliveryRejected(r.code, `deliver: refused by the inbox (${r.code})`, { facts: { ...facts, status } });
}

/** Decodes a `BatchDelivered` log's data: `(fromNonce, outcomes)`. */
export function decodeBatchDelivered(data: Uint8Array): { fromNonce: bigint; outcomes: Uint8Array } {
  const [fromNonce, outcomes] = abi.decode(["uint64", "bytes"], data) as unknown as [bigint, string];
  return { fromNonce, outcomes: fromHex(outcomes) };
}
