/**
 * What the 善度 application functions of the chaincode share: their recipient names (which are also the
 * senders of the messages they send), their key spaces, the Fabric account of a client, the application's
 * configuration (fixed once by `ShanduApp:initialise`), and readers for transaction arguments.
 *
 * Key spaces. The inbox hands a recipient only the keys under `app/<name>/` (recipients.ts). The alliance
 * registry, the credits, the deed records and the redemptions must see each other's state while a
 * delivered message runs (B checks PLATFORM when an `AUTHORISE` arrives, A burns or refunds credits when
 * an answer arrives), so they are one recipient, {@link APP_RECIPIENT}, with one key space. The settlement
 * needs only its own state while a root arrives, and its peers on other chains are other contracts than
 * the redemption peers, so it is a recipient of its own, {@link SETTLEMENT_RECIPIENT}. Transaction
 * functions go through the same scoped views, so no application code can touch the inbox's keys.
 */
import { fromHex, toHex, U64_MAX } from "@shandu/proofs";
import { KEYS, schema } from "../config.ts";
import { ChaincodeError, type ErrorFacts } from "../errors.ts";
import { type RecipientState, scopedState } from "../recipients.ts";
import { clientSender, type ShanduContext, type TxState } from "../state.ts";

/** The recipient name of the alliance registry, credits, deeds and redemption; also the sender of their messages. */
export const APP_RECIPIENT = "shandu";
/** The recipient name of the settlement; also the sender of the roots it sends. */
export const SETTLEMENT_RECIPIENT = "settlement";

export const APP_SENDER: Uint8Array = new TextEncoder().encode(APP_RECIPIENT);
export const SETTLEMENT_SENDER: Uint8Array = new TextEncoder().encode(SETTLEMENT_RECIPIENT);

/** The application's key space within a transaction (the same view a delivered message gets). */
export function appState(state: TxState): RecipientState {
  return scopedState(state, KEYS.recipient(APP_RECIPIENT));
}

/** The settlement's key space within a transaction. */
export function settlementState(state: TxState): RecipientState {
  return scopedState(state, KEYS.recipient(SETTLEMENT_RECIPIENT));
}

/** A refusal with the code of the EVM contract that refuses the same thing. */
export function rejected(code: string, text: string, facts?: ErrorFacts): ChaincodeError {
  return new ChaincodeError(code, text, facts ? { facts } : {});
}

/**
 * The 20-byte account of a Fabric client: the last 20 bytes of its 32-byte Shandu sender
 * `SHA-256(mspId ‖ 0x00 ‖ certificate DER)` (state.ts). It fills the 20-byte user and platform fields of
 * the redemption payloads and is what roles are granted to. A renewed certificate is a new account.
 */
export function accountOfSender(sender: Uint8Array): Uint8Array {
  return sender.slice(sender.length - 20);
}

/** The calling client's account, see {@link accountOfSender}. */
export function clientAccount(ctx: ShanduContext): Uint8Array {
  return accountOfSender(clientSender(ctx));
}

export function isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/** Big-endian unsigned bytes of `v` in `n` bytes (`v` already in range). */
export function beBytes(v: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = v;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export const U128_MAX = (1n << 128n) - 1n;
export const U256_MAX = (1n << 256n) - 1n;

/** A uint256 argument as a decimal string without leading zeros. */
export function u256(v: unknown, path: string): bigint {
  if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,77})$/.test(v) || BigInt(v) > U256_MAX)
    throw schema(path, "a uint256 as a decimal string");
  return BigInt(v);
}

export { U64_MAX };

// ------------------------------------------------------------------------------------------ config

/** The application's configuration as stored under `app/shandu/config` (and, for the settlement, `app/settlement/config`). */
export interface StoredAppConfig {
  chainId: string;
  /** Alliance governance sources: `[chainId, sender hex]`, in the order given. */
  governance: [string, string][];
  /** Source chain id → the peer redemption recipient there (hex), both where AUTHORISE goes and whose answers count. */
  redemptionPeers: Record<string, string>;
  /** Chain id → the peer settlement recipient there (hex). */
  settlementPeers: Record<string, string>;
  refundMarginSeconds: string;
  initialisedBy: string;
}

export interface AppConfig {
  chainId: bigint;
  governance: { chainId: bigint; sender: Uint8Array }[];
  redemptionPeers: ReadonlyMap<bigint, Uint8Array>;
  settlementPeers: ReadonlyMap<bigint, Uint8Array>;
  refundMarginSeconds: bigint;
}

export const CONFIG_KEY = "config";

function parseStored(s: StoredAppConfig): AppConfig {
  return {
    chainId: BigInt(s.chainId),
    governance: s.governance.map(([c, v]) => ({ chainId: BigInt(c), sender: fromHex(v) })),
    redemptionPeers: new Map(Object.entries(s.redemptionPeers).map(([k, v]) => [BigInt(k), fromHex(v)])),
    settlementPeers: new Map(Object.entries(s.settlementPeers).map(([k, v]) => [BigInt(k), fromHex(v)])),
    refundMarginSeconds: BigInt(s.refundMarginSeconds),
  };
}

/** The application's configuration in a key space that holds it; `NOT_INITIALISED` before `ShanduApp:initialise`. */
export async function readAppConfig(s: RecipientState): Promise<AppConfig> {
  const stored = await s.getJson<StoredAppConfig>(CONFIG_KEY);
  if (!stored) throw rejected("NOT_INITIALISED", "the 善度 application has not been initialised");
  return parseStored(stored);
}

/** Whether (`sourceChainId`, `sender`) is an alliance governance source. */
export function isGovernanceSource(c: AppConfig, sourceChainId: bigint, sender: Uint8Array): boolean {
  const hex = toHex(sender);
  return c.governance.some((g) => g.chainId === sourceChainId && toHex(g.sender) === hex);
}
