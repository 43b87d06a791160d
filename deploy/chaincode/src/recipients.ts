/**
 * The in-chaincode recipient registry. An app message's `recipient` (field 7) is, on Fabric, the UTF-8
 * name of an application built into this chaincode; the inbox looks the name up in a `Map` given to its
 * constructor and calls the handler. There is no registration at import time and no way for a message to
 * reach anything but a registered handler: governance messages never go to a recipient, and a handler's
 * state is confined to its own key prefix (`app/<name>/`), so no message can touch the inbox's committee
 * registry, lanes or configuration (the Poly Network lesson, docs/protocol.md §10).
 *
 * A handler that throws fails on its own account, as an EVM recipient that reverts: its writes are
 * discarded, the message stays consumed and is recorded as failed (outcome 3), and `retry` may run it
 * again. Handlers must be deterministic (no clock but `txTimeSeconds`, no randomness, no I/O).
 */
import type { TxState } from "./state.ts";

/** One message as a recipient receives it. */
export interface RecipientCall {
  sourceChainId: bigint;
  /** The source chain's sender of the message (field 6). */
  sender: Uint8Array;
  nonce: bigint;
  payload: Uint8Array;
  messageId: Uint8Array;
  /** The delivering transaction's time (Unix seconds) and id. */
  txTimeSeconds: bigint;
  txId: string;
}

/** A recipient's world state: keys are relative to its own prefix. */
export interface RecipientState {
  get(key: string): Promise<Uint8Array | undefined>;
  getJson<T>(key: string): Promise<T | undefined>;
  put(key: string, value: Uint8Array): void;
  putJson(key: string, value: unknown): void;
  delete(key: string): void;
}

export type RecipientHandler = (call: RecipientCall, state: RecipientState) => Promise<void>;

export type RecipientRegistry = ReadonlyMap<string, RecipientHandler>;

/**
 * The registry of a bare `ShanduInbox`: empty, so every app message delivered to it is consumed and
 * recorded as failed (and can be retried). The deployed chaincode's inbox (`ShanduAppInbox`, src/app/)
 * registers the 善度 application's recipients instead.
 */
export function defaultRecipients(): RecipientRegistry {
  return new Map();
}

/** {@link RecipientState} over a child of the transaction's state, under `prefix`. */
export function scopedState(state: TxState, prefix: string): RecipientState {
  const k = (key: string) => `${prefix}${key}`;
  return {
    get: (key) => state.get(k(key)),
    getJson: (key) => state.getJson(k(key)),
    put: (key, value) => state.put(k(key), value),
    putJson: (key, value) => state.putJson(k(key), value),
    delete: (key) => state.delete(k(key)),
  };
}
