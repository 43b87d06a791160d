/**
 * Settlement roots and settled lines (docs/settlement.md §7, `ShanduSettlement.sol`) in the chaincode.
 *
 * The clearing provider (an account holding CLEARING on this chain in the alliance registry) publishes a
 * window's settlement root; it is recorded and sent to the settlement recipient of every peer chain. A
 * root arrives from a peer only through the inbox and only from the peer registered for its chain. A
 * window has one root: the first recorded is kept; another one published here is `WINDOW_ALREADY_PUBLISHED`,
 * another one arriving from a peer is kept on record as a conflict. Once it has executed a line, the
 * clearing provider marks it settled with the header, tree root, line and inclusion proof and a payment
 * reference, checked in the EVM contract's order with its codes.
 *
 * What differs on Fabric: a transaction carries one chaincode event, so `publish` sends the root to the
 * peer with the lowest chain id and leaves the others pending; `sendRoot` (anyone may call it) sends it to
 * one pending peer. A conflicting root from a peer, which the EVM reports in an event, is kept in state
 * (`conflicts` in `window`). The settlement's key space is `app/settlement/`; it reads roles from the
 * application's.
 */
import {
  concatBytes,
  decodeSettlementRootPayload,
  encodeSettlementRootPayload,
  MessageKind,
  readUint,
  SETTLEMENT_TAG,
  ShanduError,
  sha256,
  toHex,
  verifyMultiProof,
} from "@shandu/proofs";
import { Contract } from "fabric-contract-api";
import { array, hexBytes, schema, u64 } from "../config.ts";
import { protocol } from "../errors.ts";
import { sendMessage } from "../outbox.ts";
import type { RecipientCall, RecipientState } from "../recipients.ts";
import { type ShanduContext, type TxState, transaction } from "../state.ts";
import { hasRole, ROLE } from "./alliance.ts";
import { type AppConfig, appState, clientAccount, isZero, readAppConfig, rejected, SETTLEMENT_SENDER, settlementState } from "./common.ts";

const RECORD_LINE = 0x01;
const RECORD_ROOT = 0x02;
const MAX_ID_BYTES = 256;
const MAX_CURRENCY_BYTES = 32;
const HEADER_TAIL_BYTES = 113;
const TAIL_METHOD_AT = 92;
const TAIL_LINE_COUNT_AT = 93;

interface StoredWindow {
  root: string;
  lineCount: number;
  /** The chain the root was first recorded from (this chain when published here). */
  sourceChainId: string;
  /** Published here: peers the root still has to be sent to (chain ids). */
  pending?: string[];
  /** Other roots peers sent for this window: source chain id → root. */
  conflicts?: Record<string, string>;
}

const K = {
  window: (windowId: bigint) => `window/${windowId}`,
  settled: (windowId: bigint, index: number) => `settled/${windowId}/${index}`,
};

async function readWindow(s: RecipientState, windowId: bigint): Promise<StoredWindow | undefined> {
  return s.getJson<StoredWindow>(K.window(windowId));
}

async function sendTo(ctx: ShanduContext, state: TxState, config: AppConfig, windowId: bigint, w: StoredWindow, to: bigint) {
  const payload = encodeSettlementRootPayload({ windowId, settlementRoot: hexBytes(w.root, "stored"), lineCount: w.lineCount });
  return sendMessage(ctx, state, {
    destinationChainId: to,
    kind: MessageKind.app,
    sender: SETTLEMENT_SENDER,
    recipient: config.settlementPeers.get(to)!,
    payload,
  });
}

/**
 * A root from a peer, with `shanduReceive`'s checks in its order: `UNKNOWN_PEER`, `UNKNOWN_SENDER`,
 * `MALFORMED_PAYLOAD` (under 2 bytes, not 46 bytes, or a zero root), `UNKNOWN_VERSION`, `UNKNOWN_OP`.
 * Recorded when the window has no root; the same root again is ignored; another root is kept as a conflict.
 */
