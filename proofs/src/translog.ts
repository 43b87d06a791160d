/**
 * The gateway's transparency log, as an auditor checks it: an append-only Merkle log of attested
 * batches (Certificate-Transparency style, RFC 6962 §2.1 / RFC 9162 §2.1) whose tree heads the gateway
 * signs with an Ed25519 key. An auditor who keeps the heads it has seen can prove the log was only ever
 * appended to (consistency proofs), and that each batch it holds a bundle of is in the log (inclusion
 * proofs). A gateway that shows two auditors different histories signs two inconsistent heads: that pair
 * is the evidence.
 *
 * Maths (RFC 6962 §2.1): leaf hash `SHA-256(0x00 ‖ data)`, interior node `SHA-256(0x01 ‖ left ‖ right)`;
 * the tree over n leaves splits at k, the largest power of two below n; the empty tree's hash is
 * `SHA-256("")`. Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency).
 *
 * Trust: every proof, hash and head handed to these functions is untrusted; the only trusted input is
 * the log's public key, which the auditor obtained out of band.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { type Attestation, type BatchHeader, batchSize, encodeAttestation } from "./attestation.ts";
import { ByteWriter, bytesEqual, concatBytes, U64_MAX, utf8 } from "./bytes.ts";
import { CodecError, TranslogError } from "./errors.ts";
import { sha256 } from "./hash.ts";

const LEAF_PREFIX = Uint8Array.of(0);
const NODE_PREFIX = Uint8Array.of(1);
const LEAF_TAG = utf8("SHANDU-TLOG-LEAF-v1");
const STH_TAG = utf8("SHANDU-TLOG-STH-v1");

/** RFC 6962 §2.1 leaf hash `SHA-256(0x00 ‖ data)`; the prefix keeps a leaf from ever equalling a node. */
export function leafHash(data: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF_PREFIX, data));
}

/** RFC 6962 §2.1 interior node hash `SHA-256(0x01 ‖ left ‖ right)`. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE_PREFIX, left, right));
}

/** The hash of the empty log, `SHA-256("")` (RFC 6962 §2.1). */
export const EMPTY_LOG_ROOT: Uint8Array = sha256(new Uint8Array(0));

/**
 * The log entry of an attested batch: `"SHANDU-TLOG-LEAF-v1" ‖ u64 source ‖ u64 destination ‖
 * u64 firstNonce ‖ u64 lastNonce ‖ root (32) ‖ encodeAttestation(attestation)`, integers big-endian.
 * Throws `AttestationError` `NONCE_RANGE_INVALID` for fields that are not u64 or an invalid nonce range,
 * {@link TranslogError} `BAD_HASH_LENGTH` for a root that is not 32 bytes, and whatever
 * `encodeAttestation` throws for a malformed attestation — never silently wrapped or truncated bytes.
 */
export function logLeafData(header: BatchHeader, attestation: Attestation): Uint8Array {
  batchSize(header);
  checkHash(header.root, "batch root");
  return new ByteWriter(256)
    .bytes(LEAF_TAG)
    .u64(header.sourceChainId)
    .u64(header.destinationChainId)
    .u64(header.firstNonce)
    .u64(header.lastNonce)
    .bytes(header.root)
    .bytes(encodeAttestation(attestation))
    .finish();
}

function checkHash(h: Uint8Array, what: string): void {
  if (!(h instanceof Uint8Array) || h.length !== 32)
    throw new TranslogError("BAD_HASH_LENGTH", `${what} must be 32 bytes`, { facts: { what } });
}

/**
 * The Merkle tree hash over `leafHashes` (RFC 6962 §2.1 MTH), straight from the definition: O(n) hashes.
 * The caller supplies leaf hashes, not leaf data.
 */
export function logRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return EMPTY_LOG_ROOT;
  const mth = (a: number, b: number): Uint8Array => {
    if (b - a === 1) return leafHashes[a]!;
    let k = 1;
    while (k * 2 < b - a) k *= 2;
    return nodeHash(mth(a, a + k), mth(a + k, b));
  };
  return mth(0, leafHashes.length);
}

