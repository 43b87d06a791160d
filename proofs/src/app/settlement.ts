/**
 * Settlement batches (docs/settlement.md): per settlement window, the confirmed redemptions are priced
 * at the alliance agreement's rates into gross obligations (sponsor → exchange platform), netted
 * multilaterally into transfers, and laid out as lines under one batch tree whose root — bound to a
 * header with the window, the agreement, the counts, the totals and the netting method — is what gets
 * attested. Each institution receives its line with an inclusion proof.
 *
 * Everything here is a pure function of (window, confirmed redemptions, agreement): input order does not
 * matter, and `checkSettlement` recomputes a batch from those inputs and names the first difference.
 * This is what an auditor runs; it depends only on the rest of `proofs/`.
 */
import { ByteWriter, bytesEqual, concatBytes, toHex, U64_MAX, utf8 } from "../bytes.ts";
import { MerkleError, SettlementError } from "../errors.ts";
import { sha256 } from "../hash.ts";
import { computeMultiProofRoot, MAX_TREE_LEAVES, MerkleTree, type MultiProof } from "../merkle.ts";

/** Domain tag of every settlement hash (docs/settlement.md §4). */
export const SETTLEMENT_TAG = utf8("SHANDU-SETTLE-v1");
export const SETTLEMENT_VERSION = 1;
/** Up to this many non-zero positions the netting is an exact minimum; above it, the greedy. */
export const EXACT_NETTING_LIMIT = 12;
export const U128_MAX = (1n << 128n) - 1n;
export const MAX_INSTITUTION_ID_BYTES = 256;
export const MAX_CURRENCY_BYTES = 32;

const RECORD_LINE = 0x01;
const RECORD_ROOT = 0x02;
const RECORD_EMPTY = 0x03;

/** Root of a tree with no leaves (no lines, or no redemptions): SHA-256(tag ‖ 0x03). Never all zeros. */
export const EMPTY_SETTLEMENT_TREE_ROOT: Uint8Array = sha256(concatBytes(SETTLEMENT_TAG, new Uint8Array([RECORD_EMPTY])));

export interface SettlementWindow {
  allianceAgreementId: string;
  /** u64. */
  windowId: bigint;
  /** u64, inclusive. */
  from: bigint;
  /** u64, exclusive. */
  to: bigint;
}

export interface ConfirmedRedemption {
  /** 32 bytes. */
  redemptionId: Uint8Array;
  /** Institution id of the sponsor that funds the redemption (the payer). */
  sponsor: string;
  /** Institution id of the exchange platform that honoured it (the payee). */
  exchangePlatform: string;
  /** > 0. */
  credits: bigint;
  creditClass: string;
  /** u64, same clock as the window: from ≤ confirmedAt < to. */
  confirmedAt: bigint;
}

/** Minor currency units per credit = numerator / denominator. */
export interface Rate {
  creditClass: string;
  /** A sponsor-specific rate; absent: the class-wide default. */
  sponsor?: string;
  /** 1 ≤ numerator ≤ 2^128 − 1. */
  numerator: bigint;
  /** 1 ≤ denominator ≤ 2^64 − 1. */
  denominator: bigint;
}

export interface AllianceAgreement {
  id: string;
  /** One currency per agreement (e.g. "CNY"); amounts are in its minor unit. */
  currency: string;
  rates: readonly Rate[];
}

export interface GrossObligation {
  payer: string;
  payee: string;
  /** Σ floor(credits × numerator / denominator), minor units. */
  amount: bigint;
  redemptions: number;
  /** What flooring left out, in 1/roundingDenominator minor units. */
  roundedOff: bigint;
}

export interface NetPosition {
  institution: string;
  receives: bigint;
  pays: bigint;
  /** receives − pays. */
  net: bigint;
}

export type NettingMethod = "exact" | "greedy";

export interface Transfer {
  payer: string;
  payee: string;
  amount: bigint;
}

export interface Netting {
  method: NettingMethod;
  /** In canonical order: by payer, then payee (UTF-8 bytes). */
  transfers: Transfer[];
}

export interface SettlementLine {
  windowId: bigint;
  index: number;
  payer: string;
  payee: string;
  amount: bigint;
  currency: string;
}

