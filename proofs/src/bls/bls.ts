/**
 * The BLS layer the rest of Shandu calls: one backend plus the policy checks no backend makes on its
 * own — non-empty signer sets, no duplicate signers, batch verification with a one-by-one fallback that
 * names the bad sets. Get one with {@link loadBls}.
 */
import { toHex } from "../bytes.ts";
import { BlsError } from "../errors.ts";
import type { BlsBackend, BlsBackendName, BlsPublicKey, SignatureSet } from "./interface.ts";
import { nobleBackend } from "./noble.ts";

export interface BatchVerifyResult {
  ok: boolean;
  /** Indices of the sets that failed (empty when `ok`). */
  invalid: number[];
}

export class Bls {
  readonly backend: BlsBackend;

  constructor(backend: BlsBackend) {
    this.backend = backend;
  }

  get name(): BlsBackendName {
    return this.backend.name;
  }

  /** Decodes and validates a key (curve, subgroup, not infinity). Throws {@link BlsError}. */
  publicKey(bytes: Uint8Array): BlsPublicKey {
    return this.backend.publicKeyFromBytes(bytes);
  }

  publicKeyOf(secretKey: Uint8Array): Uint8Array {
    return this.backend.publicKeyOf(secretKey);
  }

  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
    return this.backend.sign(secretKey, message);
  }

  /** `false` for a wrong signature; throws {@link BlsError} for an invalid or infinity signature encoding. */
  verify(publicKey: BlsPublicKey, message: Uint8Array, signature: Uint8Array): boolean {
    return this.backend.verify(publicKey, message, signature);
  }

  /**
   * Same-message aggregate verification. Only sound for keys whose proof of possession was verified
   * (committee members are checked when the committee is built). Throws `EMPTY_SIGNER_SET` and
   * `DUPLICATE_SIGNER`.
   */
  fastAggregateVerify(publicKeys: readonly BlsPublicKey[], message: Uint8Array, signature: Uint8Array): boolean {
    checkSigners(publicKeys);
    return this.backend.fastAggregateVerify(publicKeys, message, signature);
  }

  /**
   * One aggregate signature over distinct messages (`messages[i]` signed by `publicKeys[i]`). Distinct
   * messages make it safe without proofs of possession. Throws `EMPTY_SIGNER_SET`, `DUPLICATE_SIGNER`, and
   * `INVALID_SIGNATURE` when the counts differ or two messages are equal.
   */
  aggregateVerify(publicKeys: readonly BlsPublicKey[], messages: readonly Uint8Array[], signature: Uint8Array): boolean {
    checkSigners(publicKeys);
    if (messages.length !== publicKeys.length) {
      throw new BlsError("INVALID_SIGNATURE", "one message per public key", {
        facts: { keys: publicKeys.length, messages: messages.length },
      });
    }
    const seen = new Set<string>();
    for (const m of messages) {
      const k = toHex(m);
      if (seen.has(k)) throw new BlsError("INVALID_SIGNATURE", "aggregate verification needs distinct messages");
      seen.add(k);
    }
    return this.backend.aggregateVerify(publicKeys, messages, signature);
  }

  /**
   * Verifies many independent (key, message, signature) sets in one randomised check; when that fails,
   * checks each set on its own to say which ones are bad. Malformed signatures count as invalid sets.
   */
  verifySignatureSets(sets: readonly SignatureSet[]): BatchVerifyResult {
    return batchThenEach(
      sets.length,
      () => this.backend.verifySignatureSets(sets),
      (i) => this.backend.verify(sets[i]!.publicKey, sets[i]!.message, sets[i]!.signature),
    );
  }

  /** Sum of signatures. Throws `EMPTY_SIGNER_SET`, or {@link BlsError} for an invalid input signature. */
  aggregateSignatures(signatures: readonly Uint8Array[]): Uint8Array {
    if (signatures.length === 0) throw new BlsError("EMPTY_SIGNER_SET", "cannot aggregate zero signatures");
    return this.backend.aggregateSignatures(signatures);
  }

  aggregatePublicKeys(publicKeys: readonly BlsPublicKey[]): Uint8Array {
    checkSigners(publicKeys);
    return this.backend.aggregatePublicKeys(publicKeys);
  }

  /** Proof of possession: a signature over the compressed public key under the POP tag. */
  provePossession(secretKey: Uint8Array): Uint8Array {
    return this.backend.provePossession(secretKey);
  }

  /**
   * Checks many proofs of possession at once (one randomised multi-pairing), and one by one when that
   * fails, to name the bad ones. Malformed proofs count as invalid.
   */
  verifyPossessions(items: readonly { publicKey: BlsPublicKey; proof: Uint8Array }[]): BatchVerifyResult {
    return batchThenEach(
      items.length,
      () => this.backend.verifyPossessions(items),
      (i) => this.backend.verifyPossession(items[i]!.publicKey, items[i]!.proof),
    );
  }

  /** `false` for a wrong proof; throws {@link BlsError} for an invalid proof encoding. */
  verifyPossession(publicKey: BlsPublicKey, proof: Uint8Array): boolean {
    return this.backend.verifyPossession(publicKey, proof);
  }
}

/**
 * One batched check of `n` items; when it fails (or a malformed item makes it throw), each item on its
 * own, so the result names the bad ones. A malformed item counts as invalid.
 */
function batchThenEach(n: number, batch: () => boolean, one: (i: number) => boolean): BatchVerifyResult {
  if (n === 0) throw new BlsError("EMPTY_SIGNER_SET", "nothing to verify");
  try {
    if (n > 1 && batch()) return { ok: true, invalid: [] };
  } catch (e) {
    if (!(e instanceof BlsError)) throw e;
  }
  const invalid: number[] = [];
  for (let i = 0; i < n; i++) {
    let good = false;
    try {
      good = one(i);
    } catch (e) {
      if (!(e instanceof BlsError)) throw e;
    }
    if (!good) invalid.push(i);
  }
  return { ok: invalid.length === 0, invalid };
}

function checkSigners(publicKeys: readonly BlsPublicKey[]): void {
  if (publicKeys.length === 0) throw new BlsError("EMPTY_SIGNER_SET", "the signer set is empty");
  const seen = new Set<string>();
  for (const k of publicKeys) {
    if (seen.has(k.hex))
      throw new BlsError("DUPLICATE_SIGNER", "the same public key appears twice", { facts: { publicKey: `0x${k.hex}` } });
    seen.add(k.hex);
  }
}

/** The pure-JS layer, available everywhere synchronously. */
export const nobleBls: Bls = new Bls(nobleBackend);

let nativeBls: Promise<Bls> | undefined;

/**
 * Loads the requested backend. `"auto"` (default) prefers the native blst backend and falls back to the
 * pure-JS one where the native module cannot load; `"blst"` throws `BACKEND_UNAVAILABLE` instead of
 * falling back.
 */
export async function loadBls(preference: BlsBackendName | "auto" = "auto"): Promise<Bls> {
  if (preference === "noble") return nobleBls;
  nativeBls ??= import("./blst.ts").then((m) => new Bls(m.blstBackend));
  try {
    return await nativeBls;
  } catch (cause) {
    nativeBls = undefined;
    if (preference === "blst") {
      throw new BlsError("BACKEND_UNAVAILABLE", "the native blst backend could not be loaded", { cause, disposition: "retry" });
    }
    return nobleBls;
  }
}
