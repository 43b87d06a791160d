/**
 * The one hash of the protocol: SHA-256 (FIPS 180-4).
 *
 * Why SHA-256 and not keccak-256: on FISCO BCOS national-cryptography (SM) chains the EVM's KECCAK256
 * opcode computes SM3, so a keccak-based id would differ between chains; the SHA-256 precompile (0x02)
 * is SHA-256 on every EVM, Fabric chaincode has it natively, and BLS hash-to-curve already uses it.
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { concatBytes, utf8 } from "./bytes.ts";

/**
 * Where Node's one-shot `crypto.hash` exists it is used (about 2× faster than pure JS above a block);
 * elsewhere — browsers, auditors' sandboxes — the audited pure-JS implementation. Both compute FIPS 180-4
 * SHA-256; a test checks they agree.
 */
type NodeCrypto = { hash(algorithm: string, data: Uint8Array, encoding: "buffer"): Uint8Array };
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
  "node:crypto",
) as NodeCrypto | undefined;

function nodeSha256(data: Uint8Array): Uint8Array {
  const b = (nodeCrypto as NodeCrypto).hash("sha256", data, "buffer");
  // A plain Uint8Array view, so results compare equal to the pure-JS ones.
  return new Uint8Array(b.buffer, b.byteOffset, 32);
}

export const sha256: (data: Uint8Array) => Uint8Array = typeof nodeCrypto?.hash === "function" ? nodeSha256 : (d) => nobleSha256(d);

/** The pure-JS implementation, always available (for cross-checks). */
export function sha256PureJs(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** SHA-256 over the concatenation of `parts` (no separators: callers use fixed-width fields). */
export function sha256Concat(...parts: Uint8Array[]): Uint8Array {
  return sha256(concatBytes(...parts));
}

/** ASCII domain tags. Each signed or hashed structure has its own, so no bytes can mean two things. */
export const DOMAIN = {
  message: utf8("SHANDU-MSG-v1"),
  attest: utf8("SHANDU-ATTEST-v1"),
  committee: utf8("SHANDU-COMMITTEE-v1"),
  rotate: utf8("SHANDU-ROTATE-v1"),
  native: utf8("SHANDU-NATIVE-v1"),
} as const;
