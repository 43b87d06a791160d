/**
 * Builds `"fisco-receipt"` source evidence from a FISCO BCOS 3.x node, and checks everything the node
 * said before handing it out: the receipt hash is recomputed (the node's claim is compared, not used),
 * both proofs must lead to the sealed header's roots, and the header must carry a sealer quorum —
 * against the pinned sealer list when one is given. A node that lies fails here with the same codes an
 * auditor would see, with `facts.source = "node"`.
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
  fiscoReceiptEvidence,
  fiscoReceiptHash,
  suiteHash,
  toHex,
  verifyFiscoMerkleProof,
} from "@shandu/proofs";
import { type FiscoRpcClient, flatProof } from "./rpc.ts";

export interface FiscoEvidenceRequest {
  suite: CryptoSuite;
  /** The message's source transaction. */
  txHash: Uint8Array;
  /** The outbox the message came from (20 bytes). */
  outbox: Uint8Array;
  /** The chain's sealers (64-byte node ids) from the alliance's configuration. */
  trustedSealers?: readonly Uint8Array[];
  signal?: AbortSignal;
}

export async function buildFiscoReceiptEvidence(client: FiscoRpcClient, req: FiscoEvidenceRequest): Promise<Evidence> {
  const receipt = await client.getTransactionReceipt(req.txHash, true, req.signal);
  if (!receipt)
    throw new AdapterError("MESSAGE_NOT_FOUND", "the node has no receipt for the message's transaction", {
      facts: { txHash: toHex(req.txHash) },
    });
  const receiptHash = fiscoReceiptHash(req.suite, receipt.data);
  if (!bytesEqual(receiptHash, receipt.hash)) {
    throw new FiscoError("HASH_MISMATCH", "the node's receipt does not hash to the hash it claims", {
      facts: { source: "node", claimed: toHex(receipt.hash), computed: toHex(receiptHash) },
    });
  }
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
  return fiscoReceiptEvidence({
    suite: req.suite,
    header: encodeFiscoHeader(header),
    receipt: encodeFiscoReceipt(receipt.data),
    receiptProof,
    transactionProof,
    outbox: req.outbox,
  });
}
