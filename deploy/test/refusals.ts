/**
 * What the contract tests share: the `ShanduRejected` code of a refused call, the assertion that a call
 * is refused with a given code, and the events a contract emitted in a transaction.
 */
import assert from "node:assert/strict";
import type { Contract, TransactionReceipt } from "ethers";
import { decodeRejection } from "../src/mod.ts";

/** A transaction that passed its gas estimate but reverted in its block. */
export class RevertedInBlock extends Error {}

/** The revert code of a refused call, or a description of what else went wrong. */
export function codeOf(err: unknown): string {
  if (err instanceof RevertedInBlock) return "REVERTED_IN_BLOCK";
  const e = err as { data?: string; info?: { error?: { data?: string } } };
  const data = e.data ?? e.info?.error?.data;
  if (typeof data !== "string") return `(no revert data: ${(err as Error).message})`;
  return decodeRejection(data)?.code ?? `(unknown revert ${data})`;
}

/** Asserts that `p` is refused with `ShanduRejected(code)`. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.equal(codeOf(err), code);
    return true;
  });
}

export interface EmittedEvent {
  name: string;
  args: Record<string, unknown> & unknown[];
}

/** The events contract `c` emitted in `receipt`, decoded with its ABI, in log order. */
export function eventsIn(receipt: TransactionReceipt, c: Contract): EmittedEvent[] {
  const address = c.target.toString().toLowerCase();
  return receipt.logs
    .filter((l) => l.address.toLowerCase() === address)
    .map((l) => c.interface.parseLog(l)!)
    .map((l) => ({ name: l.name, args: l.args as unknown as EmittedEvent["args"] }));
}
