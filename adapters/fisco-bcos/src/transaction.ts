/**
 * FISCO BCOS 3.x transactions: the TARS `Transaction { data: TransactionData, dataHash, signature,
 * importTime, attribute, source, sender }` (`bcos-tars-protocol/tars/Transaction.tars`), and the
 * transaction hash, which is computed over a concatenation of the data fields — not over the TARS bytes
 * (`bcos-tars-protocol/bcos-tars-protocol/impl/TarsHashable.h`, `impl_calculate(TransactionData)`):
 *
 * ```
 * H( i32be version ‖ chainID ‖ groupID ‖ i64be blockLimit ‖ nonce ‖ to ‖ input ‖ abi
 *    [version ≥ 1: ‖ value ‖ gasPrice ‖ i64be gasLimit ‖ maxFeePerGas ‖ maxPriorityFeePerGas]
 *    [version ≥ 2: ‖ extension] )
 * ```
 *
 * with H = keccak-256 (ECDSA chains) or SM3 (SM chains), strings as their raw bytes.
 */
import {
  addressOf,
  bytesEqual,
  type CryptoSuite,
  concatBytes,
  decodeTars,
  FiscoError,
  tarsField as field,
  fiscoInt32,
  fiscoInt64,
  fiscoText,
  signerPublicKey,
  signHash,
  suiteHash,
  type TarsStruct,
  TarsWriter,
  toHex,
} from "@shandu/proofs";

export interface TransactionDataV3 {
  version: number;
  chainId: string;
  groupId: string;
  blockLimit: bigint;
  nonce: string;
  /** Contract address as the chain writes it (hex text, "" for a deployment). */
  to: string;
  input: Uint8Array;
  abi: string;
  /** Version ≥ 1. */
  value: string;
  gasPrice: string;
  gasLimit: bigint;
  maxFeePerGas: string;
  maxPriorityFeePerGas: string;
  /** Version ≥ 2. */
  extension: Uint8Array;
}

export interface TransactionV3 {
  data: TransactionDataV3;
  /** The hash the transaction carries (empty when absent). */
  dataHash: Uint8Array;
  signature: Uint8Array;
  importTime: bigint;
  attribute: number;
  source: string;
  /** The sender the transaction carries (often empty: it is recovered). */
  sender: Uint8Array;
}

const enc = new TextEncoder();

function readData(s: TarsStruct): TransactionDataV3 {
  const version = field.int(s, 1, "data.version") ?? 0n;
  if (version < 0n || version > 2n) throw new FiscoError("TARS_MALFORMED", "unknown transaction version", { facts: { version } });
  return {
    version: Number(version),
    chainId: fiscoText(field.bytes(s, 2, "data.chainID")),
    groupId: fiscoText(field.bytes(s, 3, "data.groupID")),
    blockLimit: field.int(s, 4, "data.blockLimit") ?? 0n,
    nonce: fiscoText(field.bytes(s, 5, "data.nonce")),
    to: fiscoText(field.bytes(s, 6, "data.to")),
    input: field.bytes(s, 7, "data.input") ?? new Uint8Array(0),
    abi: fiscoText(field.bytes(s, 8, "data.abi")),
    value: fiscoText(field.bytes(s, 9, "data.value")),
    gasPrice: fiscoText(field.bytes(s, 10, "data.gasPrice")),
    gasLimit: field.int(s, 11, "data.gasLimit") ?? 0n,
    maxFeePerGas: fiscoText(field.bytes(s, 12, "data.maxFeePerGas")),
    maxPriorityFeePerGas: fiscoText(field.bytes(s, 13, "data.maxPriorityFeePerGas")),
    extension: field.bytes(s, 14, "data.extension") ?? new Uint8Array(0),
  };
}

/** Decodes a TARS-encoded 3.x transaction (untrusted bytes). Throws `TARS_MALFORMED` / `FIELD_MISSING`. */
export function decodeTransactionV3(bytes: Uint8Array): TransactionV3 {
  const s = decodeTars(bytes);
  const data = field.struct(s, 1, "data");
  if (!data) throw new FiscoError("FIELD_MISSING", "the transaction has no data", { facts: { field: "data" } });
  return {
    data: readData(data),
    dataHash: field.bytes(s, 2, "dataHash") ?? new Uint8Array(0),
    signature: field.bytes(s, 3, "signature") ?? new Uint8Array(0),
    importTime: field.int(s, 4, "importTime") ?? 0n,
    attribute: Number(field.int(s, 5, "attribute") ?? 0n),
    source: fiscoText(field.bytes(s, 6, "source")),
    sender: field.bytes(s, 7, "sender") ?? new Uint8Array(0),
  };
}