export interface SettlementHeader {
  version: number;
  allianceAgreementId: string;
  windowId: bigint;
  from: bigint;
  to: bigint;
  currency: string;
  redemptionCount: number;
  /** Batch tree over the redemption ids in ascending byte order. */
  redemptionsRoot: Uint8Array;
  obligationCount: number;
  grossTotal: bigint;
  /** lcm of the agreement's rate denominators. */
  roundingDenominator: bigint;
  /** Σ of what flooring left out, in 1/roundingDenominator minor units. */
  roundedOff: bigint;
  /** Institutions with a non-zero net position. */
  positionCount: number;
  nettingMethod: NettingMethod;
  lineCount: number;
  netTotal: bigint;
}

export interface SettlementBatch {
  header: SettlementHeader;
  obligations: GrossObligation[];
  /** Every institution that appears in an obligation, zero positions included. */
  positions: NetPosition[];
  lines: SettlementLine[];
  /** Batch tree root over the line leaf values (EMPTY_SETTLEMENT_TREE_ROOT with no lines). */
  treeRoot: Uint8Array;
  /** SHA-256(tag ‖ 0x02 ‖ header ‖ treeRoot): what is attested. */
  settlementRoot: Uint8Array;
}

/** A line's inclusion proof: a batch-tree proof for the one index `line.index`. */
export type SettlementLineProof = MultiProof;

// ---------------------------------------------------------------------------------------------------
// Text and ordering

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Institution ids are ordered by their UTF-8 bytes (not UTF-16 code units), so every language agrees. */
export function compareIds(a: string, b: string): number {
  return a === b ? 0 : compareBytes(utf8(a), utf8(b));
}

function textBytes(s: unknown, field: string, maxBytes: number): Uint8Array {
  if (typeof s !== "string" || s.length === 0)
    throw new SettlementError("INVALID_ID", `${field} must be a non-empty string`, { facts: { field } });
  if (!s.isWellFormed()) throw new SettlementError("INVALID_ID", `${field} is not well-formed Unicode`, { facts: { field } });
  const b = utf8(s);
  if (b.length > maxBytes) {
    throw new SettlementError("INVALID_ID", `${field} is too long`, { facts: { field, bytes: b.length, max: maxBytes } });
  }
  return b;
}

const idBytes = (s: unknown, field: string) => textBytes(s, field, MAX_INSTITUTION_ID_BYTES);

function u64(v: unknown, field: string): bigint {
  if (typeof v !== "bigint" || v < 0n || v > U64_MAX)
    throw new SettlementError("INVALID_WINDOW", `${field} must be a u64`, { facts: { field } });
  return v;
}

function u128Amount(v: bigint, field: string): bigint {
  if (v > U128_MAX) throw new SettlementError("AMOUNT_OVERFLOW", `${field} does not fit in 128 bits`, { facts: { field } });
  return v;
}

const gcd = (a: bigint, b: bigint): bigint => {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};

// ---------------------------------------------------------------------------------------------------
// Rates and gross obligations

interface RateTable {
  roundingDenominator: bigint;
  classes: Set<string>;
  byKey: Map<string, Rate>;
}

const rateKey = (creditClass: string, sponsor: string | undefined) => JSON.stringify([creditClass, sponsor ?? null]);

function rateTable(agreement: AllianceAgreement): RateTable {
  const byKey = new Map<string, Rate>();
  const classes = new Set<string>();
  let lcm = 1n;
  for (const rate of agreement.rates) {
    idBytes(rate.creditClass, "creditClass");
    if (rate.sponsor !== undefined) idBytes(rate.sponsor, "rate.sponsor");
    const { numerator: num, denominator: den } = rate;
    if (typeof num !== "bigint" || typeof den !== "bigint" || num < 1n || num > U128_MAX || den < 1n || den > U64_MAX) {
      throw new SettlementError("INVALID_RATE", "a rate needs 1 ≤ numerator < 2^128 and 1 ≤ denominator < 2^64", {
        facts: { creditClass: rate.creditClass, sponsor: rate.sponsor },
      });
    }
    const key = rateKey(rate.creditClass, rate.sponsor);
    if (byKey.has(key)) {
      throw new SettlementError("DUPLICATE_RATE", "two rates for the same credit class and sponsor", {
        facts: { creditClass: rate.creditClass, sponsor: rate.sponsor },
      });
    }
    byKey.set(key, rate);
    classes.add(rate.creditClass);
    lcm = (lcm / gcd(lcm, den)) * den;
    if (lcm > U128_MAX) throw new SettlementError("INVALID_RATE", "the rate denominators' lcm does not fit in 128 bits");
  }
  return { roundingDenominator: lcm, classes, byKey };
}

