import { type Message, MessageKind } from "../message.ts";

const fill = (n: number, b: number) => new Uint8Array(n).fill(b);

/**
 * An app message of the lane (`sourceChainId` → `destinationChainId`) at `nonce`, with fixed sender and
 * recipient and a payload and source position derived from the nonce: for tests that need many
 * distinct, valid messages of one lane.
 */
export function laneMessage(sourceChainId: bigint, destinationChainId: bigint, nonce: bigint): Message {
  return {
    version: 1,
    sourceChainId,
    destinationChainId,
    nonce,
    kind: MessageKind.app,
    sender: fill(20, 0xa1),
    recipient: fill(20, 0xb2),
    payload: new TextEncoder().encode(`deed-${nonce}`),
    source: { blockNumber: 40n + nonce, txHash: fill(32, Number(nonce & 0xffn)), logIndex: 0 },
  };
}
