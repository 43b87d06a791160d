/**
 * FISCO BCOS 3.x receipts and block headers (`bcos-tars-protocol/tars/TransactionReceipt.tars`,
 * `Block.tars`) and their hashes, which — like the transaction hash — are over a concatenation of fields,
 * not the TARS bytes (`bcos-tars-protocol/bcos-tars-protocol/impl/TarsHashable.h`):
 *
 * ```
 * receipt = H( i32be version ‖ gasUsed ‖ contractAddress ‖ i32be status ‖ output
 *              [version ≥ 1: ‖ effectiveGasPrice] ‖ for each log: address ‖ topics… ‖ data
 *              ‖ i64be blockNumber )
 * header  = H( i32be version ‖ for each parent: i64be number ‖ hash ‖ txsRoot ‖ receiptRoot ‖ stateRoot
 *              ‖ i64be number ‖ gasUsed ‖ i64be timestamp ‖ i64be sealer ‖ sealerList…
 *              ‖ extraData ‖ for each consensus weight: i64be weight )
 * ```
 *
 * A committed block carries the PBFT sealers' signatures over the header hash (`signatureList`, each
 * naming the sealer by its index in `sealerList`). {@link checkSealerQuorum} accepts a header only when
 * its sealer list is the one the verifier trusts and sealers holding a quorum — total weight minus the
 * faults PBFT tolerates, `⌊(total − 1) / 3⌋` — signed it.
 */
import { bytesEqual, concatBytes, fromHex, toHex } from "../bytes.ts";
import { FiscoError } from "../errors.ts";
import { type CryptoSuite, signerPublicKey, sm2Verify, suiteHash } from "./crypto.ts";
import { fiscoInt32, fiscoInt64, fiscoText } from "./fields.ts";
import { decodeTars, field, type TarsStruct, type TarsValue, TarsWriter } from "./tars.ts";

const enc = new TextEncoder();

function asStruct(v: TarsValue, what: string): TarsStruct {
  if (!(v instanceof Map)) throw new FiscoError("TARS_MALFORMED", `TARS: ${what} is not a struct`, { facts: { field: what } });
  return v;
}

function asBytes(v: TarsValue, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new FiscoError("TARS_MALFORMED", `TARS: ${what} is not bytes`, { facts: { field: what } });
  return v;
}

function asInt(v: TarsValue, what: string): bigint {
  if (typeof v !== "bigint") throw new FiscoError("TARS_MALFORMED", `TARS: ${what} is not an integer`, { facts: { field: what } });
  return v;
}

/** A log's address as FISCO writes it (hex text, `0x` optional) as 20 bytes, or `null` if it is not one. */
export function fiscoLogAddress(text: string): Uint8Array | null {
  if (!/^(0x)?[0-9a-fA-F]{40}$/.test(text)) return null;
  return fromHex(text.startsWith("0x") ? text : `0x${text}`, 20);
}

export interface FiscoLogEntry {
  /** Contract address as the chain writes it (hex text). */
  address: string;
  topics: Uint8Array[];
  data: Uint8Array;
}

export interface FiscoReceiptData {
  version: number;
  gasUsed: string;
  contractAddress: string;
  status: number;
  output: Uint8Array;
  logs: FiscoLogEntry[];
  blockNumber: bigint;
  effectiveGasPrice: string;
}

export function decodeFiscoReceipt(bytes: Uint8Array): { data: FiscoReceiptData; dataHash: Uint8Array } {
  const s = decodeTars(bytes);
  const d = field.struct(s, 1, "receipt.data");
  if (!d) throw new FiscoError("FIELD_MISSING", "the receipt has no data", { facts: { field: "data" } });
  const logs = field.list(d, 6, "receipt.logEntries").map((v, i) => {
    const l = asStruct(v, `logEntries.${i}`);
    return {
      address: fiscoText(field.bytes(l, 1, "log.address")),
      topics: field.list(l, 2, "log.topic").map((t, j) => asBytes(t, `logEntries.${i}.topic.${j}`)),
      data: field.bytes(l, 3, "log.data") ?? new Uint8Array(0),
    };
  });
  return {
    data: {
      version: Number(field.int(d, 1, "receipt.version") ?? 0n),
      gasUsed: fiscoText(field.bytes(d, 2, "receipt.gasUsed")),
      contractAddress: fiscoText(field.bytes(d, 3, "receipt.contractAddress")),
      status: Number(field.int(d, 4, "receipt.status") ?? 0n),
      output: field.bytes(d, 5, "receipt.output") ?? new Uint8Array(0),
      logs,
      blockNumber: field.int(d, 7, "receipt.blockNumber") ?? 0n,
      effectiveGasPrice: fiscoText(field.bytes(d, 8, "receipt.effectiveGasPrice")),
    },
    dataHash: field.bytes(s, 2, "receipt.dataHash") ?? new Uint8Array(0),
  };
}

