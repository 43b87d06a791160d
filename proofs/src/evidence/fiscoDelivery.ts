/**
 * Destination evidence of kind `"fisco-delivery"` (docs/protocol.md §8.4.4): a proof, checkable offline,
 * that the native-key inbox on a FISCO BCOS 3.x chain executed a message of an attested batch, in a
 * block sealed by the chain's sealers.
 *
 * ```json
 * { "kind": "fisco-delivery", "suite": "ecdsa" | "sm",
 *   "header": "0x…",             // TARS BlockHeader, with the sealers' signatureList
 *   "receipt": "0x…",            // TARS TransactionReceipt of the delivering transaction
 *   "receiptProof": ["0x…"],     // node-format Merkle proof of the receipt hash under receiptRoot
 *   "transactionProof": ["0x…"], // node-format Merkle proof of transactionHash under txsRoot
 *   "transactionHash": "0x…",    // 32 bytes: the delivering transaction
 *   "inbox": "0x…",              // 20 bytes: the inbox that emitted the log
 *   "logIndex": 0 }              // index of the BatchDelivered log in the receipt
 * ```
 *
 * The inbox emits, as on EVM chains (`"evm-delivery"`, `evmDelivery.ts`),
 * `BatchDelivered(uint64 indexed sourceChainId, bytes32 indexed root, uint64 fromNonce, bytes outcomes)`
 * with two bits per nonce from `fromNonce`; its topic 0 is the event signature hashed with the chain's
 * hash (keccak-256 on "ecdsa" chains, SM3 on "sm" chains, whose compilers hash signatures with SM3).
 *
 * Checks, in order: shape; the inbox and the suite against the pins for the message's destination
 * chain; the header hash and the sealer quorum (against the pinned sealer list, else against the
 * header's own list, which the detail then says); the receipt hash under `receiptRoot` and
 * `transactionHash` under `txsRoot` at the same position (so the receipt is that transaction's); the
 * receipt succeeded; its log at `logIndex` is `BatchDelivered` from the inbox; the event's source chain
 * is the message's and its root the bundle's batch root; its outcome for the message's nonce is 1.
 *
 * The batch root binds the message, as for `"evm-delivery"`: the bundle's inclusion step proves the
 * message at leaf `nonce − firstNonce` of the root, and the inbox executes only messages it proved at
 * that leaf of a root its committee co-signed.
 *
 * Trust: as for `"fisco-receipt"`, a header is only as good as the sealer list it is checked against;
 * pin each FISCO chain's sealers (node ids) and inbox from the alliance's configuration. A pass does not
 * say that the block is on the chain's canonical history (PBFT does not fork, but only a node can show
 * which block is at that height), and nothing of later `retry` calls.
 */
import type { Evidence } from "../bundle/bundle.ts";
import type { EvidenceContext, EvidenceVerifier } from "../bundle/verify.ts";
import { toHex, utf8 } from "../bytes.ts";
import { type CryptoSuite, suiteHash } from "../fisco/crypto.ts";
import { hex, int } from "../json.ts";
import { batchDeliveredOf, checkDeliveryOutcome } from "./evmDelivery.ts";
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

/** The evidence `kind`. */
export const FISCO_DELIVERY_EVIDENCE_KIND = "fisco-delivery";

/** `"fisco-delivery"` evidence with its members as bytes. */
export interface FiscoDeliveryProof extends FiscoInclusionProof {
  /** The delivering transaction's hash (32 bytes), proven under `txsRoot`. */
  transactionHash: Uint8Array;
  /** 20-byte address of the inbox that emitted the log. */
  inbox: Uint8Array;
  /** Index of the `BatchDelivered` log among the logs of the receipt, u32. */
  logIndex: number;
}

/** The JSON evidence object for `p`. */
export function fiscoDeliveryEvidence(p: FiscoDeliveryProof): Evidence {
  return {
    kind: FISCO_DELIVERY_EVIDENCE_KIND,
    ...fiscoInclusionToJson(p),
    transactionHash: toHex(p.transactionHash),
    inbox: toHex(p.inbox),
    logIndex: p.logIndex,
  };
}

/**
 * Reads `"fisco-delivery"` evidence. Checks only the shape (types, hex, lengths, sizes); throws
 * {@link EvidenceError} `EVIDENCE_MALFORMED` with the member in `facts.path`.
 */