function rateFor(table: RateTable, r: ConfirmedRedemption): Rate {
  const rate = table.byKey.get(rateKey(r.creditClass, r.sponsor)) ?? table.byKey.get(rateKey(r.creditClass, undefined));
  if (rate) return rate;
  const facts = { redemptionId: toHex(r.redemptionId), creditClass: r.creditClass, sponsor: r.sponsor };
  if (!table.classes.has(r.creditClass)) throw new SettlementError("UNKNOWN_CREDIT_CLASS", "credit class not in the agreement", { facts });
  throw new SettlementError("MISSING_RATE", "no rate for this sponsor and no class-wide rate", { facts });
}

/** The redemptions in canonical order (ascending redemption id), each checked. */
function canonicalRedemptions(window: SettlementWindow, confirmations: readonly ConfirmedRedemption[]): ConfirmedRedemption[] {
  for (const r of confirmations) {
    if (!(r.redemptionId instanceof Uint8Array) || r.redemptionId.length !== 32) {
      throw new SettlementError("INVALID_REDEMPTION_ID", "redemption ids are 32 bytes", { facts: { length: r.redemptionId?.length } });
    }
  }
  const sorted = [...confirmations].sort((a, b) => compareBytes(a.redemptionId, b.redemptionId));
  let prev: Uint8Array | undefined;
  for (const r of sorted) {
    const id = toHex(r.redemptionId);
    if (prev && bytesEqual(prev, r.redemptionId))
      throw new SettlementError("DUPLICATE_REDEMPTION", "redemption confirmed twice", { facts: { redemptionId: id } });
    prev = r.redemptionId;
    idBytes(r.sponsor, "sponsor");
    idBytes(r.exchangePlatform, "exchangePlatform");
    idBytes(r.creditClass, "creditClass");
    if (typeof r.credits !== "bigint" || r.credits <= 0n) {
      throw new SettlementError("NON_POSITIVE_CREDITS", "credits must be positive", { facts: { redemptionId: id, credits: r.credits } });
    }
    u128Amount(r.credits, "credits");
    if (r.sponsor === r.exchangePlatform) {
      throw new SettlementError("SELF_OBLIGATION", "a sponsor cannot owe itself", { facts: { redemptionId: id, institution: r.sponsor } });
    }
    if (typeof r.confirmedAt !== "bigint" || r.confirmedAt < window.from || r.confirmedAt >= window.to) {
      throw new SettlementError("OUTSIDE_WINDOW", "redemption confirmed outside the window", {
        facts: { redemptionId: id, confirmedAt: r.confirmedAt, from: window.from, to: window.to },
      });
    }
  }
  return sorted;
}

// ---------------------------------------------------------------------------------------------------
// Netting

interface Party {
  id: string;
  key: Uint8Array;
  /** Positive: what is still owed (payers) or due (receivers). */
  left: bigint;
}

/** Larger amount first, then smaller id. */
const partyOrder = (a: Party, b: Party) => (a.left !== b.left ? (a.left > b.left ? -1 : 1) : compareBytes(a.key, b.key));

function insertSorted(list: Party[], p: Party): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (partyOrder(list[mid]!, p) < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, p);
}

/** Largest payer to largest receiver, ties by smaller id; each step settles at least one of the two. */
function greedyTransfers(positions: readonly { institution: string; net: bigint }[], out: Transfer[]): void {
  const payers: Party[] = [];
  const receivers: Party[] = [];
  for (const p of positions) {
    if (p.net < 0n) payers.push({ id: p.institution, key: utf8(p.institution), left: -p.net });
    else if (p.net > 0n) receivers.push({ id: p.institution, key: utf8(p.institution), left: p.net });
  }
  payers.sort(partyOrder);
  receivers.sort(partyOrder);
  for (;;) {
    const payer = payers.shift();
    const receiver = receivers.shift();
    if (!payer || !receiver) break;
    let amount = payer.left;
    if (receiver.left < amount) amount = receiver.left;
    out.push({ payer: payer.id, payee: receiver.id, amount });
    payer.left -= amount;
    receiver.left -= amount;
    if (payer.left > 0n) insertSorted(payers, payer);
    if (receiver.left > 0n) insertSorted(receivers, receiver);
  }
}

