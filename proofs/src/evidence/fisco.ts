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
import { ByteWriter, bytesEqual, toHex, utf8 } from "../bytes.ts";
import { EvidenceError } from "../errors.ts";
import { type CryptoSuite, suiteHash } from "../fisco/crypto.ts";
import { hex } from "../json.ts";
import { encodeMessage } from "../message.ts";
import { messageSentBodyOf } from "./evm.ts";
import { checkPinnedAddress, pinnedAddresses } from "./evmInclusion.ts";
import {
  checkPinnedSuite,
  type FiscoInclusionProof,
  type FiscoSealerPins,
  fiscoInclusionToJson,
  fiscoLogAt,
  type PinnedSealers,
  parseFiscoEvidence,
  pinnedSealers,
  sealedBy,
  verifyFiscoInclusion,
} from "./fiscoInclusion.ts";

export const FISCO_RECEIPT_EVIDENCE_KIND = "fisco-receipt";

export interface FiscoReceiptProof extends FiscoInclusionProof {
  /** 20-byte address of the outbox that emitted the message. */
  outbox: Uint8Array;
}

export function fiscoReceiptEvidence(p: FiscoReceiptProof): Evidence {
  return { kind: FISCO_RECEIPT_EVIDENCE_KIND, ...fiscoInclusionToJson(p), outbox: toHex(p.outbox) };
}

/**
 * Reads `"fisco-receipt"` evidence. Checks only the shape (types, hex, lengths, sizes); throws
 * {@link EvidenceError} `EVIDENCE_MALFORMED` with the member in `facts.path`.
 */
export function parseFiscoReceiptEvidence(e: Evidence): FiscoReceiptProof {
  return parseFiscoEvidence(e, FISCO_RECEIPT_EVIDENCE_KIND, (o) => ({ outbox: hex(o.outbox, "outbox", 20) }));
}

export interface FiscoReceiptVerifierOptions {
  /** Per Shandu source chain id (decimal): the chain's suite and its sealers' node ids (64-byte 0x hex). */
  sealers?: FiscoSealerPins;
  /** Outbox addresses (20-byte 0x hex) by Shandu source chain id (decimal). */
  outboxes?: Readonly<Record<string, string>>;
}

/** `keccak256` or `SM3` of `MessageSent(uint64,uint64,bytes)`: the event's topic 0 on the chain. */
export function messageSentTopic(suite: CryptoSuite): Uint8Array {
  return suiteHash(suite, utf8("MessageSent(uint64,uint64,bytes)"));
}

export function fiscoReceiptEvidenceVerifier(opts: FiscoReceiptVerifierOptions = {}): EvidenceVerifier {
  const sealers = pinnedSealers(opts.sealers);
  const outboxes = pinnedAddresses(opts.outboxes, "outboxes");
  return {
    kind: FISCO_RECEIPT_EVIDENCE_KIND,
    verify: (evidence, ctx) => verifyFiscoReceipt(parseFiscoReceiptEvidence(evidence), ctx, sealers, outboxes),
  };
}

function verifyFiscoReceipt(
  ev: FiscoReceiptProof,
  ctx: EvidenceContext,
  sealers: ReadonlyMap<string, PinnedSealers>,
  outboxes: ReadonlyMap<string, Uint8Array>,
): string {
  const m = ctx.message;
  const chain = m.sourceChainId.toString();
  checkPinnedAddress(outboxes, m.sourceChainId, ev.outbox, "OUTBOX_MISMATCH", "outbox", "source");
  const pin = sealers.get(chain);
  checkPinnedSuite(pin, ev.suite, "source");

  const { header, headerHash, receipt } = verifyFiscoInclusion(ev, m.source.txHash, pin, { blockNumber: m.source.blockNumber });

  // The event.
  const logIndex = m.source.logIndex;
  const log = fiscoLogAt(receipt, logIndex, "the message's");
  const body = messageSentBodyOf(log, ev.outbox, logIndex, messageSentTopic(ev.suite));
  const proven = new ByteWriter(body.length + 44).bytes(body).u64(header.data.blockNumber).bytes(m.source.txHash).u32(logIndex).finish();
  if (!bytesEqual(proven, encodeMessage(m))) {
    throw new EvidenceError("MESSAGE_MISMATCH", "the emitted message body is not the message's fields 1–8", { facts: { logIndex } });
  }
  const outbox = outboxes.has(chain)
    ? `the pinned outbox ${toHex(ev.outbox)}`
    : `outbox ${toHex(ev.outbox)} (not pinned for chain ${chain})`;
  return `receipt proven in FISCO block #${header.data.blockNumber} ${toHex(headerHash)} (${ev.suite}), sealed by a quorum of ${sealedBy(pin, header, m.sourceChainId)}, log ${logIndex} from ${outbox}`;
}
