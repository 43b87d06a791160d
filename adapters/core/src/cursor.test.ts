import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compareCursors, cursorFromJson, cursorToJson, startCursor } from "./cursor.ts";
import { AdapterError } from "./errors.ts";

describe("cursor", () => {
  const hash = Uint8Array.from({ length: 32 }, (_, i) => i);

  test("round-trips through JSON text", () => {
    const c = { blockNumber: 18446744073709551615n, eventIndex: 4, blockHash: hash };
    assert.deepEqual(cursorFromJson(JSON.parse(JSON.stringify(cursorToJson(c)))), c);
    assert.deepEqual(cursorFromJson(cursorToJson(startCursor(5n))), { blockNumber: 5n, eventIndex: -1, blockHash: null });
  });

  test("orders by block, then event", () => {
    assert.ok(compareCursors(startCursor(2n), { blockNumber: 1n, eventIndex: 9, blockHash: null }) > 0);
    assert.ok(compareCursors(startCursor(1n), { blockNumber: 1n, eventIndex: 0, blockHash: hash }) < 0);
    assert.equal(
      compareCursors({ blockNumber: 3n, eventIndex: 2, blockHash: null }, { blockNumber: 3n, eventIndex: 2, blockHash: hash }),
      0,
    );
  });

  const bad: [string, unknown, string][] = [
    ["a numeric block number past u64", { blockNumber: "18446744073709551616", eventIndex: 0, blockHash: null }, "blockNumber"],
    ["an event index below −1", { blockNumber: "1", eventIndex: -2, blockHash: null }, "eventIndex"],
    ["a short block hash", { blockNumber: "1", eventIndex: 0, blockHash: "0x00" }, "blockHash"],
    ["an extra field", { blockNumber: "1", eventIndex: 0, blockHash: null, chain: 1 }, "chain"],
  ];
  for (const [name, raw, path] of bad) {
    test(`refuses ${name} with INVALID_CURSOR at ${path}`, () => {
      assert.throws(
        () => cursorFromJson(raw),
        (e) => e instanceof AdapterError && e.code === "INVALID_CURSOR" && e.facts.path === path,
      );
    });
  }
});