function checkedPositions(positions: readonly { institution: string; net: bigint }[]): { institution: string; net: bigint }[] {
  const nonZero = positions.filter((p) => p.net !== 0n).sort((a, b) => compareIds(a.institution, b.institution));
  let sum = 0n;
  for (let i = 0; i < nonZero.length; i++) {
    if (i > 0 && nonZero[i - 1]!.institution === nonZero[i]!.institution) {
      throw new SettlementError("SETTLEMENT_MISMATCH", "an institution has two positions", {
        facts: { institution: nonZero[i]!.institution },
      });
    }
    sum += nonZero[i]!.net;
  }
  if (sum !== 0n) throw new SettlementError("SETTLEMENT_MISMATCH", "net positions do not sum to zero", { facts: { sum } });
  return nonZero;
}

const canonicalTransfers = (ts: Transfer[]) => ts.sort((a, b) => compareIds(a.payer, b.payer) || compareIds(a.payee, b.payee));

/** Deterministic greedy netting: at most n − 1 transfers for n non-zero positions. */
export function nettingGreedy(positions: readonly { institution: string; net: bigint }[]): Netting {
  const transfers: Transfer[] = [];
  greedyTransfers(checkedPositions(positions), transfers);
  return { method: "greedy", transfers: canonicalTransfers(transfers) };
}

/**
 * Exact minimum: n − k transfers where k is the largest number of disjoint zero-sum groups the positions
 * split into (subset DP over bitmasks, O(2^n · n)); each group is then settled by the greedy in
 * (size − 1) transfers. Refuses more than {@link EXACT_NETTING_LIMIT} non-zero positions.
 */
export function nettingExact(positions: readonly { institution: string; net: bigint }[]): Netting {
  const ps = checkedPositions(positions);
  const n = ps.length;
  if (n > EXACT_NETTING_LIMIT) {
    throw new SettlementError("TOO_MANY_LINES", "too many positions for exact netting", {
      facts: { positions: n, max: EXACT_NETTING_LIMIT },
    });
  }
  const full = (1 << n) - 1;
  const sum: bigint[] = new Array<bigint>(full + 1).fill(0n);
  const groups = new Int8Array(full + 1);
  for (let mask = 1; mask <= full; mask++) {
    const low = mask & -mask;
    sum[mask] = sum[mask ^ low]! + ps[31 - Math.clz32(low)]!.net;
    let best = 0;
    for (let rest = mask; rest !== 0; rest &= rest - 1) {
      const g = groups[mask ^ (rest & -rest)]!;
      if (g > best) best = g;
    }
    groups[mask] = best + (sum[mask] === 0n ? 1 : 0);
  }
  // Walk one optimal removal chain (lowest index first, so the choice is canonical); the chain's
  // zero-sum masks cut it into the groups.
  const cuts: number[] = [full];
  for (let mask = full; mask !== 0; ) {
    const z = sum[mask] === 0n ? 1 : 0;
    let i = 0;
    while (!((mask >> i) & 1) || groups[mask ^ (1 << i)]! + z !== groups[mask]!) i++;
    mask ^= 1 << i;
    if (sum[mask] === 0n) cuts.push(mask);
  }
  const transfers: Transfer[] = [];
  for (let c = 0; c + 1 < cuts.length; c++) {
    const group = cuts[c]! ^ cuts[c + 1]!;
    greedyTransfers(
      ps.filter((_, i) => (group >> i) & 1),
      transfers,
    );
  }
  return { method: "exact", transfers: canonicalTransfers(transfers) };
}

/** Exact up to {@link EXACT_NETTING_LIMIT} non-zero positions, greedy above. */
export function netting(positions: readonly { institution: string; net: bigint }[]): Netting {
  return positions.filter((p) => p.net !== 0n).length <= EXACT_NETTING_LIMIT ? nettingExact(positions) : nettingGreedy(positions);
}

// ---------------------------------------------------------------------------------------------------
// Encodings and hashes

function u128(w: ByteWriter, v: bigint, field: string): void {
  if (v < 0n) throw new SettlementError("AMOUNT_OVERFLOW", `${field} is negative`, { facts: { field } });
  u128Amount(v, field);
  w.u64(v >> 64n).u64(v & U64_MAX);
}