/**
 * Checks that `leaf` (a leaf hash) is leaf `index` of the log of `treeSize` leaves with root `root`,
 * given the audit path (RFC 6962 §2.1.1 PATH), by the algorithm of RFC 9162 §2.1.3.2. All inputs are
 * untrusted. Throws {@link TranslogError} `BAD_HASH_LENGTH`, `INDEX_OUT_OF_RANGE` (index not in
 * [0, treeSize)) or `INCLUSION_FAILED` (path too long, too short or not leading to `root`).
 */
export function verifyInclusion(leaf: Uint8Array, index: bigint, treeSize: bigint, path: readonly Uint8Array[], root: Uint8Array): void {
  checkHash(leaf, "leaf hash");
  checkHash(root, "root");
  for (const p of path) checkHash(p, "path element");
  if (index < 0n || index >= treeSize) {
    throw new TranslogError("INDEX_OUT_OF_RANGE", "leaf index is not below the tree size", { facts: { index, treeSize } });
  }
  let fn = index;
  let sn = treeSize - 1n;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) throw new TranslogError("INCLUSION_FAILED", "audit path is longer than the tree allows", { facts: { index, treeSize } });
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n || !bytesEqual(r, root)) {
    throw new TranslogError("INCLUSION_FAILED", "the audit path does not lead from the leaf to the root", { facts: { index, treeSize } });
  }
}

/**
 * Checks that the log of `newSize` leaves (root `newRoot`) extends the log of `oldSize` leaves (root
 * `oldRoot`), given the proof (RFC 6962 §2.1.2 PROOF), by the algorithm of RFC 9162 §2.1.4.2. Equal sizes
 * need an empty proof and equal roots; the empty log (size 0, root `SHA-256("")`) is a prefix of every
 * log and needs an empty proof. All inputs are untrusted. Throws {@link TranslogError} `BAD_HASH_LENGTH`
 * or `CONSISTENCY_FAILED`.
 */
