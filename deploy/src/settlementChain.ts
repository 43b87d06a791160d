/**
 * `ShanduSettlement` on chain (docs/settlement.md §7): the payload that carries a window's settlement root
 * to the peer chains, with its strict decoder, and the arguments of `publish` and `markSettled` built from
 * a `SettlementBatch` of `@shandu/proofs`. Byte for byte what the contract builds with `abi.encodePacked`
 * and checks in `shanduReceive`.
 */
import {
  CodecError,
  encodeSettlementHeader,
  encodeSettlementLine,
  encodeSettlementRootPayload,
  proveLine,
  type SettlementBatch,
  toHex,
} from "@shandu/proofs";

/** Version of the settlement payloads (byte 0). */
export const SETTLEMENT_PAYLOAD_VERSION = 1;
/** Op codes (byte 1). */
export const SETTLEMENT_OP = { root: 1 } as const;

// The payload codec lives in @shandu/proofs, where the auditor's check reads it.
export {
  decodeSettlementRootPayload as decodeSettlementPayload,
  encodeSettlementRootPayload as encodeSettlementPayload,
  SETTLEMENT_PAYLOAD_LENGTH,
  type SettlementRootPayload,
} from "@shandu/proofs";

function checkRoot(root: Uint8Array): Uint8Array {
  if (!(root instanceof Uint8Array) || root.length !== 32) {
    throw new CodecError("BAD_LENGTH", "settlementRoot must be 32 bytes", { facts: { length: root?.length } });
  }
  if (root.every((x) => x === 0)) throw new CodecError("VALUE_OUT_OF_RANGE", "settlementRoot is all zeros");
  return root;
}

/** The payload of `batch` (its window, settlement root and line count). */
export function settlementPayloadOf(batch: SettlementBatch): Uint8Array {
  return encodeSettlementRootPayload({
    windowId: batch.header.windowId,
    settlementRoot: batch.settlementRoot,
    lineCount: batch.header.lineCount,
  });
}

/** Arguments of `ShanduSettlement.publish` for `batch`: `[windowId, settlementRoot, lineCount]`. */
export function publishArgs(batch: SettlementBatch): [bigint, string, number] {
  return [batch.header.windowId, toHex(checkRoot(batch.settlementRoot)), batch.header.lineCount];
}

/**
 * Arguments of `ShanduSettlement.markSettled` for line `index` of `batch`, settled by the payment
 * reference `reference` (32 bytes, not all zero):
 * `[windowId, header, treeRoot, line, siblings, reference]`. The batch is trusted to be consistent (run
 * `checkSettlement` first when it came from elsewhere); the contract checks everything against the
 * window's published root. Throws `SettlementError` (`INDEX_OUT_OF_RANGE`) for a line not in the batch,
 * `CodecError` (`BAD_LENGTH`, `VALUE_OUT_OF_RANGE`) for a bad reference.
 */
export function markSettledArgs(
  batch: SettlementBatch,
  index: number,
  reference: Uint8Array,
): [bigint, string, string, string, string[], string] {
  const proof = proveLine(batch, index);
  if (!(reference instanceof Uint8Array) || reference.length !== 32) {
    throw new CodecError("BAD_LENGTH", "reference must be 32 bytes", { facts: { length: reference?.length } });
  }
  if (reference.every((x) => x === 0)) throw new CodecError("VALUE_OUT_OF_RANGE", "reference is all zeros");
  return [
    batch.header.windowId,
    toHex(encodeSettlementHeader(batch.header)),
    toHex(batch.treeRoot),
    toHex(encodeSettlementLine(batch.lines[index]!)),
    proof.siblings.map((s) => toHex(s)),
    toHex(reference),
  ];
}