function u32(v: number, field: string): number {
  if (!Number.isSafeInteger(v) || v < 0 || v > 0xffffffff)
    throw new SettlementError("TOO_MANY_LINES", `${field} must be a u32`, { facts: { field } });
  return v;
}

/** Canonical line bytes (docs/settlement.md §4.1). */
export function encodeSettlementLine(line: SettlementLine): Uint8Array {
  const w = new ByteWriter(128);
  w.u64(u64(line.windowId, "windowId"));
  w.u32(u32(line.index, "index"));
  w.bytes16(idBytes(line.payer, "payer"));
  w.bytes16(idBytes(line.payee, "payee"));
  u128(w, line.amount, "amount");
  w.bytes8(textBytes(line.currency, "currency", MAX_CURRENCY_BYTES));
  return w.finish();
}

/** The 32-byte leaf value of a line: SHA-256(tag ‖ 0x01 ‖ line). */
export function settlementLineLeaf(line: SettlementLine): Uint8Array {
  return sha256(concatBytes(SETTLEMENT_TAG, new Uint8Array([RECORD_LINE]), encodeSettlementLine(line)));
}

const METHOD_BYTE: Record<NettingMethod, number> = { exact: 1, greedy: 2 };

/** Canonical header bytes (docs/settlement.md §4.2). */
export function encodeSettlementHeader(h: SettlementHeader): Uint8Array {
  const w = new ByteWriter(256);
  w.u8(h.version);
  w.bytes16(idBytes(h.allianceAgreementId, "allianceAgreementId"));
  w.u64(u64(h.windowId, "windowId")).u64(u64(h.from, "from")).u64(u64(h.to, "to"));
  w.bytes8(textBytes(h.currency, "currency", MAX_CURRENCY_BYTES));
  w.u32(u32(h.redemptionCount, "redemptionCount"));
  if (h.redemptionsRoot.length !== 32) throw new SettlementError("SETTLEMENT_MISMATCH", "redemptionsRoot must be 32 bytes");
  w.bytes(h.redemptionsRoot);
  w.u32(u32(h.obligationCount, "obligationCount"));
  u128(w, h.grossTotal, "grossTotal");
  u128(w, h.roundingDenominator, "roundingDenominator");
  u128(w, h.roundedOff, "roundedOff");
  w.u32(u32(h.positionCount, "positionCount"));
  const method = METHOD_BYTE[h.nettingMethod];
  if (method === undefined)
    throw new SettlementError("SETTLEMENT_MISMATCH", "unknown netting method", { facts: { method: String(h.nettingMethod) } });
  w.u8(method);
  w.u32(u32(h.lineCount, "lineCount"));
  u128(w, h.netTotal, "netTotal");
  return w.finish();
}

/** SHA-256(tag ‖ 0x02 ‖ header ‖ treeRoot). */
export function settlementRootOf(header: SettlementHeader, treeRoot: Uint8Array): Uint8Array {
  return sha256(concatBytes(SETTLEMENT_TAG, new Uint8Array([RECORD_ROOT]), encodeSettlementHeader(header), treeRoot));
}

function treeOver(values: Uint8Array[]): Uint8Array {
  if (values.length > MAX_TREE_LEAVES)
    throw new SettlementError("TOO_MANY_LINES", "too many leaves for one batch tree", { facts: { count: values.length } });
  return values.length === 0 ? EMPTY_SETTLEMENT_TREE_ROOT : MerkleTree.fromLeaves(values).root;
}

// ---------------------------------------------------------------------------------------------------
// The batch

/**
 * Computes the settlement batch of a window from its confirmed redemptions and the agreement. Input
 * order does not matter; refused input throws {@link SettlementError}.
 */