export async function receiveSettlementRoot(
  s: RecipientState,
  config: AppConfig,
  call: RecipientCall,
): Promise<"recorded" | "ignored" | "conflict"> {
  const expected = config.settlementPeers.get(call.sourceChainId);
  if (!expected)
    throw rejected("UNKNOWN_PEER", "no peer settlement is registered for the source chain", { sourceChainId: call.sourceChainId });
  if (toHex(expected) !== toHex(call.sender)) throw rejected("UNKNOWN_SENDER", "the sender is not the peer registered for its chain");
  let p: ReturnType<typeof decodeSettlementRootPayload>;
  try {
    p = decodeSettlementRootPayload(call.payload);
  } catch (e) {
    if (!(e instanceof ShanduError)) throw e;
    const code = e.code === "UNKNOWN_VERSION" ? "UNKNOWN_VERSION" : e.code === "UNKNOWN_KIND" ? "UNKNOWN_OP" : "MALFORMED_PAYLOAD";
    throw rejected(code, e.shortMessage, { length: call.payload.length });
  }
  const w = await readWindow(s, p.windowId);
  const root = toHex(p.settlementRoot);
  if (!w) {
    s.putJson(K.window(p.windowId), { root, lineCount: p.lineCount, sourceChainId: call.sourceChainId.toString() } satisfies StoredWindow);
    return "recorded";
  }
  if (w.root === root) return "ignored";
  s.putJson(K.window(p.windowId), { ...w, conflicts: { ...w.conflicts, [call.sourceChainId.toString()]: root } });
  return "conflict";
}

async function onlyClearing(ctx: ShanduContext, state: TxState, config: AppConfig): Promise<void> {
  if (!(await hasRole(appState(state), ROLE.clearing, config.chainId, clientAccount(ctx)))) {
    throw rejected("NOT_CLEARING", "the caller does not hold CLEARING on this chain");
  }
}

/** The length of the text field at `pos` (`prefix`-byte length, 1–`max`, within `b`, well-formed UTF-8), else `code`. */
function text(b: Uint8Array, pos: number, prefix: number, max: number, code: string): number {
  if (b.length < pos + prefix) throw rejected(code, "truncated");
  const n = Number(readUint(b, pos, prefix));
  if (n === 0 || n > max || b.length < pos + prefix + n) throw rejected(code, "a text field is empty, too long or truncated", { at: pos });
  try {
    new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(b.subarray(pos + prefix, pos + prefix + n));
  } catch {
    throw rejected(code, "a text field is not well-formed UTF-8", { at: pos });
  }
  return n;
}

/** Strict parse of a header (docs/settlement.md §4.2): its window, currency bytes and line count. `BAD_HEADER`. */
export function parseHeader(h: Uint8Array): { windowId: bigint; currency: string; lineCount: number } {
  if (h.length < 3 || h[0] !== 1) throw rejected("BAD_HEADER", "not a version-1 header");
  let pos = 3 + text(h, 1, 2, MAX_ID_BYTES, "BAD_HEADER");
  if (h.length < pos + 25) throw rejected("BAD_HEADER", "truncated");
  const windowId = readUint(h, pos, 8);
  pos += 24;
  const n = text(h, pos, 1, MAX_CURRENCY_BYTES, "BAD_HEADER");
  const currency = toHex(h.subarray(pos + 1, pos + 1 + n));
  pos += 1 + n;
  if (h.length !== pos + HEADER_TAIL_BYTES) throw rejected("BAD_HEADER", "wrong length");
  const method = h[pos + TAIL_METHOD_AT];
  if (method !== 1 && method !== 2) throw rejected("BAD_HEADER", "unknown netting method", { method });
  return { windowId, currency, lineCount: Number(readUint(h, pos + TAIL_LINE_COUNT_AT, 4)) };
}