export function verifyConsistency(
  oldSize: bigint,
  newSize: bigint,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  checkHash(oldRoot, "old root");
  checkHash(newRoot, "new root");
  for (const p of proof) checkHash(p, "proof element");
  const fail = (why: string) =>
    new TranslogError("CONSISTENCY_FAILED", `the logs are not consistent: ${why}`, { facts: { oldSize, newSize } });
  if (oldSize < 0n || oldSize > newSize) throw fail("the old size exceeds the new one");
  if (oldSize === newSize) {
    if (proof.length !== 0) throw fail("a proof between equal sizes must be empty");
    if (!bytesEqual(oldRoot, newRoot)) throw fail("equal sizes with different roots");
    return;
  }
  if (oldSize === 0n) {
    if (proof.length !== 0) throw fail("a proof from the empty log must be empty");
    // RFC 9162 leaves the old root of an empty log unchecked; a head that claims size 0 with another
    // root is not a head of this log, so it is refused rather than silently accepted.
    if (!bytesEqual(oldRoot, EMPTY_LOG_ROOT)) throw fail("the empty log's root is SHA-256 of the empty string");
    return;
  }
  // RFC 9162 §2.1.4.2 step 2: when the old tree is a perfect subtree its root is the proof's first node.
  const c = (oldSize & (oldSize - 1n)) === 0n ? [oldRoot, ...proof] : [...proof];
  if (c.length === 0) throw fail("empty proof");
  let fn = oldSize - 1n;
  let sn = newSize - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = c[0]!;
  let sr = c[0]!;
  for (const x of c.slice(1)) {
    if (sn === 0n) throw fail("the proof is longer than the trees allow");
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(x, fr);
      sr = nodeHash(x, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = nodeHash(sr, x);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw fail("the proof is shorter than the trees need");
  if (!bytesEqual(fr, oldRoot)) throw fail("the proof does not rebuild the old root");
  if (!bytesEqual(sr, newRoot)) throw fail("the proof does not rebuild the new root");
}

export interface TreeHead {
  treeSize: bigint;
  rootHash: Uint8Array;
  /** Milliseconds since the Unix epoch. */
  timestampMs: bigint;
}

export interface SignedTreeHeadFields extends TreeHead {
  /** 64-byte Ed25519 signature over {@link treeHeadBytes}. */
  signature: Uint8Array;
  /** The log's 32-byte Ed25519 public key, as the head claims it. */
  publicKey: Uint8Array;
}

/**
 * The signed bytes: `"SHANDU-TLOG-STH-v1" ‖ u64 treeSize ‖ u64 timestampMs ‖ rootHash (32)`, integers
 * big-endian. Throws {@link TranslogError} `BAD_HASH_LENGTH` or `CodecError` `VALUE_OUT_OF_RANGE` (a size
 * or time that is not a u64).
 */
export function treeHeadBytes(h: TreeHead): Uint8Array {
  checkHash(h.rootHash, "root hash");
  for (const [field, v] of [
    ["treeSize", h.treeSize],
    ["timestampMs", h.timestampMs],
  ] as const) {
    if (typeof v !== "bigint" || v < 0n || v > U64_MAX) {
      throw new CodecError("VALUE_OUT_OF_RANGE", `tree head ${field} must be a u64`, { facts: { field } });
    }
  }
  return new ByteWriter(64).bytes(STH_TAG).u64(h.treeSize).u64(h.timestampMs).bytes(h.rootHash).finish();
}

function checkSecretKey(secretKey: Uint8Array): void {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    throw new CodecError("BAD_LENGTH", "an Ed25519 log secret key is 32 bytes", { facts: { field: "secretKey" } });
  }
}

/**
 * Signs a tree head with the log's 32-byte Ed25519 secret key (RFC 8032; 64-byte signature). Trusted
 * input: the gateway's own head. Throws `CodecError` `BAD_LENGTH` for a key that is not 32 bytes, and
 * what {@link treeHeadBytes} throws.
 */
export function signTreeHead(secretKey: Uint8Array, h: TreeHead): Uint8Array {
  checkSecretKey(secretKey);
  return ed25519.sign(treeHeadBytes(h), secretKey);
}

/** The 32-byte Ed25519 public key of a log secret key. Throws `CodecError` `BAD_LENGTH`. */
export function logPublicKey(secretKey: Uint8Array): Uint8Array {
  checkSecretKey(secretKey);
  return ed25519.getPublicKey(secretKey);
}

/**
 * Checks a signed tree head against the log key the auditor trusts. The head is untrusted;
 * `trustedPublicKey` is the only trusted input. Verification is strict RFC 8032 (no ZIP-215 leniency), so
 * one head has one valid encoding of its key. Throws {@link TranslogError} `UNTRUSTED_LOG_KEY` (the head
 * names another key), `BAD_HASH_LENGTH`, `BAD_TREE_HEAD_SIGNATURE` (including a size or time that is not
 * a u64, which no honest log signs).
 */
export function verifyTreeHead(sth: SignedTreeHeadFields, trustedPublicKey: Uint8Array): void {
  if (!bytesEqual(sth.publicKey, trustedPublicKey)) {
    throw new TranslogError("UNTRUSTED_LOG_KEY", "the tree head is signed by a key other than the trusted log key");
  }
  checkHash(sth.rootHash, "root hash");
  let ok = false;
  try {
    ok = sth.signature.length === 64 && ed25519.verify(sth.signature, treeHeadBytes(sth), trustedPublicKey, { zip215: false });
  } catch {
    ok = false;
  }
  if (!ok)
    throw new TranslogError("BAD_TREE_HEAD_SIGNATURE", "the tree head signature does not verify", { facts: { treeSize: sth.treeSize } });
}
