/**
 * 善度 credits of this chain (`GoodDeedCredits.sol`): per account and credit class, the balance, the locked
 * credits, the burned credits and everything issued (`balance + locked + burned = issued` always), and
 * what each sponsor committed to fund per class. Credits are closed-loop: no transfer, no approval, no
 * withdrawal.
 *
 * The EVM contract's caller checks (`NOT_DEED_REGISTRY`, `NOT_REDEMPTION_CONTRACT`) have no counterpart:
 * these functions are not transactions; only the deed records (`issue`) and the redemption (`lock`,
 * `burn`, `refund`) call them, inside the application's key space. The other checks and codes are the
 * contract's, in its order.
 */
import { toHex } from "@shandu/proofs";
import type { RecipientState } from "../recipients.ts";
import { classSponsor, hasRole, ROLE } from "./alliance.ts";
import { isZero, rejected } from "./common.ts";

export interface CreditAccount {
  balance: bigint;
  locked: bigint;
  burned: bigint;
  issued: bigint;
}

interface StoredAccount {
  balance: string;
  locked: string;
  burned: string;
  issued: string;
}

const K = {
  account: (user: Uint8Array, creditClass: Uint8Array) => `credits/${toHex(user).slice(2)}/${toHex(creditClass).slice(2)}`,
  sponsor: (sponsor: Uint8Array, creditClass: Uint8Array) => `credits/sponsor/${toHex(sponsor).slice(2)}/${toHex(creditClass).slice(2)}`,
};

export async function creditsOf(s: RecipientState, user: Uint8Array, creditClass: Uint8Array): Promise<CreditAccount> {
  const a = await s.getJson<StoredAccount>(K.account(user, creditClass));
  return a
    ? { balance: BigInt(a.balance), locked: BigInt(a.locked), burned: BigInt(a.burned), issued: BigInt(a.issued) }
    : { balance: 0n, locked: 0n, burned: 0n, issued: 0n };
}

/** What `sponsor` committed to fund for `creditClass` (`issuedBySponsor`). */
export async function issuedBySponsor(s: RecipientState, sponsor: Uint8Array, creditClass: Uint8Array): Promise<bigint> {
  return BigInt((await s.getJson<string>(K.sponsor(sponsor, creditClass))) ?? "0");
}

function put(s: RecipientState, user: Uint8Array, creditClass: Uint8Array, a: CreditAccount): void {
  s.putJson(K.account(user, creditClass), {
    balance: a.balance.toString(),
    locked: a.locked.toString(),
    burned: a.burned.toString(),
    issued: a.issued.toString(),
  } satisfies StoredAccount);
}

export interface Issuance {
  user: Uint8Array;
  creditClass: Uint8Array;
  amount: bigint;
  sponsor: Uint8Array;
  deedRef: Uint8Array;
  issuer: Uint8Array;
}

/**
 * `GoodDeedCredits.issue`: `NOT_ISSUER` (the issuer does not hold ISSUER on `chainId`), `SPONSOR_MISMATCH`
 * (zero, or not the class's sponsor), `ZERO_AMOUNT`, `INVALID_USER` (the zero account).
 */
export async function issue(s: RecipientState, chainId: bigint, i: Issuance): Promise<void> {
  if (!(await hasRole(s, ROLE.issuer, chainId, i.issuer))) throw rejected("NOT_ISSUER", "the issuer does not hold ISSUER on this chain");
  if (isZero(i.sponsor) || toHex(i.sponsor) !== toHex(await classSponsor(s, i.creditClass))) {
    throw rejected("SPONSOR_MISMATCH", "the sponsor is not the credit class's sponsor", { sponsor: toHex(i.sponsor) });
  }
  if (i.amount === 0n) throw rejected("ZERO_AMOUNT", "0 credits");
  if (isZero(i.user)) throw rejected("INVALID_USER", "the zero account");
  const a = await creditsOf(s, i.user, i.creditClass);
  put(s, i.user, i.creditClass, { ...a, balance: a.balance + i.amount, issued: a.issued + i.amount });
  const key = K.sponsor(i.sponsor, i.creditClass);
  s.putJson(key, ((await issuedBySponsor(s, i.sponsor, i.creditClass)) + i.amount).toString());
}

/** `lock`: balance → locked. `ZERO_AMOUNT`, `INSUFFICIENT_CREDITS`. */
export async function lock(s: RecipientState, user: Uint8Array, creditClass: Uint8Array, amount: bigint): Promise<void> {
  if (amount === 0n) throw rejected("ZERO_AMOUNT", "0 credits");
  const a = await creditsOf(s, user, creditClass);
  if (a.balance < amount) throw rejected("INSUFFICIENT_CREDITS", "more credits than the balance", { balance: a.balance, amount });
  put(s, user, creditClass, { ...a, balance: a.balance - amount, locked: a.locked + amount });
}

/** `burn`: locked → burned (a confirmed redemption). `ZERO_AMOUNT`, `INSUFFICIENT_CREDITS`. */
export async function burn(s: RecipientState, user: Uint8Array, creditClass: Uint8Array, amount: bigint): Promise<void> {
  const a = await unlock(s, user, creditClass, amount);
  put(s, user, creditClass, { ...a, burned: a.burned + amount });
}

/** `refund`: locked → balance (a rejected or expired redemption). `ZERO_AMOUNT`, `INSUFFICIENT_CREDITS`. */
export async function refund(s: RecipientState, user: Uint8Array, creditClass: Uint8Array, amount: bigint): Promise<void> {
  const a = await unlock(s, user, creditClass, amount);
  put(s, user, creditClass, { ...a, balance: a.balance + amount });
}

async function unlock(s: RecipientState, user: Uint8Array, creditClass: Uint8Array, amount: bigint): Promise<CreditAccount> {
  if (amount === 0n) throw rejected("ZERO_AMOUNT", "0 credits");
  const a = await creditsOf(s, user, creditClass);
  if (a.locked < amount) throw rejected("INSUFFICIENT_CREDITS", "more credits than are locked", { locked: a.locked, amount });
  return { ...a, locked: a.locked - amount };
}

export function creditAccountJson(a: CreditAccount) {
  return { balance: a.balance.toString(), locked: a.locked.toString(), burned: a.burned.toString(), issued: a.issued.toString() };
}