export function recomputeSettlement(
  window: SettlementWindow,
  confirmations: readonly ConfirmedRedemption[],
  agreement: AllianceAgreement,
): SettlementBatch {
  idBytes(agreement.id, "agreement.id");
  textBytes(agreement.currency, "currency", MAX_CURRENCY_BYTES);
  if (window.allianceAgreementId !== agreement.id) {
    throw new SettlementError("AGREEMENT_MISMATCH", "window and agreement differ", {
      facts: { window: window.allianceAgreementId, agreement: agreement.id },
    });
  }
  u64(window.windowId, "windowId");
  if (u64(window.from, "from") >= u64(window.to, "to")) {
    throw new SettlementError("INVALID_WINDOW", "a window needs from < to", { facts: { from: window.from, to: window.to } });
  }
  const table = rateTable(agreement);
  const D = table.roundingDenominator;
  const redemptions = canonicalRedemptions(window, confirmations);

  const byPair = new Map<string, GrossObligation>();
  const positionsById = new Map<string, NetPosition>();
  const position = (institution: string) => {
    const known = positionsById.get(institution);
    if (known) return known;
    const p: NetPosition = { institution, receives: 0n, pays: 0n, net: 0n };
    positionsById.set(institution, p);
    return p;
  };
  let grossTotal = 0n;
  let roundedOff = 0n;
  for (const r of redemptions) {
    const rate = rateFor(table, r);
    const exact = r.credits * rate.numerator;
    const amount = exact / rate.denominator;
    const rest = (exact % rate.denominator) * (D / rate.denominator);
    const key = JSON.stringify([r.sponsor, r.exchangePlatform]);
    const o = byPair.get(key) ?? { payer: r.sponsor, payee: r.exchangePlatform, amount: 0n, redemptions: 0, roundedOff: 0n };
    byPair.set(key, o);
    o.amount += amount;
    o.redemptions++;
    o.roundedOff += rest;
    grossTotal += amount;
    roundedOff += rest;
    position(r.sponsor).pays += amount;
    position(r.exchangePlatform).receives += amount;
  }
  u128Amount(grossTotal, "grossTotal");
  u128Amount(roundedOff, "roundedOff");
  const obligations = [...byPair.values()].sort((a, b) => compareIds(a.payer, b.payer) || compareIds(a.payee, b.payee));
  const positions = [...positionsById.values()].sort((a, b) => compareIds(a.institution, b.institution));
  for (const p of positions) p.net = p.receives - p.pays;

  const { method, transfers } = netting(positions);
  if (transfers.length > MAX_TREE_LEAVES)
    throw new SettlementError("TOO_MANY_LINES", "too many lines for one batch", { facts: { lines: transfers.length } });
  const lines: SettlementLine[] = transfers.map((t, index) => ({ windowId: window.windowId, index, ...t, currency: agreement.currency }));
  const netTotal = lines.reduce((s, l) => s + l.amount, 0n);
  const header: SettlementHeader = {
    version: SETTLEMENT_VERSION,
    allianceAgreementId: agreement.id,
    windowId: window.windowId,
    from: window.from,
    to: window.to,
    currency: agreement.currency,
    redemptionCount: redemptions.length,
    redemptionsRoot: treeOver(redemptions.map((r) => r.redemptionId)),
    obligationCount: obligations.length,
    grossTotal,
    roundingDenominator: D,
    roundedOff,
    positionCount: positions.filter((p) => p.net !== 0n).length,
    nettingMethod: method,
    lineCount: lines.length,
    netTotal,
  };
  const treeRoot = treeOver(lines.map(settlementLineLeaf));
  return { header, obligations, positions, lines, treeRoot, settlementRoot: settlementRootOf(header, treeRoot) };
}

/** The inclusion proof of line `index` (built from the batch's lines). */
export function proveLine(batch: SettlementBatch, index: number): SettlementLineProof {
  if (!Number.isSafeInteger(index) || index < 0 || index >= batch.lines.length) {
    throw new SettlementError("INDEX_OUT_OF_RANGE", "no such line in the batch", { facts: { index, lines: batch.lines.length } });
  }
  return MerkleTree.fromLeaves(batch.lines.map(settlementLineLeaf)).prove([index]);
}

function lineProofRoot(line: SettlementLine, proof: SettlementLineProof): Uint8Array {
  if (proof.indices.length !== 1 || proof.indices[0] !== line.index) {
    throw new SettlementError("LINE_PROOF_INVALID", "the proof is not for this line's index", {
      facts: { index: line.index, proven: proof.indices.join(",") },
    });
  }
  try {
    return computeMultiProofRoot(proof, [settlementLineLeaf(line)]);
  } catch (e) {
    if (e instanceof MerkleError)
      throw new SettlementError("LINE_PROOF_INVALID", "malformed line proof", { cause: e, facts: { reason: e.code } });
    throw e;
  }
}

/** Throws `LINE_PROOF_INVALID` unless `line` is in the batch tree with root `treeRoot`. */
export function verifyLine(treeRoot: Uint8Array, line: SettlementLine, proof: SettlementLineProof): void {
  if (!bytesEqual(lineProofRoot(line, proof), treeRoot)) {
    throw new SettlementError("LINE_PROOF_INVALID", "line does not lead to the batch root", { facts: { index: line.index } });
  }
}

