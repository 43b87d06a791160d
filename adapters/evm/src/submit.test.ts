import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Log } from "ethers";
import { inboxAbi } from "./abi.ts";
import { executedNonces } from "./submit.ts";

const INBOX = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
const ID = `0x${"cd".repeat(32)}`;

function delivered(address: string, source: bigint, nonce: bigint, success = true): Log {
  const { topics, data } = inboxAbi.encodeEventLog("MessageDelivered", [source, nonce, ID, success]);
  return { address, topics, data } as unknown as Log;
}

describe("executedNonces", () => {
  test("reads the inbox's MessageDelivered events for the lane, in order, failed executions included", () => {
    const batch = inboxAbi.encodeEventLog("BatchDelivered", [1001n, 1n, 3n, ID, 0n]);
    const logs = [
      delivered(INBOX.toLowerCase(), 1001n, 2n),
      delivered(INBOX, 1001n, 3n, false),
      delivered(INBOX, 1003n, 4n),
      delivered("0x5FbDB2315678afecb367f032d93F642f64180aa3", 1001n, 5n),
      { address: INBOX, ...batch } as unknown as Log,
    ];
    assert.deepEqual(executedNonces({ logs }, INBOX, 1001n), [2n, 3n]);
  });
});
