/**
 * `"fisco-receipt"` source evidence: a message emitted by the outbox on a FISCO BCOS 3.x chain, proven
 * offline from a sealed block header down to the event.
 *
 * ```json
 * { "kind": "fisco-receipt", "suite": "ecdsa" | "sm",
 *   "header": "0x…",            // TARS BlockHeader, with the sealers' signatureList
 *   "receipt": "0x…",           // TARS TransactionReceipt
 *   "receiptProof": ["0x…"],    // node-format Merkle proof of the receipt hash under receiptRoot
 *   "transactionProof": ["0x…"],// node-format Merkle proof of the message's txHash under txsRoot
 *   "outbox": "0x…" }           // 20-byte outbox address
 * ```
 *
 * Checks, in order: shape; the outbox and suite against the pins; the header hash and the sealer
 * quorum (against the pinned sealer list, else against the header's own list, which the detail then
 * says); the block number is the message's; the receipt hash is under `receiptRoot` and the message's
 * transaction hash under `txsRoot` at the same position (so the receipt is that transaction's); the
 * receipt succeeded; its log at the message's log index is `MessageSent` from the outbox, with the
 * event signature hashed by the chain's hash; and that event's body, block, transaction and log index
 * are the message's canonical encoding.
 *
 * Trust: a header is only as good as the sealer list it is checked against. Pin each FISCO chain's
 * sealers (node ids) from the alliance's configuration; without a pin, a pass means "sealed by whoever
 * the header names", and the detail says so.
 */

import type { Evidence } from "../bundle/bundle.ts";
import type { EvidenceContext, EvidenceVerifier } from "../bundle/verify.ts";
import { ByteWriter, bytesEqual, fromHex, toHex, utf8 } from "../bytes.ts";
import { BundleError, EvidenceError, FiscoError } from "../errors.ts";
import {
  checkSealerQuorum,
  decodeFiscoHeader,
  decodeFiscoReceipt,
  type FiscoHeader,
  fiscoLogAddress,
  fiscoReceiptHash,
} from "../fisco/block.ts";
import { type CryptoSuite, suiteHash } from "../fisco/crypto.ts";
import { verifyFiscoMerkleProof } from "../fisco/merkle.ts";
import { arr, hex } from "../json.ts";
import { encodeMessage } from "../message.ts";
import { messageSentBodyOf } from "./evm.ts";
import { checkPinnedAddress, pinnedAddresses } from "./evmInclusion.ts";

export const FISCO_RECEIPT_EVIDENCE_KIND = "fisco-receipt";

export interface FiscoReceiptProof {
  suite: CryptoSuite;
  header: Uint8Array;
  receipt: Uint8Array;
  receiptProof: Uint8Array[];
  transactionProof: Uint8Array[];
  outbox: Uint8Array;
}

export function fiscoReceiptEvidence(p: FiscoReceiptProof): Evidence {
  return {
    kind: FISCO_RECEIPT_EVIDENCE_KIND,
    suite: p.suite,
    header: toHex(p.header),
    receipt: toHex(p.receipt),
    receiptProof: p.receiptProof.map((x) => toHex(x)),
    transactionProof: p.transactionProof.map((x) => toHex(x)),
    outbox: toHex(p.outbox),
  };
}

function malformed(path: string, why: string): EvidenceError {
  return new EvidenceError("EVIDENCE_MALFORMED", `fisco-receipt evidence: ${path} ${why}`, { facts: { path } });
}

/** Size bounds of untrusted evidence members, as for EVM evidence (`evmInclusion.ts`). */
const MAX_HEADER_BYTES = 65_536;
const MAX_RECEIPT_BYTES = 4 << 20;
/** Proof elements are 4-byte count markers or 32-byte hashes; 256 covers any block FISCO can hold. */
const MAX_PROOF_ELEMENTS = 256;

/**
 * Reads `"fisco-receipt"` evidence. Checks only the shape (types, hex, lengths, sizes); throws
 * {@link EvidenceError} `EVIDENCE_MALFORMED` with the member in `facts.path`.
 */
export function parseFiscoReceiptEvidence(e: Evidence): FiscoReceiptProof {
  try {
    if (e.kind !== FISCO_RECEIPT_EVIDENCE_KIND) throw malformed("kind", `is not ${FISCO_RECEIPT_EVIDENCE_KIND}`);
    if (e.suite !== "ecdsa" && e.suite !== "sm") throw malformed("suite", 'must be "ecdsa" or "sm"');
    const proof = (v: unknown, path: string) => arr(v, path, MAX_PROOF_ELEMENTS).map((x, i) => hex(x, `${path}[${i}]`, undefined, 32));
    return {
      suite: e.suite,
      header: hex(e.header, "header", undefined, MAX_HEADER_BYTES),
      receipt: hex(e.receipt, "receipt", undefined, MAX_RECEIPT_BYTES),
      receiptProof: proof(e.receiptProof, "receiptProof"),
      transactionProof: proof(e.transactionProof, "transactionProof"),
      outbox: hex(e.outbox, "outbox", 20),
    };
  } catch (cause) {
    if (!(cause instanceof BundleError)) throw cause;
    const path = String(cause.facts.path ?? "evidence").replace(/\[\d+\]$/, "");
    throw new EvidenceError("EVIDENCE_MALFORMED", `fisco-receipt evidence: ${cause.shortMessage}`, { facts: { path }, cause });
  }
}

export interface FiscoReceiptVerifierOptions {
  /** Per Shandu source chain id (decimal): the chain's suite and its sealers' node ids (64-byte 0x hex). */
  sealers?: Readonly<Record<string, { suite: CryptoSuite; nodeIds: readonly string[] }>>;
  /** Outbox addresses (20-byte 0x hex) by Shandu source chain id (decimal). */
  outboxes?: Readonly<Record<string, string>>;
}