/** Strict parse of a line (docs/settlement.md §4.1): its window, index and currency bytes. `BAD_LINE`. */
export function parseLine(l: Uint8Array): { windowId: bigint; index: number; currency: string } {
  if (l.length < 14) throw rejected("BAD_LINE", "truncated");
  const windowId = readUint(l, 0, 8);
  const index = Number(readUint(l, 8, 4));
  let pos = 12;
  pos += 2 + text(l, pos, 2, MAX_ID_BYTES, "BAD_LINE");
  pos += 2 + text(l, pos, 2, MAX_ID_BYTES, "BAD_LINE");
  pos += 16;
  const n = text(l, pos, 1, MAX_CURRENCY_BYTES, "BAD_LINE");
  if (l.length !== pos + 1 + n) throw rejected("BAD_LINE", "wrong length");
  return { windowId, index, currency: toHex(l.subarray(pos + 1, pos + 1 + n)) };
}

function windowJson(windowId: bigint, w: StoredWindow | undefined): string {
  return JSON.stringify({ windowId: windowId.toString(), ...(w ?? { root: toHex(new Uint8Array(32)), lineCount: 0, sourceChainId: "0" }) });
}

/** `ShanduSettlement`: publication, sending, marking and views. Arguments are strings (decimal, `0x` hex, JSON). */
export class ShanduSettlement extends Contract {
  constructor() {
    super("ShanduSettlement");
  }