/** The bytes the transaction hash is computed over (see the module docs). */
export function transactionHashInput(d: TransactionDataV3): Uint8Array {
  const parts = [
    fiscoInt32(d.version),
    enc.encode(d.chainId),
    enc.encode(d.groupId),
    fiscoInt64(d.blockLimit),
    enc.encode(d.nonce),
    enc.encode(d.to),
    d.input,
    enc.encode(d.abi),
  ];
  if (d.version >= 1) {
    parts.push(
      enc.encode(d.value),
      enc.encode(d.gasPrice),
      fiscoInt64(d.gasLimit),
      enc.encode(d.maxFeePerGas),
      enc.encode(d.maxPriorityFeePerGas),
    );
  }
  if (d.version >= 2) parts.push(d.extension);
  return concatBytes(...parts);
}

export function transactionHashV3(suite: CryptoSuite, d: TransactionDataV3): Uint8Array {
  return suiteHash(suite, transactionHashInput(d));
}

export interface CheckedTransactionV3 {
  tx: TransactionV3;
  hash: Uint8Array;
  /** 20-byte account that signed it. */
  sender: Uint8Array;
}

/**
 * Decodes, hashes and authenticates a 3.x transaction: the hash is recomputed from the fields (a
 * carried `dataHash` must equal it), the signer is recovered (ECDSA) or verified (SM2), and a carried
 * `sender` must be that signer. Throws `HASH_MISMATCH`, `BAD_SIGNATURE`, `SIGNATURE_MALFORMED` or a
 * decoding code.
 */
export function checkTransactionV3(suite: CryptoSuite, bytes: Uint8Array): CheckedTransactionV3 {
  const tx = decodeTransactionV3(bytes);
  const hash = transactionHashV3(suite, tx.data);
  if (tx.dataHash.length > 0 && !bytesEqual(tx.dataHash, hash)) {
    throw new FiscoError("HASH_MISMATCH", "the transaction's dataHash is not the hash of its fields", {
      facts: { carried: toHex(tx.dataHash), computed: toHex(hash) },
    });
  }
  const sender = addressOf(suite, signerPublicKey(suite, hash, tx.signature));
  if (tx.sender.length > 0 && !bytesEqual(tx.sender, sender)) {
    throw new FiscoError("BAD_SIGNATURE", "the transaction's sender field is not its signer", {
      facts: { carried: toHex(tx.sender), signer: toHex(sender) },
    });
  }
  return { tx, hash, sender };
}

/**
 * The TARS encoding of a transaction, as FISCO BCOS's SDKs write it: empty strings, empty byte vectors
 * and zero integers of optional fields are left out, and the fields of a higher version only appear
 * when the version has them.
 */
export function encodeTransactionV3(tx: TransactionV3): Uint8Array {
  const w = new TarsWriter();
  const str = (tag: number, v: string) => {
    if (v !== "") w.string(tag, enc.encode(v));
  };
  w.struct(1, () => {
    const d = tx.data;
    w.int(1, BigInt(d.version));
    w.string(2, enc.encode(d.chainId));
    w.string(3, enc.encode(d.groupId));
    w.int(4, d.blockLimit);
    w.string(5, enc.encode(d.nonce));
    str(6, d.to);
    w.bytes(7, d.input);
    str(8, d.abi);
    if (d.version >= 1) {
      str(9, d.value);
      str(10, d.gasPrice);
      if (d.gasLimit !== 0n) w.int(11, d.gasLimit);
      str(12, d.maxFeePerGas);
      str(13, d.maxPriorityFeePerGas);
    }
    if (d.version >= 2 && d.extension.length > 0) w.bytes(14, d.extension);
  });
  if (tx.dataHash.length > 0) w.bytes(2, tx.dataHash);
  if (tx.signature.length > 0) w.bytes(3, tx.signature);
  if (tx.importTime !== 0n) w.int(4, tx.importTime);
  if (tx.attribute !== 0) w.int(5, BigInt(tx.attribute));
  str(6, tx.source);
  if (tx.sender.length > 0) w.bytes(7, tx.sender);
  return w.finish();
}

/**
 * The data of a version-0 transaction: the fields version 0 has, with the later versions' fields empty
 * (what `encodeTransactionV3` leaves out for version 0).
 */
export function transactionDataV0(f: {
  chainId: string;
  groupId: string;
  blockLimit: bigint;
  nonce: string;
  /** Hex address without 0x; "" deploys `input` as a contract. */
  to: string;
  input: Uint8Array;
}): TransactionDataV3 {
  return {
    version: 0,
    ...f,
    abi: "",
    value: "",
    gasPrice: "",
    gasLimit: 0n,
    maxFeePerGas: "",
    maxPriorityFeePerGas: "",
    extension: new Uint8Array(0),
  };
}

/** A signed transaction of `data`: its hash as `dataHash`, the suite's signature by `secretKey`. */
export function signTransactionV3(suite: CryptoSuite, data: TransactionDataV3, secretKey: Uint8Array): TransactionV3 {
  const hash = transactionHashV3(suite, data);
  return {
    data,
    dataHash: hash,
    signature: signHash(suite, hash, secretKey),
    importTime: 0n,
    attribute: 0,
    source: "",
    sender: new Uint8Array(0),
  };
}
