/** Cursor helpers: start positions, ordering and the JSON form a service persists. */
import { fromHex, type Json, toHex } from "@shandu/proofs";
import { z } from "zod";
import { parseWith, u64Schema } from "./config.ts";
import type { Cursor } from "./interface.ts";

/** The position before the first event of `blockNumber` (default: the chain's first block). */
export function startCursor(blockNumber = 0n): Cursor {
  return { blockNumber, eventIndex: -1, blockHash: null };
}

/** Negative, zero or positive as `a` is before, at or after `b` (block hashes are not compared). */
export function compareCursors(a: Cursor, b: Cursor): number {
  if (a.blockNumber !== b.blockNumber) return a.blockNumber < b.blockNumber ? -1 : 1;
  return a.eventIndex - b.eventIndex;
}

/** JSON form: `{"blockNumber": "<decimal>", "eventIndex": n, "blockHash": "0x…" | null}`. */
export function cursorToJson(c: Cursor): Json {
  return { blockNumber: c.blockNumber.toString(), eventIndex: c.eventIndex, blockHash: c.blockHash ? toHex(c.blockHash) : null };
}

const cursorSchema = z.strictObject({
  blockNumber: u64Schema,
  eventIndex: z.int().min(-1).max(0xffff_ffff),
  blockHash: z
    .string()
    .regex(/^0x[0-9a-fA-F]{64}$/, { error: "must be 0x and 32 bytes of hex" })
    .nullable(),
});

/** Reads a persisted cursor (untrusted). Throws `INVALID_CURSOR` naming the field. */
export function cursorFromJson(v: unknown): Cursor {
  const c = parseWith(cursorSchema, v, "INVALID_CURSOR", "cursor");
  return { blockNumber: c.blockNumber, eventIndex: c.eventIndex, blockHash: c.blockHash === null ? null : fromHex(c.blockHash, 32) };
}