export function encodeFiscoReceipt(d: FiscoReceiptData, dataHash?: Uint8Array): Uint8Array {
  const w = new TarsWriter().struct(1, (w) => {
    w.int(1, BigInt(d.version));
    if (d.gasUsed) w.string(2, enc.encode(d.gasUsed));
    if (d.contractAddress) w.string(3, enc.encode(d.contractAddress));
    if (d.status !== 0) w.int(4, BigInt(d.status));
    if (d.output.length) w.bytes(5, d.output);
    if (d.logs.length)
      w.list(6, d.logs, (w, l) =>
        w.struct(0, (w) => {
          if (l.address) w.string(1, enc.encode(l.address));
          if (l.topics.length) w.list(2, l.topics, (w, t) => w.bytes(0, t));
          if (l.data.length) w.bytes(3, l.data);
        }),
      );
    if (d.blockNumber !== 0n) w.int(7, d.blockNumber);
    if (d.effectiveGasPrice) w.string(8, enc.encode(d.effectiveGasPrice));
  });
  if (dataHash?.length) w.bytes(2, dataHash);
  return w.finish();
}

export function fiscoReceiptHash(suite: CryptoSuite, d: FiscoReceiptData): Uint8Array {
  const parts = [fiscoInt32(d.version), enc.encode(d.gasUsed), enc.encode(d.contractAddress), fiscoInt32(d.status), d.output];
  if (d.version >= 1) parts.push(enc.encode(d.effectiveGasPrice));
  for (const l of d.logs) parts.push(enc.encode(l.address), ...l.topics, l.data);
  parts.push(fiscoInt64(d.blockNumber));
  return suiteHash(suite, concatBytes(...parts));
}

export interface FiscoHeaderData {
  version: number;
  parents: { blockNumber: bigint; blockHash: Uint8Array }[];
  txsRoot: Uint8Array;
  receiptRoot: Uint8Array;
  stateRoot: Uint8Array;
  blockNumber: bigint;
  gasUsed: string;
  timestamp: bigint;
  sealer: bigint;
  /** Node ids: 64-byte public keys. */
  sealerList: Uint8Array[];
  extraData: Uint8Array;
  consensusWeights: bigint[];
}

export interface FiscoHeader {
  data: FiscoHeaderData;
  dataHash: Uint8Array;
  signatures: { sealerIndex: bigint; signature: Uint8Array }[];
}

export function decodeFiscoHeader(bytes: Uint8Array): FiscoHeader {
  const s = decodeTars(bytes);
  const d = field.struct(s, 1, "header.data");
  if (!d) throw new FiscoError("FIELD_MISSING", "the header has no data", { facts: { field: "data" } });
  return {
    data: {
      version: Number(field.int(d, 2, "header.version") ?? 0n),
      parents: field.list(d, 3, "header.parentInfo").map((v, i) => {
        const p = asStruct(v, `parentInfo.${i}`);
        return {
          blockNumber: field.int(p, 1, "parent.blockNumber") ?? 0n,
          blockHash: field.bytes(p, 2, "parent.blockHash") ?? new Uint8Array(0),
        };
      }),
      txsRoot: field.bytes(d, 4, "header.txsRoot") ?? new Uint8Array(0),
      receiptRoot: field.bytes(d, 5, "header.receiptRoot") ?? new Uint8Array(0),
      stateRoot: field.bytes(d, 6, "header.stateRoot") ?? new Uint8Array(0),
      blockNumber: field.int(d, 7, "header.blockNumber") ?? 0n,
      gasUsed: fiscoText(field.bytes(d, 8, "header.gasUsed")),
      timestamp: field.int(d, 9, "header.timestamp") ?? 0n,
      sealer: field.int(d, 10, "header.sealer") ?? 0n,
      sealerList: field.list(d, 11, "header.sealerList").map((v, i) => asBytes(v, `sealerList.${i}`)),
      extraData: field.bytes(d, 12, "header.extraData") ?? new Uint8Array(0),
      consensusWeights: field.list(d, 13, "header.consensusWeights").map((v, i) => asInt(v, `consensusWeights.${i}`)),
    },
    dataHash: field.bytes(s, 2, "header.dataHash") ?? new Uint8Array(0),
    signatures: field.list(s, 3, "header.signatureList").map((v, i) => {
      const g = asStruct(v, `signatureList.${i}`);
      return {
        sealerIndex: field.int(g, 1, "signature.sealerIndex") ?? 0n,
        signature: field.bytes(g, 2, "signature.signature") ?? new Uint8Array(0),
      };
    }),
  };
}