/** `keccak256` or `SM3` of `MessageSent(uint64,uint64,bytes)`: the event's topic 0 on the chain. */
export function messageSentTopic(suite: CryptoSuite): Uint8Array {
  return suiteHash(suite, utf8("MessageSent(uint64,uint64,bytes)"));
}

const fisco = <T>(f: () => T, code: "HEADER_INVALID" | "RECEIPT_INVALID" | "TRIE_PROOF_INVALID", what: string): T => {
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
};

function positionIndex(positions: readonly number[]): bigint {
  return positions.reduceRight((acc, p) => acc * 2n + BigInt(p), 0n);
}

export function fiscoReceiptEvidenceVerifier(opts: FiscoReceiptVerifierOptions = {}): EvidenceVerifier {
  const sealers = new Map(
    Object.entries(opts.sealers ?? {}).map(([chain, s]) => [
      chain,
      { suite: s.suite, nodeIds: s.nodeIds.map((n, i) => fromHex(n, 64, `sealers[${chain}][${i}]`)) },
    ]),
  );
  const outboxes = pinnedAddresses(opts.outboxes, "outboxes");
  return {
    kind: FISCO_RECEIPT_EVIDENCE_KIND,
    verify: (evidence, ctx) => verifyFiscoReceipt(parseFiscoReceiptEvidence(evidence), ctx, sealers, outboxes),
  };
}

function verifyFiscoReceipt(
  ev: FiscoReceiptProof,
  ctx: EvidenceContext,
  sealers: ReadonlyMap<string, { suite: CryptoSuite; nodeIds: Uint8Array[] }>,
  outboxes: ReadonlyMap<string, Uint8Array>,
): string {
  const m = ctx.message;
  const chain = m.sourceChainId.toString();
  checkPinnedAddress(outboxes, m.sourceChainId, ev.outbox, "OUTBOX_MISMATCH", "outbox", "source");
  const pinnedOutbox = outboxes.get(chain);
  const pin = sealers.get(chain);
  if (pin && pin.suite !== ev.suite) {
    throw new EvidenceError("CHAIN_ID_MISMATCH", "the evidence uses another cryptography suite than the source chain's", {
      facts: { pinned: pin.suite, evidence: ev.suite },
    });
  }
  const suite = ev.suite;
  const hash = (d: Uint8Array) => suiteHash(suite, d);

  // Header: hash and sealer quorum.
  const header: FiscoHeader = fisco(() => decodeFiscoHeader(ev.header), "HEADER_INVALID", "header");
  const headerHash = fisco(() => checkSealerQuorum(suite, header, pin?.nodeIds ?? header.data.sealerList), "HEADER_INVALID", "header");
  if (header.data.blockNumber !== m.source.blockNumber) {
    throw new EvidenceError("BLOCK_NUMBER_MISMATCH", "the header is not the block the message names", {
      facts: { header: header.data.blockNumber, message: m.source.blockNumber },
    });
  }

  // Receipt and transaction, at the same position of their trees.
  const receipt = fisco(() => decodeFiscoReceipt(ev.receipt), "RECEIPT_INVALID", "receipt");
  const receiptHash = fiscoReceiptHash(suite, receipt.data);
  const receiptAt = fisco(
    () => verifyFiscoMerkleProof(ev.receiptProof, receiptHash, header.data.receiptRoot, hash),
    "TRIE_PROOF_INVALID",
    "receipt proof",
  );
  const txAt = fisco(
    () => verifyFiscoMerkleProof(ev.transactionProof, m.source.txHash, header.data.txsRoot, hash),
    "TRIE_PROOF_INVALID",
    "transaction proof",
  );
  if (receiptAt.length !== txAt.length || positionIndex(receiptAt) !== positionIndex(txAt)) {
    throw new EvidenceError(
      "TX_HASH_MISMATCH",
      "the receipt is not the message's transaction's: they sit at different positions of the block",
      {
        facts: { receiptIndex: positionIndex(receiptAt), transactionIndex: positionIndex(txAt) },
      },
    );
  }
  if (receipt.data.status !== 0)
    throw new EvidenceError("RECEIPT_FAILED", "the transaction failed", { facts: { status: receipt.data.status } });

  // The event.
  const logIndex = m.source.logIndex;
  const log = receipt.data.logs[logIndex];
  if (!log)
    throw new EvidenceError("LOG_NOT_FOUND", "the receipt has no log at the message's log index", {
      facts: { logIndex, logs: receipt.data.logs.length },
    });
  const address = fiscoLogAddress(log.address) ?? new Uint8Array(0);
  const body = messageSentBodyOf({ address, topics: log.topics, data: log.data }, ev.outbox, logIndex, messageSentTopic(suite));
  const proven = new ByteWriter(body.length + 44).bytes(body).u64(header.data.blockNumber).bytes(m.source.txHash).u32(logIndex).finish();
  if (!bytesEqual(proven, encodeMessage(m))) {
    throw new EvidenceError("MESSAGE_MISMATCH", "the emitted message body is not the message's fields 1–8", { facts: { logIndex } });
  }
  const sealedBy = pin
    ? `the ${pin.nodeIds.length} pinned sealers`
    : `the header's own ${header.data.sealerList.length} sealers (not pinned for chain ${chain}: compare with the alliance's sealer list)`;
  const outbox = pinnedOutbox ? `the pinned outbox ${toHex(ev.outbox)}` : `outbox ${toHex(ev.outbox)} (not pinned for chain ${chain})`;
  return `receipt proven in FISCO block #${header.data.blockNumber} ${toHex(headerHash)} (${suite}), sealed by a quorum of ${sealedBy}, log ${logIndex} from ${outbox}`;
}
