/**
 * What the FISCO BCOS 3.x evidence kinds share (docs/protocol.md §8.4.3, §8.4.4): a receipt and its
 * transaction's hash, each proven by a node-format Merkle proof (`../fisco/merkle.ts`) under the
 * `receiptRoot` and `txsRoot` of a block header sealed by a PBFT quorum of sealers. With the chain's hash
 * (keccak-256 for "ecdsa", SM3 for "sm"), {@link verifyFiscoInclusion} establishes:
 *
 * ```
 * H(header fields) == the hash the sealers signed, by a quorum of the pinned (or the header's own) sealers
 * proof(receiptRoot) ∋ H(receipt fields)      proof(txsRoot) ∋ txHash      at the same position
 * receipt.status == 0
 * ```
 *
 * and returns the decoded header, its hash and the receipt, for the kind to read its event from. Trust:
 * a header is only as good as the sealer list it is checked against; without a pinned list the kinds
 * say in their pass details that the header's own list was used.
 */
import type { Evidence } from "../bundle/bundle.ts";
import { fromHex, toHex } from "../bytes.ts";
import { BundleError, EvidenceError, FiscoError } from "../errors.ts";
import {
  checkSealerQuorum,
  decodeFiscoHeader,
  decodeFiscoReceipt,
  type FiscoHeader,
  type FiscoReceiptData,
  fiscoLogAddress,
  fiscoReceiptHash,
} from "../fisco/block.ts";
import { type CryptoSuite, suiteHash } from "../fisco/crypto.ts";
import { verifyFiscoMerkleProof } from "../fisco/merkle.ts";
import { arr, hex, type Json } from "../json.ts";

/** A receipt and its transaction proven under a sealed FISCO 3.x header: the members every FISCO kind carries. */
export interface FiscoInclusionProof {
  suite: CryptoSuite;
  /** TARS `BlockHeader` (`Block.tars`) with the sealers' `signatureList`. */
  header: Uint8Array;
  /** TARS `TransactionReceipt` (`TransactionReceipt.tars`). */
  receipt: Uint8Array;
  /** Node-format Merkle proof of the receipt hash under `receiptRoot`. */
  receiptProof: Uint8Array[];
  /** Node-format Merkle proof of the transaction hash under `txsRoot`. */
  transactionProof: Uint8Array[];
}

/** The JSON members of `p` (hex strings, §1.4), after `kind`. */
export function fiscoInclusionToJson(p: FiscoInclusionProof): Record<string, Json> {
  return {
    suite: p.suite,
    header: toHex(p.header),
    receipt: toHex(p.receipt),
    receiptProof: p.receiptProof.map((x) => toHex(x)),
    transactionProof: p.transactionProof.map((x) => toHex(x)),
  };
}

/** Size bounds of untrusted evidence members, as for EVM evidence (`evmInclusion.ts`). */
const MAX_HEADER_BYTES = 65_536;
const MAX_RECEIPT_BYTES = 4 << 20;
/** Proof elements are 4-byte count markers or 32-byte hashes; 256 covers any block FISCO can hold. */
const MAX_PROOF_ELEMENTS = 256;

/**
 * Reads FISCO evidence of `kind`: checks `kind` and `suite`, reads the shared members, then the kind's
 * own with `own` (using the `json.ts` readers, with the member's name as path). Checks only the shape
 * (types, hex, lengths, sizes); throws {@link EvidenceError} `EVIDENCE_MALFORMED` with the member in
 * `facts.path` (without an element index).
 */
