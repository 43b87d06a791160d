/**
 * Recursive Length Prefix (RLP), the serialisation of Ethereum headers, transactions, receipts and trie
 * nodes (Ethereum Yellow Paper, Appendix B; https://ethereum.org/developers/docs/data-structures-and-encoding/rlp).
 *
 * ```
 * byte b < 0x80                  the byte itself (a one-byte string)
 * 0x80 + n, n ≤ 55               a string of n bytes follows
 * 0xb7 + k, then k length bytes  a string of more than 55 bytes
 * 0xc0 + n, n ≤ 55               a list whose items take n bytes follows
 * 0xf7 + k, then k length bytes  a list of more than 55 bytes
 * ```
 *
 * The decoder accepts only the canonical encoding, so that every value has exactly one byte form and a
 * hash over RLP bytes means one thing: it rejects a single byte below 0x80 written as a string, the long
 * form for 55 bytes or fewer, a length with leading zero bytes, input that ends early, bytes after the
 * item, and nesting deeper than {@link RLP_MAX_DEPTH}. Every failure is {@link EvidenceError}
 * `RLP_INVALID` with `facts.reason` and `facts.offset`.
 */
import { concatBytes } from "../bytes.ts";
import { EvidenceError } from "../errors.ts";

/** A decoded RLP item: a byte string or a list of items. */
export type RlpItem = Uint8Array | RlpItem[];

/** Deepest list nesting the decoder accepts. Headers, receipts and trie nodes need at most 5. */
export const RLP_MAX_DEPTH = 32;

export type RlpFailure =
  | "truncated"
  | "trailing bytes"
  | "single byte written as a string"
  | "long form for a short length"
  | "leading zero in a length"
  | "nested too deeply";

function invalid(reason: RlpFailure, offset: number, what: string): EvidenceError {
  return new EvidenceError("RLP_INVALID", `${what} is not canonical RLP: ${reason}`, { facts: { what, reason, offset } });
}

function lengthPrefix(short: number, n: number): Uint8Array {
  if (n <= 55) return Uint8Array.of(short + n);
  const len = uintBytes(BigInt(n));
  return concatBytes(Uint8Array.of(short + 55 + len.length), len);
}

/** The canonical encoding of `item`. */
export function rlpEncode(item: RlpItem): Uint8Array {
  if (item instanceof Uint8Array) {
    if (item.length === 1 && item[0]! < 0x80) return item.slice();
    return concatBytes(lengthPrefix(0x80, item.length), item);
  }
  const body = concatBytes(...item.map(rlpEncode));
  return concatBytes(lengthPrefix(0xc0, body.length), body);
}

/** Minimal big-endian bytes of a non-negative integer; zero is the empty string (as RLP writes integers). */
export function uintBytes(v: bigint): Uint8Array {
  if (v < 0n) throw new RangeError("uintBytes: negative value");
  let hex = v === 0n ? "" : v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Strict decoding of one item that spans all of `bytes`. `what` names the input in errors (e.g.
 * "block header"). Returned strings are views into `bytes`.
 */
export function rlpDecode(bytes: Uint8Array, what = "input"): RlpItem {
  const [item, end] = decodeAt(bytes, 0, bytes.length, 0, what);
  if (end !== bytes.length) throw invalid("trailing bytes", end, what);
  return item;
}

/** Reads the item starting at `pos`, which must end by `limit`; returns it and the offset after it. */
function decodeAt(b: Uint8Array, pos: number, limit: number, depth: number, what: string): [RlpItem, number] {
  if (pos >= limit) throw invalid("truncated", pos, what);
  const p = b[pos]!;
  if (p < 0x80) return [b.subarray(pos, pos + 1), pos + 1];
  const isList = p >= 0xc0;
  const short = isList ? 0xc0 : 0x80;
  let start: number;
  let len: number;
  if (p - short <= 55) {
    len = p - short;
    start = pos + 1;
  } else {
    const k = p - short - 55;
    if (pos + 1 + k > limit) throw invalid("truncated", pos, what);
    if (b[pos + 1] === 0) throw invalid("leading zero in a length", pos + 1, what);
    len = 0;
    for (let i = 0; i < k; i++) {
      len = len * 256 + b[pos + 1 + i]!;
      // No input is this long; stop before the number loses precision.
      if (len > limit) throw invalid("truncated", pos, what);
    }
    if (len <= 55) throw invalid("long form for a short length", pos, what);
    start = pos + 1 + k;
  }
  const end = start + len;
  if (end > limit) throw invalid("truncated", pos, what);
  if (!isList) {
    if (len === 1 && b[start]! < 0x80) throw invalid("single byte written as a string", pos, what);
    return [b.subarray(start, end), end];
  }
  if (depth >= RLP_MAX_DEPTH) throw invalid("nested too deeply", pos, what);
  const items: RlpItem[] = [];
  let at = start;
  while (at < end) {
    const [item, next] = decodeAt(b, at, end, depth + 1, what);
    items.push(item);
    at = next;
  }
  return [items, end];
}

/**
 * Reads an RLP string as an unsigned integer: no leading zero bytes (zero is the empty string), at most
 * `maxBytes` bytes. Returns `null` when the string breaks these rules, so the caller can report its own code.
 */
export function rlpUint(item: RlpItem, maxBytes = 8): bigint | null {
  if (!(item instanceof Uint8Array) || item.length > maxBytes || item[0] === 0) return null;
  let v = 0n;
  for (const x of item) v = (v << 8n) | BigInt(x);
  return v;
}