/**
 * What an institution runs with its line: checks the line against the attested `settlementRoot` through
 * the header (window, currency, line count) and the inclusion proof.
 */
export function verifySettledLine(
  settlementRoot: Uint8Array,
  header: SettlementHeader,
  line: SettlementLine,
  proof: SettlementLineProof,
): void {
  const facts = { index: line.index };
  if (line.windowId !== header.windowId || line.currency !== header.currency || proof.treeSize !== header.lineCount) {
    throw new SettlementError("LINE_PROOF_INVALID", "line or proof does not belong to this header", { facts });
  }
  if (!bytesEqual(settlementRootOf(header, lineProofRoot(line, proof)), settlementRoot)) {
    throw new SettlementError("LINE_PROOF_INVALID", "line does not lead to the settlement root", { facts });
  }
}

// ---------------------------------------------------------------------------------------------------
// Audit

type Shown = string | number | bigint;
const show = (v: unknown): Shown => (v instanceof Uint8Array ? toHex(v) : typeof v === "bigint" || typeof v === "number" ? v : String(v));

function same(a: unknown, b: unknown): boolean {
  return a instanceof Uint8Array && b instanceof Uint8Array ? bytesEqual(a, b) : a === b;
}

function mismatch(step: string, index: number | undefined, field: string, expected: unknown, actual: unknown): never {
  throw new SettlementError(
    "SETTLEMENT_MISMATCH",
    `settlement batch differs from the recomputation at ${step}${index === undefined ? "" : ` ${index}`}`,
    {
      facts: { step, index, field, expected: show(expected), actual: show(actual) },
    },
  );
}

function compareRecords<T extends object>(
  step: string,
  index: number | undefined,
  expected: T,
  actual: T,
  fields: readonly (keyof T & string)[],
): void {
  for (const f of fields) if (!same(expected[f], actual[f])) mismatch(step, index, f, expected[f], actual[f]);
}

function compareLists<T extends object>(
  step: string,
  expected: readonly T[],
  actual: readonly T[],
  fields: readonly (keyof T & string)[],
): void {
  const n = Math.max(expected.length, actual.length);
  for (let i = 0; i < n; i++) {
    const e = expected[i];
    const a = actual[i];
    if (!a) mismatch(step, i, "missing", "present", "absent");
    if (!e) mismatch(step, i, "extra", "absent", "present");
    compareRecords(step, i, e, a, fields);
  }
}

const HEADER_FIELDS = [
  "version",
  "allianceAgreementId",
  "windowId",
  "from",
  "to",
  "currency",
  "redemptionCount",
  "redemptionsRoot",
  "obligationCount",
  "grossTotal",
  "roundingDenominator",
  "roundedOff",
  "positionCount",
  "nettingMethod",
  "lineCount",
  "netTotal",
] as const;

/**
 * Recomputes the batch from the window, the proven confirmations and the agreement, and throws
 * `SETTLEMENT_MISMATCH` at the first difference, in this order: header fields (encoding order), gross
 * obligations, positions, lines, tree root, settlement root. Returns the recomputed batch.
 */
export function checkSettlement(
  batch: SettlementBatch,
  window: SettlementWindow,
  confirmations: readonly ConfirmedRedemption[],
  agreement: AllianceAgreement,
): SettlementBatch {
  const expected = recomputeSettlement(window, confirmations, agreement);
  compareRecords("header", undefined, expected.header, batch.header, HEADER_FIELDS);
  compareLists("obligation", expected.obligations, batch.obligations, ["payer", "payee", "amount", "redemptions", "roundedOff"]);
  compareLists("position", expected.positions, batch.positions, ["institution", "receives", "pays", "net"]);
  compareLists("line", expected.lines, batch.lines, ["windowId", "index", "payer", "payee", "amount", "currency"]);
  if (!same(expected.treeRoot, batch.treeRoot)) mismatch("treeRoot", undefined, "treeRoot", expected.treeRoot, batch.treeRoot);
  if (!same(expected.settlementRoot, batch.settlementRoot)) {
    mismatch("settlementRoot", undefined, "settlementRoot", expected.settlementRoot, batch.settlementRoot);
  }
  return expected;
}
