/**
 * The producing side: turn one lane's messages into a batch (header + tree) and hand out a proof bundle
 * per message once the batch is attested. Used by the gateway, the vector generator and the benchmarks.
 */
import type { Attestation, BatchHeader } from "../attestation.ts";
import type { Committee } from "../committee.ts";
import { CodecError } from "../errors.ts";
import { MerkleTree } from "../merkle.ts";
import { type Message, messageId } from "../message.ts";
import type { RotationRecord } from "../rotation.ts";
import { BUNDLE_VERSION, type Evidence, type ProofBundle, type RegulatorEnvelopeRef } from "./bundle.ts";

export interface Batch {
  header: BatchHeader;
  messages: Message[];
  ids: Uint8Array[];
  tree: MerkleTree;
}

/**
 * Builds the batch for messages of one lane with contiguous nonces, in nonce order. Throws
 * {@link CodecError} `VALUE_OUT_OF_RANGE` for mixed lanes or a gap in the nonces.
 */
export function buildBatch(messages: readonly Message[]): Batch {
  const first = messages[0];
  if (!first) throw new CodecError("VALUE_OUT_OF_RANGE", "a batch needs at least one message");
  const ids: Uint8Array[] = [];
  messages.forEach((m, i) => {
    if (m.sourceChainId !== first.sourceChainId || m.destinationChainId !== first.destinationChainId) {
      throw new CodecError("VALUE_OUT_OF_RANGE", "a batch holds messages of one lane", { facts: { index: i } });
    }
    if (m.nonce !== first.nonce + BigInt(i)) {
      throw new CodecError("VALUE_OUT_OF_RANGE", "batch nonces must be contiguous and in order", { facts: { index: i, nonce: m.nonce } });
    }
    ids.push(messageId(m));
  });
  const tree = MerkleTree.fromLeaves(ids);
  return {
    header: {
      sourceChainId: first.sourceChainId,
      destinationChainId: first.destinationChainId,
      firstNonce: first.nonce,
      lastNonce: first.nonce + BigInt(messages.length - 1),
      root: tree.root,
    },
    messages: [...messages],
    ids,
    tree,
  };
}

export interface BundleExtras {
  sourceEvidence?: Evidence | null;
  destinationEvidence?: Evidence | null;
  regulatorEnvelope?: RegulatorEnvelopeRef | null;
}

/** The proof bundle for message `index` of an attested batch. */
export function bundleFor(
  batch: Batch,
  index: number,
  attestation: Attestation,
  committees: { genesis: Committee; rotations: RotationRecord[] },
  extras: BundleExtras = {},
): ProofBundle {
  const message = batch.messages[index];
  if (!message) throw new CodecError("VALUE_OUT_OF_RANGE", "no message at that index in the batch", { facts: { index } });
  const proof = batch.tree.prove([index]);
  return {
    version: BUNDLE_VERSION,
    message,
    messageId: batch.ids[index]!,
    batch: batch.header,
    inclusion: { treeSize: proof.treeSize, leafIndex: index, siblings: proof.siblings },
    attestation,
    committees,
    sourceEvidence: extras.sourceEvidence ?? null,
    destinationEvidence: extras.destinationEvidence ?? null,
    regulatorEnvelope: extras.regulatorEnvelope ?? null,
  };
}
