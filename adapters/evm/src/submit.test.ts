import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BATCH_DELIVERED_TOPIC as PROVEN_TOPIC, toHex } from "@shandu/proofs";
import type { Log } from "ethers";
import { BATCH_DELIVERED_TOPIC, inboxAbi, outboxAbi } from "./abi.ts";
import { executedNonces } from "./submit.ts";

const INBOX = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const ROOT = `0x${"cd".repeat(32)}`;

function delivered(address: string, source: bigint, fromNonce: bigint, outcomes: string): Log {
  const { topics, data } = inboxAbi.encodeEventLog("BatchDelivered", [source, ROOT, fromNonce, outcomes]);
  return { address, topics, data } as unknown as Log;
}

describe("executedNonces", () => {
  test("the adapter's ABI and the evidence verifier agree on the BatchDelivered topic", () => {
    assert.equal(BATCH_DELIVERED_TOPIC, toHex(PROVEN_TOPIC));
  });

  test("reads the outcomes of the inbox's BatchDelivered events for the lane: executed and failed, not the skipped", () => {
    // Nonces 2..9: 2 skipped, 3 executed, 4 failed, 5 executed | 6 skipped, 7 executed, 8 and 9 not in the delivery.
    const outcomes = "0x7404";
    const sent = outboxAbi.encodeEventLog("MessageSent", [1001n, 4n, "0x01"]);
    const logs = [
      delivered(INBOX.toLowerCase(), 1001n, 2n, outcomes),
      delivered(INBOX, 1003n, 10n, "0x01"),
      delivered("0x5FbDB2315678afecb367f032d93F642f64180aa3", 1001n, 20n, "0x01"),
      { address: INBOX, ...sent } as unknown as Log,
      delivered(INBOX, 1001n, 30n, "0x0d"),
    ];
    assert.deepEqual(executedNonces({ logs }, INBOX, 1001n), [3n, 4n, 5n, 7n, 30n, 31n]);
    assert.deepEqual(executedNonces({ logs }, INBOX, 1003n), [10n]);
    assert.deepEqual(executedNonces({ logs: [] }, INBOX, 1001n), []);
  });
});
