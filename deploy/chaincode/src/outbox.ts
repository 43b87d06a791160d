/**
 * `ShanduOutbox`: where clients of this Fabric channel send messages to other chains. It assigns the lane
 * nonce (from 0, per destination) and sets the chaincode event {@link MESSAGE_EVENT} whose payload is the
 * canonical encoding of message fields 1–8 (docs/protocol.md §2.1), exactly the `body` the EVM outbox
 * emits. The committee's watcher appends fields 9–11 from where the event was committed: the block
 * number, the transaction id read as the 32 bytes of its hex, and index 0 (Fabric keeps one chaincode
 * event per transaction).
 *
 * The sender (field 6) is the submitting client's Shandu identity, 32 bytes: `SHA-256(mspId ‖ 0x00 ‖
 * certificate DER)` ({@link senderOfIdentity}). Governance messages (kind 2, empty recipient) are sent only
 * by the governor fixed at initialisation. Nothing here can be reconfigured later.
 */
import { encodeMessage, type Message, MessageKind, toHex } from "@shandu/proofs";
import { Contract } from "fabric-contract-api";
import { hexBytes, KEYS, readConfig, u64 } from "./config.ts";
import { ChaincodeError } from "./errors.ts";
import { clientSender, emitEvent, type ShanduContext, type TxState, transaction } from "./state.ts";

/** Name of the chaincode event that carries a sent message's fields 1–8. */
export const MESSAGE_EVENT = "MessageSent";

/** Bytes fields 9–11 take at the end of an encoding: block number, transaction hash, log index. */
const POSITION_BYTES = 8 + 32 + 4;

/** Fields 1–8 of a message: its canonical encoding without the source position (§2.1). */
export function messageBody(m: Omit<Message, "source">): Uint8Array {
  const full = encodeMessage({ ...m, source: { blockNumber: 0n, txHash: new Uint8Array(32), logIndex: 0 } });
  return full.slice(0, full.length - POSITION_BYTES);
}

export interface SentMessage {
  destinationChainId: bigint;
  nonce: bigint;
  /** Fields 1–8, the event's payload. */
  body: Uint8Array;
}

/**
 * Sends one message from `sender` within the current transaction: assigns the nonce and queues the
 * event. For use by transaction functions of this chaincode (the outbox's own, and applications built
 * into the chaincode later). Throws `NOT_INITIALISED`, `INVALID_DESTINATION`, `FIELD_TOO_LONG`,
 * `EVENT_ALREADY_SET` (one message per transaction).
 */
export async function sendMessage(
  ctx: ShanduContext,
  state: TxState,
  m: { destinationChainId: bigint; kind: MessageKind; sender: Uint8Array; recipient: Uint8Array; payload: Uint8Array },
): Promise<SentMessage> {
  const config = await readConfig(state);
  if (m.destinationChainId === config.chainId || m.destinationChainId === 0n) {
    throw new ChaincodeError("INVALID_DESTINATION", "a message cannot go to this chain or to chain id 0", {
      facts: { destinationChainId: m.destinationChainId },
    });
  }
  const key = KEYS.outboxNonce(m.destinationChainId);
  const nonce = BigInt((await state.getJson<string>(key)) ?? "0");
  const body = messageBody({
    version: 1,
    sourceChainId: config.chainId,
    destinationChainId: m.destinationChainId,
    nonce,
    kind: m.kind,
    sender: m.sender,
    recipient: m.recipient,
    payload: m.payload,
  });
  emitEvent(ctx, MESSAGE_EVENT, body);
  state.putJson(key, (nonce + 1n).toString());
  return { destinationChainId: m.destinationChainId, nonce, body };
}

function sentJson(s: SentMessage): string {
  return JSON.stringify({ destinationChainId: s.destinationChainId.toString(), nonce: s.nonce.toString(), body: toHex(s.body) });
}

export class ShanduOutbox extends Contract {
  constructor() {
    super("ShanduOutbox");
  }

  /**
   * Sends an app message. `destinationChainId`: decimal u64; `recipientHex`: `0x` hex, at most 64 bytes
   * (the destination's address of the receiving application); `payloadHex`: `0x` hex, at most 65,536
   * bytes. Returns `{destinationChainId, nonce, body}` as JSON.
   */
  async send(ctx: ShanduContext, destinationChainId: string, recipientHex: string, payloadHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const sent = await sendMessage(ctx, state, {
        destinationChainId: u64(destinationChainId, "destinationChainId"),
        kind: MessageKind.app,
        sender: clientSender(ctx),
        recipient: hexBytes(recipientHex, "recipient", { maxLength: 1 << 17 }),
        payload: hexBytes(payloadHex, "payload", { maxLength: 1 << 17 }),
      });
      return sentJson(sent);
    });
  }

  /** Sends a governance message (kind 2, empty recipient). Only the governor may (`NOT_GOVERNOR`). */
  async sendGovernance(ctx: ShanduContext, destinationChainId: string, payloadHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const config = await readConfig(state);
      const sender = clientSender(ctx);
      if (toHex(sender) !== toHex(config.governor)) {
        throw new ChaincodeError("NOT_GOVERNOR", "only the governor fixed at initialisation sends governance messages");
      }
      const sent = await sendMessage(ctx, state, {
        destinationChainId: u64(destinationChainId, "destinationChainId"),
        kind: MessageKind.governance,
        sender,
        recipient: new Uint8Array(0),
        payload: hexBytes(payloadHex, "payload", { maxLength: 1 << 17 }),
      });
      return sentJson(sent);
    });
  }

  /** The nonce the next message to `destinationChainId` will get (the number sent so far), as a decimal string. */
  async nextNonce(ctx: ShanduContext, destinationChainId: string): Promise<string> {
    return transaction(
      ctx,
      async (state) => (await state.getJson<string>(KEYS.outboxNonce(u64(destinationChainId, "destinationChainId")))) ?? "0",
    );
  }

  /** The calling client's Shandu sender (32 bytes, hex): what to configure as governor or governance source. */
  async senderOf(ctx: ShanduContext): Promise<string> {
    return toHex(clientSender(ctx));
  }
}
