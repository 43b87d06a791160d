/**
 * What goes with the `ShanduRedemption` contracts (docs/redemption.md): their payload codec (re-exported
 * from `@shandu/proofs`, byte for byte what the contract builds with `abi.encodePacked` and checks in
 * `shanduReceive`), the redemption id, the contract's state numbering and the message of an outbox event.
 */
import { concatBytes, decodeMessage, fixedBytes as fixed, keccak256, type Message, fixedUint as uintBytes } from "@shandu/proofs";

// The payload codec lives in @shandu/proofs, where the auditor's check (`shandu audit`) reads it.
export {
  AUTHORISE_ENVELOPE_OFFSET,
  type AuthorisePayload,
  type ConfirmPayload,
  decodeRedemptionPayload,
  type ExpiredPayload,
  encodeRedemptionPayload,
  REDEMPTION_OP,
  REDEMPTION_PAYLOAD_LENGTH,
  REDEMPTION_PAYLOAD_VERSION,
  type RedemptionPayload,
  type RejectPayload,
  reasonCode,
} from "@shandu/proofs";

/** `ShanduRedemption.State`, as the contract numbers it. */
export const RedemptionState = {
  none: 0,
  locked: 1,
  burned: 2,
  refunded: 3,
  authorised: 4,
  confirmed: 5,
  rejected: 6,
  expired: 7,
} as const;
export type RedemptionStateName = keyof typeof RedemptionState;

export const U64_MAX = (1n << 64n) - 1n;

/** @internal Byte helpers shared with `alliance.ts` (from `@shandu/proofs`). */
export { fixedBytes as fixed, fixedUint as uintBytes, readUint } from "@shandu/proofs";

/**
 * `keccak256(abi.encode(chainId, redemptionContract, user, userNonce))`: the id of the `userNonce`-th
 * redemption `user` requests at `redemptionContract` on Shandu chain `chainId`. (On a FISCO BCOS chain
 * with the SM crypto suite the EVM's keccak256 is SM3: read the id from the contract's event or its
 * `redemptionId` view there.)
 */
export function redemptionId(chainId: bigint, redemptionContract: Uint8Array, user: Uint8Array, userNonce: bigint): Uint8Array {
  const word = (b: Uint8Array) => concatBytes(new Uint8Array(12), fixed(b, 20, "address"));
  return keccak256(
    concatBytes(
      uintBytes(chainId, 32, U64_MAX, "chainId"),
      word(redemptionContract),
      word(user),
      uintBytes(userNonce, 32, U64_MAX, "userNonce"),
    ),
  );
}

/**
 * The message of an outbox `MessageSent` event, from its `body` (fields 1–8) and the log's position
 * (fields 9–11, which the watcher appends).
 */
export function messageFromOutboxBody(
  body: Uint8Array,
  source: { blockNumber: bigint; txHash: Uint8Array; logIndex: number } = { blockNumber: 0n, txHash: new Uint8Array(32), logIndex: 0 },
): Message {
  const tail = concatBytes(
    uintBytes(source.blockNumber, 8, U64_MAX, "blockNumber"),
    fixed(source.txHash, 32, "txHash"),
    uintBytes(BigInt(source.logIndex), 4, 0xffff_ffffn, "logIndex"),
  );
  return decodeMessage(concatBytes(body, tail));
}