  /**
   * Records `settlementRootHex` for `windowId` and sends it to the peer with the lowest chain id (the others
   * wait for `sendRoot`). Only the clearing provider (`NOT_CLEARING`); a zero root is `INVALID_ROOT`; the
   * root the window already has changes nothing and sends nothing; another is `WINDOW_ALREADY_PUBLISHED`.
   */
  async publish(ctx: ShanduContext, windowId: string, settlementRootHex: string, lineCount: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = settlementState(state);
      const config = await readAppConfig(s);
      const id = u64(windowId, "windowId");
      const root = hexBytes(settlementRootHex, "settlementRoot", { length: 32 });
      const count = u64(lineCount, "lineCount");
      if (count > 0xffff_ffffn) throw schema("lineCount", "a u32");
      await onlyClearing(ctx, state, config);
      if (isZero(root)) throw rejected("INVALID_ROOT", "a zero root is no root");
      const w = await readWindow(s, id);
      if (w?.root === toHex(root)) return JSON.stringify({ windowId: id.toString(), recorded: false, sentTo: null });
      if (w) throw rejected("WINDOW_ALREADY_PUBLISHED", "the window has another root", { windowId: id, root: w.root });
      const peers = [...config.settlementPeers.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const stored: StoredWindow = { root: toHex(root), lineCount: Number(count), sourceChainId: config.chainId.toString() };
      const first = peers.shift();
      s.putJson(K.window(id), { ...stored, pending: peers.map(String) });
      const sent = first === undefined ? undefined : await sendTo(ctx, state, config, id, stored, first);
      return JSON.stringify({
        windowId: id.toString(),
        recorded: true,
        sentTo: first === undefined ? null : first.toString(),
        outboxNonce: sent?.nonce.toString(),
        pending: peers.map(String),
      });
    });
  }

  /**
   * Sends the root of `windowId`, published here, to the pending peer `destinationChainId`; anyone may call
   * it, once per peer. `UNKNOWN_WINDOW` (no root published here), `ROOT_NOT_PENDING` (not a peer, or sent).
   */
  async sendRoot(ctx: ShanduContext, windowId: string, destinationChainId: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = settlementState(state);
      const config = await readAppConfig(s);
      const id = u64(windowId, "windowId");
      const to = u64(destinationChainId, "destinationChainId");
      const w = await readWindow(s, id);
      if (!w || w.sourceChainId !== config.chainId.toString())
        throw rejected("UNKNOWN_WINDOW", "no root of this window was published here");
      if (!w.pending?.includes(to.toString()))
        throw rejected("ROOT_NOT_PENDING", "the root is not waiting to be sent to this chain", { destinationChainId: to });
      s.putJson(K.window(id), { ...w, pending: w.pending.filter((c) => c !== to.toString()) });
      const sent = await sendTo(ctx, state, config, id, w, to);
      return JSON.stringify({ windowId: id.toString(), sentTo: to.toString(), outboxNonce: sent.nonce.toString() });
    });
  }

  /**
   * Marks line `index` (read from `lineHex`) of `windowId` settled by `paymentRefHex`. `siblingsJson`: the
   * JSON array of the line's single-index proof (`0x` hex, 32 bytes each). Checks in the EVM order:
   * `NOT_CLEARING`, `INVALID_REFERENCE`, `UNKNOWN_WINDOW`, `ROOT_MISMATCH` (header and tree root),
   * `BAD_HEADER`, `BAD_LINE`, `WINDOW_MISMATCH`, `CURRENCY_MISMATCH`, the batch tree's codes
   * (`INDEX_OUT_OF_RANGE`, `PROOF_TOO_SHORT`, `PROOF_TOO_LONG`, `ROOT_MISMATCH`, `EMPTY_TREE`),
   * `LINE_ALREADY_SETTLED`.
   */
  async markSettled(
    ctx: ShanduContext,
    windowId: string,
    headerHex: string,
    treeRootHex: string,
    lineHex: string,
    siblingsJson: string,
    paymentRefHex: string,
  ): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = settlementState(state);
      const config = await readAppConfig(s);
      const id = u64(windowId, "windowId");
      const header = hexBytes(headerHex, "header", { maxLength: 1024 });
      const treeRoot = hexBytes(treeRootHex, "treeRoot", { length: 32 });
      const line = hexBytes(lineHex, "line", { maxLength: 1024 });
      let parsed: unknown;
      try {
        parsed = JSON.parse(siblingsJson);
      } catch {
        throw schema("siblings", "a JSON array");
      }
      const siblings = array(parsed, "siblings", 64).map((x, i) => hexBytes(x, `siblings[${i}]`, { length: 32 }));
      const paymentRef = hexBytes(paymentRefHex, "paymentRef", { length: 32 });
      await onlyClearing(ctx, state, config);
      if (isZero(paymentRef)) throw rejected("INVALID_REFERENCE", "a zero payment reference");
      const w = await readWindow(s, id);
      if (!w) throw rejected("UNKNOWN_WINDOW", "the window has no root here", { windowId: id });
      if (toHex(sha256(concatBytes(SETTLEMENT_TAG, Uint8Array.of(RECORD_ROOT), header, treeRoot))) !== w.root) {
        throw rejected("ROOT_MISMATCH", "the header and tree root do not hash to the window's root");
      }
      const h = parseHeader(header);
      const l = parseLine(line);
      if (h.windowId !== id || l.windowId !== id) throw rejected("WINDOW_MISMATCH", "the header or the line is of another window");
      if (l.currency !== h.currency) throw rejected("CURRENCY_MISMATCH", "the line's currency is not the header's");
      const leaf = sha256(concatBytes(SETTLEMENT_TAG, Uint8Array.of(RECORD_LINE), line));
      protocol(() => verifyMultiProof(treeRoot, { treeSize: h.lineCount, indices: [l.index], siblings }, [leaf]));
      if (await s.get(K.settled(id, l.index)))
        throw rejected("LINE_ALREADY_SETTLED", "the line was marked settled before", { index: l.index });
      s.putJson(K.settled(id, l.index), toHex(paymentRef));
      return JSON.stringify({ windowId: id.toString(), index: l.index, paymentRef: toHex(paymentRef) });
    });
  }

  /** `{windowId, root, lineCount, sourceChainId, pending?, conflicts?}` (a zero root when none). */
  async window(ctx: ShanduContext, windowId: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const id = u64(windowId, "windowId");
      return windowJson(id, await readWindow(settlementState(state), id));
    });
  }

  /** The payment reference line `index` of `windowId` was marked settled with, or 32 zero bytes. */
  async referenceOf(ctx: ShanduContext, windowId: string, index: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const i = u64(index, "index");
      if (i > 0xffff_ffffn) throw schema("index", "a u32");
      return (await settlementState(state).getJson<string>(K.settled(u64(windowId, "windowId"), Number(i)))) ?? toHex(new Uint8Array(32));
    });
  }
}