export function parseFiscoDeliveryEvidence(e: Evidence): FiscoDeliveryProof {
  return parseFiscoEvidence(e, FISCO_DELIVERY_EVIDENCE_KIND, (o) => ({
    transactionHash: hex(o.transactionHash, "transactionHash", 32),
    inbox: hex(o.inbox, "inbox", 20),
    logIndex: int(o.logIndex, "logIndex", 0, 0xffff_ffff),
  }));
}

/** `keccak256` or `SM3` of `BatchDelivered(uint64,bytes32,uint64,bytes)`: the event's topic 0 on the chain. */
export function batchDeliveredTopic(suite: CryptoSuite): Uint8Array {
  return suiteHash(suite, utf8("BatchDelivered(uint64,bytes32,uint64,bytes)"));
}

export interface FiscoDeliveryVerifierOptions {
  /** Per Shandu destination chain id (decimal): the chain's suite and its sealers' node ids (64-byte 0x hex). */
  sealers?: FiscoSealerPins;
  /** Inbox addresses (20-byte 0x hex) by Shandu destination chain id (decimal). */
  inboxes?: Readonly<Record<string, string>>;
}

/**
 * The verifier for `"fisco-delivery"` evidence. Offline and deterministic.
 *
 * Returns the one-line detail of a pass; throws {@link EvidenceError} with one of the codes
 * `EVIDENCE_MALFORMED`, `INBOX_MISMATCH`, `CHAIN_ID_MISMATCH`, `HEADER_INVALID`, `HEADER_HASH_MISMATCH`,
 * `SEALER_LIST_MISMATCH`, `SEALER_SIGNATURE_INVALID`, `SEALER_QUORUM_NOT_MET`, `RECEIPT_INVALID`,
 * `TRIE_PROOF_INVALID`, `TX_HASH_MISMATCH`, `RECEIPT_FAILED`, `LOG_NOT_FOUND`, `LOG_MISMATCH`,
 * `BATCH_MISMATCH`, `NOT_DELIVERED_HERE`, `DELIVERY_FAILED`, in the order the checks first run. The
 * constructor throws `CodecError` for a pinned inbox or node id that is not hex of its length.
 */
export function fiscoDeliveryEvidenceVerifier(opts: FiscoDeliveryVerifierOptions = {}): EvidenceVerifier {
  const sealers = pinnedSealers(opts.sealers);
  const inboxes = pinnedAddresses(opts.inboxes, "inboxes");
  return {
    kind: FISCO_DELIVERY_EVIDENCE_KIND,
    verify: (evidence, ctx) => verifyFiscoDelivery(parseFiscoDeliveryEvidence(evidence), ctx, sealers, inboxes),
  };
}

function verifyFiscoDelivery(
  ev: FiscoDeliveryProof,
  ctx: EvidenceContext,
  sealers: ReadonlyMap<string, PinnedSealers>,
  inboxes: ReadonlyMap<string, Uint8Array>,
): string {
  const m = ctx.message;
  const chain = m.destinationChainId.toString();
  checkPinnedAddress(inboxes, m.destinationChainId, ev.inbox, "INBOX_MISMATCH", "inbox", "destination");
  const pin = sealers.get(chain);
  checkPinnedSuite(pin, ev.suite, "destination");

  const { header, headerHash, receipt, transactionIndex } = verifyFiscoInclusion(ev, ev.transactionHash, pin);

  const log = fiscoLogAt(receipt, ev.logIndex, "the evidence's");
  const delivered = batchDeliveredOf(log, ev.inbox, ev.logIndex, batchDeliveredTopic(ev.suite));
  checkDeliveryOutcome(delivered, ctx, ev.logIndex);

  const inbox = inboxes.has(chain)
    ? `the pinned inbox ${toHex(ev.inbox)}`
    : `inbox ${toHex(ev.inbox)} (not pinned for chain ${chain}: compare with the deployment)`;
  return `nonce ${m.nonce} executed: delivery proven in FISCO block #${header.data.blockNumber} ${toHex(headerHash)} (${ev.suite}), sealed by a quorum of ${sealedBy(pin, header, m.destinationChainId)}, transaction ${transactionIndex} ${toHex(ev.transactionHash)}, log ${ev.logIndex} from ${inbox}`;
}
