/**
 * Builds FISCO BCOS 3.x evidence from a node — `"fisco-receipt"` source evidence and `"fisco-delivery"`
 * destination evidence — and checks everything the node said before handing it out: the receipt hash is
 * recomputed (the node's claim is compared, not used), both proofs must lead to the sealed header's
 * roots, and the header must carry a sealer quorum — against the pinned sealer list when one is given.
 * A node that lies fails here with the same codes an auditor would see, with `facts.source = "node"`.
 */
import { AdapterError } from "@shandu/adapter-core";
import {
  bytesEqual,
  type CryptoSuite,
  checkSealerQuorum,
  type Evidence,
  encodeFiscoHeader,
  encodeFiscoReceipt,
  FiscoError,
  type FiscoInclusionProof,
  type FiscoReceiptData,
  fiscoDeliveryEvidence,
  fiscoLogAddress,
  fiscoReceiptEvidence,
  fiscoReceiptHash,
  suiteHash,
  toHex,
  verifyFiscoMerkleProof,
} from "@shandu/proofs";
import { eventTopic, INBOX_SIGNATURES } from "./inbox.ts";
import { type FiscoRpcClient, flatProof } from "./rpc.ts";

/** What both builders need: the chain's suite, the transaction, and the sealers to check the header against. */
export interface FiscoInclusionRequest {
  suite: CryptoSuite;
  /** The transaction whose receipt is proven. */
  txHash: Uint8Array;
  /** The chain's sealers (64-byte node ids) from the alliance's configuration. */
  trustedSealers?: readonly Uint8Array[];
  signal?: AbortSignal;
}

export interface FiscoEvidenceRequest extends FiscoInclusionRequest {
  /** The outbox the message came from (20 bytes). */
  outbox: Uint8Array;
}

export interface FiscoDeliveryEvidenceRequest extends FiscoInclusionRequest {
  /** The native-key inbox (20 bytes). */
  inbox: Uint8Array;
  /** Index of the inbox's `BatchDelivered` log among the receipt's logs. */
  logIndex: number;
}

/**
 * The receipt of `req.txHash` proven under its sealed header, from the node's answers, each checked;
 * `check` may refuse the receipt by its contents before the header is fetched. Throws `AdapterError`
 * `MESSAGE_NOT_FOUND` when the node has no receipt, `FiscoError` `HASH_MISMATCH`, `MERKLE_PROOF_INVALID`
 * or a sealer code when the node's answers do not check out.
 */
async function provenReceipt(
  client: FiscoRpcClient,
  req: FiscoInclusionRequest,
  check: (receipt: FiscoReceiptData) => void = () => {},
): Promise<FiscoInclusionProof> {
  const receipt = await client.getTransactionReceipt(req.txHash, true, req.signal);
  if (!receipt)
    throw new AdapterError("MESSAGE_NOT_FOUND", "the node has no receipt for the transaction", {
      facts: { txHash: toHex(req.txHash) },
    });
  const receiptHash = fiscoReceiptHash(req.suite, receipt.data);
  if (!bytesEqual(receiptHash, receipt.hash)) {
    throw new FiscoError("HASH_MISMATCH", "the node's receipt does not hash to the hash it claims", {
      facts: { source: "node", claimed: toHex(receipt.hash), computed: toHex(receiptHash) },
    });
  }
  check(receipt.data);
  const header = await client.getBlockHeader(receipt.data.blockNumber, req.signal);
  checkSealerQuorum(req.suite, header, req.trustedSealers ?? header.data.sealerList);
  const hash = (d: Uint8Array) => suiteHash(req.suite, d);
  const receiptProof = flatProof(receipt.receiptProof, receiptHash, req.suite);
  const transactionProof = flatProof(receipt.transactionProof, req.txHash, req.suite);
  for (const [proof, leaf, root, what] of [
    [receiptProof, receiptHash, header.data.receiptRoot, "receipt"],
    [transactionProof, req.txHash, header.data.txsRoot, "transaction"],
  ] as const) {
    try {
      verifyFiscoMerkleProof(proof, leaf, root, hash);
    } catch (cause) {
      throw new FiscoError("MERKLE_PROOF_INVALID", `the node's ${what} proof does not lead to the sealed header's root`, {
        cause,
        facts: { source: "node" },
      });
    }
  }
  return {
    suite: req.suite,
    header: encodeFiscoHeader(header),
    receipt: encodeFiscoReceipt(receipt.data),
    receiptProof,
    transactionProof,
  };
}

export async function buildFiscoReceiptEvidence(client: FiscoRpcClient, req: FiscoEvidenceRequest): Promise<Evidence> {
  return fiscoReceiptEvidence({ ...(await provenReceipt(client, req)), outbox: req.outbox });
}

/**
 * `"fisco-delivery"` evidence that the inbox emitted the `BatchDelivered` log at `req.logIndex` of
 * transaction `req.txHash`. It does not look at the log's outcomes: whether the delivery executed a
 * given nonce is for the verifier to check against a bundle. Throws `AdapterError` `MESSAGE_NOT_FOUND`
 * when the node has no receipt for the transaction, or the receipt failed, has no such log, or the log
 * is not a `BatchDelivered` from the inbox; otherwise as {@link buildFiscoReceiptEvidence}.
 */
export async function buildFiscoDeliveryEvidence(client: FiscoRpcClient, req: FiscoDeliveryEvidenceRequest): Promise<Evidence> {
  const notFound = (why: string) =>
    new AdapterError("MESSAGE_NOT_FOUND", `no inbox delivery at that position: ${why}`, {
      facts: { txHash: toHex(req.txHash), logIndex: req.logIndex },
    });
  const topic = eventTopic(req.suite, INBOX_SIGNATURES.batchDelivered);
  const proven = await provenReceipt(client, req, (receipt) => {
    if (receipt.status !== 0) throw notFound(`the transaction failed (status ${receipt.status})`);
    const log = receipt.logs[req.logIndex];
    if (!log) throw notFound("the receipt has no log at that index");
    const address = fiscoLogAddress(log.address);
    if (!address || !bytesEqual(address, req.inbox)) throw notFound("the log is not from the inbox");
    if (!log.topics[0] || !bytesEqual(log.topics[0], topic)) throw notFound("the log is not a BatchDelivered");
  });
  return fiscoDeliveryEvidence({ ...proven, transactionHash: req.txHash, inbox: req.inbox, logIndex: req.logIndex });
}