export function encodeFiscoHeader(h: FiscoHeader): Uint8Array {
  const d = h.data;
  const w = new TarsWriter().struct(1, (w) => {
    w.int(2, BigInt(d.version));
    if (d.parents.length) w.list(3, d.parents, (w, p) => w.struct(0, (w) => w.int(1, p.blockNumber).bytes(2, p.blockHash)));
    w.bytes(4, d.txsRoot).bytes(5, d.receiptRoot).bytes(6, d.stateRoot).int(7, d.blockNumber);
    if (d.gasUsed) w.string(8, enc.encode(d.gasUsed));
    w.int(9, d.timestamp).int(10, d.sealer);
    w.list(11, d.sealerList, (w, n) => w.bytes(0, n));
    if (d.extraData.length) w.bytes(12, d.extraData);
    if (d.consensusWeights.length) w.list(13, d.consensusWeights, (w, x) => w.int(0, x));
  });
  if (h.dataHash.length) w.bytes(2, h.dataHash);
  if (h.signatures.length) w.list(3, h.signatures, (w, g) => w.struct(0, (w) => w.int(1, g.sealerIndex).bytes(2, g.signature)));
  return w.finish();
}

export function fiscoHeaderHash(suite: CryptoSuite, d: FiscoHeaderData): Uint8Array {
  const parts: Uint8Array[] = [fiscoInt32(d.version)];
  for (const p of d.parents) parts.push(fiscoInt64(p.blockNumber), p.blockHash);
  parts.push(
    d.txsRoot,
    d.receiptRoot,
    d.stateRoot,
    fiscoInt64(d.blockNumber),
    enc.encode(d.gasUsed),
    fiscoInt64(d.timestamp),
    fiscoInt64(d.sealer),
    ...d.sealerList,
    d.extraData,
  );
  for (const w of d.consensusWeights) parts.push(fiscoInt64(w));
  return suiteHash(suite, concatBytes(...parts));
}

/**
 * Recomputes the header hash (a carried `dataHash` must match) and checks the sealers' signatures:
 * the header's sealer list must be `trustedSealers` (same keys, same order), each signature must be by
 * the sealer its index names (once per sealer), and the signers' weight must reach the PBFT quorum.
 * Returns the header hash. Throws {@link FiscoError} `HASH_MISMATCH`, `SEALER_LIST_MISMATCH`,
 * `SEALER_SIGNATURE_INVALID` or `SEALER_QUORUM_NOT_MET`.
 */
export function checkSealerQuorum(suite: CryptoSuite, header: FiscoHeader, trustedSealers: readonly Uint8Array[]): Uint8Array {
  const d = header.data;
  const hash = fiscoHeaderHash(suite, d);
  if (header.dataHash.length > 0 && !bytesEqual(header.dataHash, hash)) {
    throw new FiscoError("HASH_MISMATCH", "the header's dataHash is not the hash of its fields", {
      facts: { carried: toHex(header.dataHash), computed: toHex(hash) },
    });
  }
  if (d.sealerList.length !== trustedSealers.length || d.sealerList.some((s, i) => !bytesEqual(s, trustedSealers[i]!))) {
    throw new FiscoError("SEALER_LIST_MISMATCH", "the header's sealer list is not the trusted one", {
      facts: { sealers: d.sealerList.length, trusted: trustedSealers.length },
    });
  }
  const weights = d.consensusWeights.length === d.sealerList.length ? d.consensusWeights : d.sealerList.map(() => 1n);
  // No sealers, or weights that are not positive, can make no quorum (an empty set must not pass vacuously).
  if (weights.length === 0 || weights.some((w) => w < 1n)) {
    throw new FiscoError("SEALER_QUORUM_NOT_MET", "the header names no sealers, or a sealer weight below 1", {
      facts: { sealers: weights.length },
    });
  }
  const total = weights.reduce((a, b) => a + b, 0n);
  const quorum = total - (total - 1n) / 3n;
  const seen = new Set<number>();
  let signed = 0n;
  for (const g of header.signatures) {
    const i = Number(g.sealerIndex);
    if (g.sealerIndex < 0n || g.sealerIndex >= BigInt(d.sealerList.length) || seen.has(i)) {
      throw new FiscoError("SEALER_SIGNATURE_INVALID", "a signature names no sealer, or one that already signed", {
        facts: { sealerIndex: g.sealerIndex },
      });
    }
    let signer: Uint8Array;
    try {
      // SM2 sealers may sign r ‖ s alone: the key is the sealer's node id.
      if (suite === "sm" && g.signature.length === 64) {
        if (!sm2Verify(g.signature, hash, d.sealerList[i]!)) throw new FiscoError("BAD_SIGNATURE", "SM2 signature does not verify");
        signer = d.sealerList[i]!;
      } else signer = signerPublicKey(suite, hash, g.signature);
    } catch (cause) {
      throw new FiscoError("SEALER_SIGNATURE_INVALID", "a sealer signature does not verify over the header hash", {
        cause,
        facts: { sealerIndex: i },
      });
    }
    if (!bytesEqual(signer, d.sealerList[i]!)) {
      throw new FiscoError("SEALER_SIGNATURE_INVALID", "a signature is not by the sealer its index names", { facts: { sealerIndex: i } });
    }
    seen.add(i);
    signed += weights[i]!;
  }
  if (signed < quorum) {
    throw new FiscoError("SEALER_QUORUM_NOT_MET", "too few sealers signed the header", {
      facts: { signedWeight: signed, quorum, totalWeight: total },
    });
  }
  return hash;
}
