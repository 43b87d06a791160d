/**
 * FISCO BCOS 2.x transactions: RLP lists
 * `[randomid, gasPrice, gasLimit, blockLimit, to, value, data, chainId, groupId, extraData, …signature]`
 * (FISCO-BCOS master-2.0 `libethcore/Transaction.cpp`). The signature fields are `v, r, s` on ECDSA
 * chains and `publicKey(64), r, s` on SM chains. The signing hash is H over the RLP of the first ten
 * fields; the transaction hash is H over the whole encoding (H = keccak-256 or SM3).
 */
import { addressOf, type CryptoSuite, FiscoError, type RlpItem, rlpDecode, rlpEncode, signerPublicKey, suiteHash } from "@shandu/proofs";

export interface TransactionV2 {
  randomId: bigint;
  gasPrice: bigint;
  gasLimit: bigint;
  blockLimit: bigint;
  /** 20 bytes, or empty for a deployment. */
  to: Uint8Array;
  value: bigint;
  data: Uint8Array;
  chainId: bigint;
  groupId: bigint;
  extraData: Uint8Array;
  /** ECDSA: r ‖ s ‖ v (v normalised to 0/1); SM: r ‖ s ‖ publicKey. */
  signature: Uint8Array;
}

export interface CheckedTransactionV2 {
  tx: TransactionV2;
  /** Transaction hash: H(encoding). */
  hash: Uint8Array;
  /** What was signed: H(rlp(first ten fields)). */
  signingHash: Uint8Array;
  sender: Uint8Array;
}

const big = (b: Uint8Array) => b.reduce((v, x) => (v << 8n) | BigInt(x), 0n);

function pad32(b: Uint8Array, what: string): Uint8Array {
  if (b.length > 32) throw new FiscoError("RLP_MALFORMED", `${what} is longer than 32 bytes`);
  const out = new Uint8Array(32);
  out.set(b, 32 - b.length);
  return out;
}

/** Decodes and authenticates a 2.x transaction. Throws `RLP_MALFORMED`, `SIGNATURE_MALFORMED`, `BAD_SIGNATURE`. */
export function checkTransactionV2(suite: CryptoSuite, bytes: Uint8Array): CheckedTransactionV2 {
  let items: RlpItem;
  try {
    items = rlpDecode(bytes);
  } catch (cause) {
    throw new FiscoError("RLP_MALFORMED", "not RLP", { cause });
  }
  if (!Array.isArray(items) || items.length !== 13 || items.some((x) => !(x instanceof Uint8Array))) {
    throw new FiscoError("RLP_MALFORMED", "a 2.x transaction is a list of 13 byte strings", {
      facts: { items: Array.isArray(items) ? items.length : -1 },
    });
  }
  const f = items as Uint8Array[];
  const [randomId, gasPrice, gasLimit, blockLimit, to, value, data, chainId, groupId, extraData, s0, r, s] = f as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ];
  if (to.length !== 0 && to.length !== 20)
    throw new FiscoError("RLP_MALFORMED", "`to` is 20 bytes or empty", { facts: { length: to.length } });
  let signature: Uint8Array;
  if (suite === "sm") {
    if (s0.length !== 64)
      throw new FiscoError("SIGNATURE_MALFORMED", "an SM 2.x transaction carries its 64-byte public key", { facts: { length: s0.length } });
    signature = new Uint8Array(128);
    signature.set(pad32(r, "r"), 0);
    signature.set(pad32(s, "s"), 32);
    signature.set(s0, 64);
  } else {
    const v = Number(big(s0));
    signature = new Uint8Array(65);
    signature.set(pad32(r, "r"), 0);
    signature.set(pad32(s, "s"), 32);
    signature[64] = v >= 27 ? v - 27 : v;
  }
  const signingHash = suiteHash(suite, rlpEncode(f.slice(0, 10)));
  const sender = addressOf(suite, signerPublicKey(suite, signingHash, signature));
  return {
    tx: {
      randomId: big(randomId),
      gasPrice: big(gasPrice),
      gasLimit: big(gasLimit),
      blockLimit: big(blockLimit),
      to,
      value: big(value),
      data,
      chainId: big(chainId),
      groupId: big(groupId),
      extraData,
      signature,
    },
    hash: suiteHash(suite, bytes),
    signingHash,
    sender,
  };
}