export function parseFiscoEvidence<T>(
  e: Evidence,
  kind: string,
  own: (o: Readonly<Record<string, unknown>>) => T,
): FiscoInclusionProof & T {
  const malformed = (path: string, why: string) =>
    new EvidenceError("EVIDENCE_MALFORMED", `${kind} evidence: ${path} ${why}`, { facts: { path } });
  try {
    if (e.kind !== kind) throw malformed("kind", `is not ${kind}`);
    if (e.suite !== "ecdsa" && e.suite !== "sm") throw malformed("suite", 'must be "ecdsa" or "sm"');
    const proof = (v: unknown, path: string) => arr(v, path, MAX_PROOF_ELEMENTS).map((x, i) => hex(x, `${path}[${i}]`, undefined, 32));
    return {
      suite: e.suite,
      header: hex(e.header, "header", undefined, MAX_HEADER_BYTES),
      receipt: hex(e.receipt, "receipt", undefined, MAX_RECEIPT_BYTES),
      receiptProof: proof(e.receiptProof, "receiptProof"),
      transactionProof: proof(e.transactionProof, "transactionProof"),
      ...own(e),
    };
  } catch (cause) {
    if (!(cause instanceof BundleError)) throw cause;
    const path = String(cause.facts.path ?? "evidence").replace(/\[\d+\]$/, "");
    throw new EvidenceError("EVIDENCE_MALFORMED", `${kind} evidence: ${cause.shortMessage}`, { facts: { path }, cause });
  }
}

/** Per Shandu chain id (decimal): the chain's suite and its sealers' node ids (64-byte 0x hex), in the chain's order. */
export type FiscoSealerPins = Readonly<Record<string, { suite: CryptoSuite; nodeIds: readonly string[] }>>;

/** A chain's pinned suite and sealers, as bytes. */
export interface PinnedSealers {
  suite: CryptoSuite;
  nodeIds: Uint8Array[];
}

/** The pins as bytes by chain id; throws `CodecError` for a node id that is not 64-byte hex. */
export function pinnedSealers(pins: FiscoSealerPins | undefined): Map<string, PinnedSealers> {
  return new Map(
    Object.entries(pins ?? {}).map(([chain, s]) => [
      chain,
      { suite: s.suite, nodeIds: s.nodeIds.map((n, i) => fromHex(n, 64, `sealers[${chain}][${i}]`)) },
    ]),
  );
}

/** Throws `CHAIN_ID_MISMATCH` when the chain has a pinned suite and the evidence uses the other one. */
export function checkPinnedSuite(pin: PinnedSealers | undefined, suite: CryptoSuite, side: "source" | "destination"): void {
  if (pin && pin.suite !== suite) {
    throw new EvidenceError("CHAIN_ID_MISMATCH", `the evidence uses another cryptography suite than the ${side} chain's`, {
      facts: { pinned: pin.suite, evidence: suite },
    });
  }
}

/** Runs a codec step, turning its {@link FiscoError} into the evidence code that names the failed check. */
function checked<T>(f: () => T, code: "HEADER_INVALID" | "RECEIPT_INVALID" | "TRIE_PROOF_INVALID", what: string): T {
  try {
    return f();
  } catch (cause) {
    if (!(cause instanceof FiscoError)) throw cause;
    const mapped =
      cause.code === "SEALER_LIST_MISMATCH" || cause.code === "SEALER_SIGNATURE_INVALID" || cause.code === "SEALER_QUORUM_NOT_MET"
        ? cause.code
        : cause.code === "HASH_MISMATCH"
          ? "HEADER_HASH_MISMATCH"
          : code;
    throw new EvidenceError(mapped, `${what}: ${cause.shortMessage}`, { cause, facts: { ...cause.facts, reason: cause.code } });
  }
}

/** A leaf's index in a width-2 tree from its position in each group, bottom first. */
function positionIndex(positions: readonly number[]): bigint {
  return positions.reduceRight((acc, p) => acc * 2n + BigInt(p), 0n);
}

/** What a verified FISCO inclusion proof establishes. */
export interface ProvenFiscoReceipt {
  header: FiscoHeader;
  /** The header hash the sealers signed. */
  headerHash: Uint8Array;
  /** The successful receipt of the transaction. */
  receipt: FiscoReceiptData;
  /** Its index in the block. */
  transactionIndex: bigint;
}

