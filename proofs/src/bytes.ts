/**
 * Byte helpers shared by every canonical encoding: big-endian integers, length-prefixed fields and
 * hex at the edges. Readers throw {@link CodecError} and never read past the end of their input.
 */
import { CodecError } from "./errors.ts";

const HEX = "0123456789abcdef";
const HEX_PAIRS: string[] = Array.from({ length: 256 }, (_, i) => HEX[i >> 4]! + HEX[i & 15]!);

/** Lower-case, `0x`-prefixed hex. */
export function toHex(bytes: Uint8Array): string {
  let out = "0x";
  for (const b of bytes) out += HEX_PAIRS[b];
  return out;
}

/** Hex digit values by character code (-1: not a hex digit). */
const NIBBLE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  NIBBLE[HEX.charCodeAt(i)] = i;
  NIBBLE[HEX.toUpperCase().charCodeAt(i)] = i;
}

/**
 * Parses `0x`-prefixed (or bare) hex. Throws `BAD_HEX` on odd length or a non-hex digit, and
 * `BAD_LENGTH` when `expectedLength` is given and not met.
 */
export function fromHex(hex: string, expectedLength?: number, field = "hex"): Uint8Array {
  if (typeof hex !== "string") throw new CodecError("BAD_HEX", "expected a hex string", { facts: { field } });
  const s = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  if (s.length % 2 !== 0) throw new CodecError("BAD_HEX", "hex string has an odd number of digits", { facts: { field } });
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = NIBBLE[s.charCodeAt(2 * i)] ?? -1;
    const lo = NIBBLE[s.charCodeAt(2 * i + 1)] ?? -1;
    if (hi < 0 || lo < 0) throw new CodecError("BAD_HEX", "not a hex digit", { facts: { field, position: 2 * i } });
    out[i] = (hi << 4) | lo;
  }
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new CodecError("BAD_LENGTH", `${field} must be ${expectedLength} bytes`, {
      facts: { field, expected: expectedLength, actual: out.length },
    });
  }
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Constant-time-agnostic equality (public data only). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const U64_MAX = (1n << 64n) - 1n;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(s: string): Uint8Array {
  // Names and tags are nearly always ASCII, and TextEncoder's per-call cost dominates for short strings.
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return textEncoder.encode(s);
    out[i] = c;
  }
  return out;
}

/** Append-only big-endian writer with a growable buffer. */
export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  constructor(initialCapacity = 256) {
    this.#buf = new Uint8Array(initialCapacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = Math.max(64, this.#buf.length * 2);
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.#reserve(1);
    this.#buf[this.#len++] = v;
    return this;
  }
  u16(v: number): this {
    this.#reserve(2);
    this.#view.setUint16(this.#len, v);
    this.#len += 2;
    return this;
  }
  u32(v: number): this {
    this.#reserve(4);
    this.#view.setUint32(this.#len, v);
    this.#len += 4;
    return this;
  }
  u64(v: bigint): this {
    this.#reserve(8);
    this.#view.setBigUint64(this.#len, v);
    this.#len += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }
  /** u8 length prefix, then the bytes. */
  bytes8(b: Uint8Array): this {
    return this.u8(b.length).bytes(b);
  }
  /** u16 length prefix, then the bytes. */
  bytes16(b: Uint8Array): this {
    return this.u16(b.length).bytes(b);
  }
  /** u32 length prefix, then the bytes. */
  bytes32(b: Uint8Array): this {
    return this.u32(b.length).bytes(b);
  }
  /** The bytes written. Without a copy when the initial capacity was exact; do not write after this. */
  finish(): Uint8Array {
    if (this.#len === this.#buf.length) return this.#buf;
    return this.#buf.slice(0, this.#len);
  }
}

/** Bounds-checked big-endian reader. `what` names the structure in errors. */
export class ByteReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #pos = 0;
  readonly what: string;

  constructor(buf: Uint8Array, what: string) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.what = what;
  }

  get position(): number {
    return this.#pos;
  }
  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  #need(n: number, field: string): void {
    if (this.#pos + n > this.#buf.length) {
      throw new CodecError("TRUNCATED", `${this.what} ends inside ${field}`, {
        facts: { field, offset: this.#pos, need: n, have: this.#buf.length - this.#pos },
      });
    }
  }

  u8(field: string): number {
    this.#need(1, field);
    return this.#buf[this.#pos++]!;
  }
  u16(field: string): number {
    this.#need(2, field);
    const v = this.#view.getUint16(this.#pos);
    this.#pos += 2;
    return v;
  }
  u32(field: string): number {
    this.#need(4, field);
    const v = this.#view.getUint32(this.#pos);
    this.#pos += 4;
    return v;
  }
  u64(field: string): bigint {
    this.#need(8, field);
    const v = this.#view.getBigUint64(this.#pos);
    this.#pos += 8;
    return v;
  }
  bytes(n: number, field: string): Uint8Array {
    this.#need(n, field);
    const out = this.#buf.slice(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
  #limited(len: number, max: number, field: string): Uint8Array {
    if (len > max) {
      throw new CodecError("FIELD_TOO_LONG", `${this.what}: ${field} is longer than allowed`, {
        facts: { field, length: len, max },
      });
    }
    return this.bytes(len, field);
  }
  bytes8(max: number, field: string): Uint8Array {
    return this.#limited(this.u8(`${field} length`), max, field);
  }
  bytes16(max: number, field: string): Uint8Array {
    return this.#limited(this.u16(`${field} length`), max, field);
  }
  bytes32(max: number, field: string): Uint8Array {
    return this.#limited(this.u32(`${field} length`), max, field);
  }
  /** A u8-prefixed UTF-8 string (strict decoding). */
  string8(max: number, field: string): string {
    const b = this.bytes8(max, field);
    try {
      return textDecoder.decode(b);
    } catch (cause) {
      throw new CodecError("BAD_LENGTH", `${this.what}: ${field} is not valid UTF-8`, { facts: { field }, cause });
    }
  }
  /** Throws `TRAILING_BYTES` unless the whole input was consumed. */
  end(): void {
    if (this.#pos !== this.#buf.length) {
      throw new CodecError("TRAILING_BYTES", `${this.what} has trailing bytes`, {
        facts: { consumed: this.#pos, length: this.#buf.length },
      });
    }
  }
}
