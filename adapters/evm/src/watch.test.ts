import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AdapterError } from "@shandu/adapter-core";
import { encodeMessage, type Message, MessageKind, toHex } from "@shandu/proofs";
import { outboxAbi } from "./abi.ts";
import { messageFromLog } from "./watch.ts";

const TX = `0x${"ab".repeat(32)}`;

function message(overrides: Partial<Message> = {}): Message {
  return {
    version: 1,
    sourceChainId: 1001n,
    destinationChainId: 2002n,
    nonce: 7n,
    kind: MessageKind.app,
    sender: new Uint8Array(20).fill(0x11),
    recipient: new Uint8Array(20).fill(0x22),
    payload: new TextEncoder().encode("deed-7"),
    source: { blockNumber: 42n, txHash: new Uint8Array(32).fill(0xab), logIndex: 1 },
    ...overrides,
  };
}

/** The log the outbox emits for `m`: the body is the encoding without the 44-byte source position. */
function logFor(m: Message, topics: { destination?: bigint; nonce?: bigint } = {}) {
  const body = encodeMessage(m).subarray(0, -44);
  const { topics: t, data } = outboxAbi.encodeEventLog("MessageSent", [
    topics.destination ?? m.destinationChainId,
    topics.nonce ?? m.nonce,
    toHex(body),
  ]);
  return { topics: t, data, blockNumber: Number(m.source.blockNumber), transactionHash: TX, index: 9 };
}

describe("messageFromLog", () => {
  test("appends the source position to the emitted body and checks the result", () => {
    const m = message();
    const { message: decoded, encoding } = messageFromLog(1001n, logFor(m), 1);
    assert.deepEqual(decoded, m);
    assert.deepEqual(encoding, encodeMessage(m));
  });

  const refused: [string, () => ReturnType<typeof logFor>, bigint][] = [
    ["a message of another source chain", () => logFor(message()), 1003n],
    ["topics that disagree with the body (nonce)", () => logFor(message(), { nonce: 8n }), 1001n],
    ["topics that disagree with the body (destination)", () => logFor(message(), { destination: 2003n }), 1001n],
    [
      "a body that does not decode",
      () => ({ ...logFor(message()), data: outboxAbi.encodeEventLog("MessageSent", [2002n, 7n, "0x02"]).data }),
      1001n,
    ],
  ];
  for (const [name, log, chainId] of refused) {
    test(`refuses ${name} as MESSAGE_NOT_FOUND`, () => {
      assert.throws(
        () => messageFromLog(chainId, log(), 1),
        (e: unknown) => e instanceof AdapterError && e.code === "MESSAGE_NOT_FOUND",
      );
    });
  }
});
