/**
 * The chaincode's configuration, fixed once by `ShanduInbox:initialise` and read by both contracts, the
 * world-state key layout, and the JSON readers for transaction arguments. Arguments are untrusted: every
 * reader refuses what it does not expect with `SCHEMA` (the code of proofs' JSON readers).
 */
import { fromHex, toHex, U64_MAX } from "@shandu/proofs";
import { ChaincodeError } from "./errors.ts";
import type { TxState } from "./state.ts";

/** World-state keys. Outbox and inbox share the chaincode's namespace; recipients get `app/<name>/…`. */
export const KEYS = {
  config: "shandu/config",
  outboxNonce: (destination: bigint) => `outbox/nonce/${destination}`,
  latestEpoch: "inbox/latest-epoch",
  epoch: (epoch: bigint) => `inbox/epoch/${epoch}`,
  lane: (source: bigint) => `inbox/lane/${source}`,
  consumedAbove: (source: bigint, nonce: bigint) => `inbox/consumed/${source}/${nonce}`,
  failed: (messageIdHex: string) => `inbox/failed/${messageIdHex.slice(2)}`,
  recipient: (name: string) => `app/${name}/`,
} as const;

/** The configuration as stored (canonical JSON; u64 values as decimal strings, bytes as hex). */
export interface StoredConfig {
  chainId: string;
  genesisEpoch: string;
  /** Shandu sender (32 bytes) of the only client that may `sendGovernance`. */
  governor: string;
  /** Per source chain id, the only sender whose governance messages the inbox obeys. */
  governance: Record<string, string>;
  /** Shandu sender of the client that initialised the chaincode (a record, not a privilege). */
  initialisedBy: string;
}

export interface Config {
  chainId: bigint;
  genesisEpoch: bigint;
  governor: Uint8Array;
  governance: ReadonlyMap<bigint, Uint8Array>;
}

/** Throws `NOT_INITIALISED` before `initialise` ran. */
export async function readConfig(state: TxState): Promise<Config> {
  const s = await state.getJson<StoredConfig>(KEYS.config);
  if (!s) throw new ChaincodeError("NOT_INITIALISED", "the chaincode has not been initialised");
  return {
    chainId: BigInt(s.chainId),
    genesisEpoch: BigInt(s.genesisEpoch),
    governor: fromHex(s.governor),
    governance: new Map(Object.entries(s.governance).map(([k, v]) => [BigInt(k), fromHex(v)])),
  };
}

export function storedConfig(c: Config, initialisedBy: Uint8Array): StoredConfig {
  return {
    chainId: c.chainId.toString(),
    genesisEpoch: c.genesisEpoch.toString(),
    governor: toHex(c.governor),
    governance: Object.fromEntries([...c.governance].map(([k, v]) => [k.toString(), toHex(v)])),
    initialisedBy: toHex(initialisedBy),
  };
}

// ------------------------------------------------------------------------------------ argument readers

export function schema(path: string, expected: string): ChaincodeError {
  return new ChaincodeError("SCHEMA", `${path}: expected ${expected}`, { facts: { path } });
}

/** Parses a JSON argument; `SCHEMA` if it is not JSON or not an object. */
export function parseJsonObject(text: string, path: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw schema(path, "JSON");
  }
  return object(v, path);
}

export function object(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw schema(path, "an object");
  return v as Record<string, unknown>;
}

export function array(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) throw schema(path, `an array of at most ${max} entries`);
  return v;
}

/** A u64 as a decimal string without leading zeros (docs/protocol.md §1.4). */
export function u64(v: unknown, path: string): bigint {
  if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(v) || BigInt(v) > U64_MAX) throw schema(path, "a u64 as a decimal string");
  return BigInt(v);
}

/** `0x`-prefixed hex, of exactly `length` bytes when given, else of at most `maxLength`. */
export function hexBytes(v: unknown, path: string, opts: { length?: number; maxLength?: number } = {}): Uint8Array {
  if (typeof v !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(v)) throw schema(path, "0x-prefixed hex");
  const n = (v.length - 2) / 2;
  if (opts.length !== undefined && n !== opts.length) throw schema(path, `0x-prefixed hex of ${opts.length} bytes`);
  if (opts.maxLength !== undefined && n > opts.maxLength) throw schema(path, `0x-prefixed hex of at most ${opts.maxLength} bytes`);
  return fromHex(v);
}