/**
 * Checks the shared part of FISCO evidence, in this order: the header (`HEADER_INVALID`), its hash
 * (`HEADER_HASH_MISMATCH` when a carried `dataHash` differs) and its seals against `pin`'s sealers, or
 * the header's own list without a pin (`SEALER_LIST_MISMATCH`, `SEALER_SIGNATURE_INVALID`,
 * `SEALER_QUORUM_NOT_MET`); the block number (`BLOCK_NUMBER_MISMATCH`, with `expect.blockNumber`); the
 * receipt (`RECEIPT_INVALID`); its hash under `receiptRoot` and `txHash` under `txsRoot`
 * (`TRIE_PROOF_INVALID`) at the same position (`TX_HASH_MISMATCH`); status 0 (`RECEIPT_FAILED`). The
 * caller has checked the suite against the pin. All inputs are untrusted; every failure is an
 * {@link EvidenceError}.
 */
export function verifyFiscoInclusion(
  ev: FiscoInclusionProof,
  txHash: Uint8Array,
  pin: PinnedSealers | undefined,
  expect: { blockNumber?: bigint } = {},
): ProvenFiscoReceipt {
  const suite = ev.suite;
  const hash = (d: Uint8Array) => suiteHash(suite, d);

  // Header: hash and sealer quorum.
  const header = checked(() => decodeFiscoHeader(ev.header), "HEADER_INVALID", "header");
  const headerHash = checked(() => checkSealerQuorum(suite, header, pin?.nodeIds ?? header.data.sealerList), "HEADER_INVALID", "header");
  if (expect.blockNumber !== undefined && header.data.blockNumber !== expect.blockNumber) {
    throw new EvidenceError("BLOCK_NUMBER_MISMATCH", "the header is not the block the message names", {
      facts: { header: header.data.blockNumber, message: expect.blockNumber },
    });
  }

  // Receipt and transaction, at the same position of their trees.
  const receipt = checked(() => decodeFiscoReceipt(ev.receipt), "RECEIPT_INVALID", "receipt");
  const receiptHash = fiscoReceiptHash(suite, receipt.data);
  const receiptAt = checked(
    () => verifyFiscoMerkleProof(ev.receiptProof, receiptHash, header.data.receiptRoot, hash),
    "TRIE_PROOF_INVALID",
    "receipt proof",
  );
  const txAt = checked(
    () => verifyFiscoMerkleProof(ev.transactionProof, txHash, header.data.txsRoot, hash),
    "TRIE_PROOF_INVALID",
    "transaction proof",
  );
  const transactionIndex = positionIndex(txAt);
  if (receiptAt.length !== txAt.length || positionIndex(receiptAt) !== transactionIndex) {
    throw new EvidenceError("TX_HASH_MISMATCH", "the receipt is not the transaction's: they sit at different positions of the block", {
      facts: { receiptIndex: positionIndex(receiptAt), transactionIndex },
    });
  }
  if (receipt.data.status !== 0)
    throw new EvidenceError("RECEIPT_FAILED", "the transaction failed", { facts: { status: receipt.data.status } });
  return { header, headerHash, receipt: receipt.data, transactionIndex };
}

/**
 * The log at `logIndex` of a proven receipt as (address, topics, data), for the kind's event reader; the
 * address is empty when the chain's text is not a 20-byte hex address (so it matches no contract).
 * Throws `LOG_NOT_FOUND`.
 */
export function fiscoLogAt(
  receipt: FiscoReceiptData,
  logIndex: number,
  whose: string,
): { address: Uint8Array; topics: Uint8Array[]; data: Uint8Array } {
  const log = receipt.logs[logIndex];
  if (!log) {
    throw new EvidenceError("LOG_NOT_FOUND", `the receipt has no log at ${whose} log index`, {
      facts: { logIndex, logs: receipt.logs.length },
    });
  }
  return { address: fiscoLogAddress(log.address) ?? new Uint8Array(0), topics: log.topics, data: log.data };
}

/** The pass detail's words on whose seals were checked. */
export function sealedBy(pin: PinnedSealers | undefined, header: FiscoHeader, chain: bigint): string {
  return pin
    ? `the ${pin.nodeIds.length} pinned sealers`
    : `the header's own ${header.data.sealerList.length} sealers (not pinned for chain ${chain}: compare with the alliance's sealer list)`;
}
