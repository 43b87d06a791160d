/**
 * Recipients for tests: `recordingRecipient` keeps every message it receives in its state (under
 * `received/<sourceChainId>/<nonce>`), and `failingRecipient` writes and then throws, so tests can see that
 * a failing recipient's writes are discarded.
 */
import { toHex } from "@shandu/proofs";
import type { RecipientHandler } from "../recipients.ts";

export const recordingRecipient: RecipientHandler = async (call, state) => {
  const count = (await state.getJson<number>("count")) ?? 0;
  state.putJson("count", count + 1);
  state.putJson(`received/${call.sourceChainId}/${call.nonce}`, {
    sender: toHex(call.sender),
    payload: toHex(call.payload),
    messageId: toHex(call.messageId),
    txTimeSeconds: call.txTimeSeconds,
  });
};

export const failingRecipient: RecipientHandler = async (_call, state) => {
  state.putJson("attempted", true);
  throw new Error("the failing test recipient always fails");
};
