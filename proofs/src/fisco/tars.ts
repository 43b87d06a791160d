/**
 * The subset of the TARS binary encoding FISCO BCOS 3.x uses for transactions, receipts and headers
 * (Tencent TARS protocol, as used by `bcos-tars-protocol/tars/*.tars`). Each field is a head — tag in
 * the high nibble (15 = "tag in the next byte") and type in the low nibble — then its value:
 *
 * | type | value |
 * |---|---|
 * | 0, 1, 2, 3 | int8, int16, int32, int64 (big-endian, signed); writers pick the smallest |
 * | 6 / 7 | string with a u8 / u32 length |
 * | 9 | list: an int count, then elements (tag 0 each) |
 * | 10 / 11 | struct begin / end |
 * | 12 | zero (any integer 0) |
 * | 13 | simple list (bytes): a head of type int8 (tag 0), an int length, the bytes |
 *
 * The reader takes untrusted bytes and throws `TARS_MALFORMED` for anything it cannot account for.
 */
import { FiscoError } from "../errors.ts";

export const TarsType = {
  int8: 0,
  int16: 1,
  int32: 2,
  int64: 3,
  float: 4,
  double: 5,
  string1: 6,
  string4: 7,
  map: 8,
  list: 9,
  structBegin: 10,
  structEnd: 11,
  zero: 12,
  simpleList: 13,
} as const;

export type TarsValue = bigint | Uint8Array | TarsValue[] | TarsStruct;
/** A decoded struct: field values by tag. Strings and byte vectors are both `Uint8Array`. */
export type TarsStruct = Map<number, TarsValue>;

const MAX_DEPTH = 16;

function malformed(what: string, at: number): FiscoError {
  return new FiscoError("TARS_MALFORMED", `TARS: ${what}`, { facts: { offset: at } });
}

export class TarsReader {
  readonly #b: Uint8Array;
  readonly #v: DataView;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#b = bytes;
    this.#v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.#at;
  }

  get done(): boolean {
    return this.#at >= this.#b.length;
  }

  #need(n: number): void {
    if (n < 0 || this.#at + n > this.#b.length) throw malformed(`needs ${n} more bytes`, this.#at);
  }

  head(): { tag: number; type: number } {
    this.#need(1);
    const h = this.#b[this.#at++]!;
    let tag = h >> 4;
    if (tag === 15) {
      this.#need(1);
      tag = this.#b[this.#at++]!;
    }
    return { tag, type: h & 0x0f };
  }

  #int(type: number): bigint {
    switch (type) {
      case TarsType.zero:
        return 0n;
      case TarsType.int8:
        this.#need(1);
        return BigInt(this.#v.getInt8(this.#at++));
      case TarsType.int16: {
        this.#need(2);
        const v = this.#v.getInt16(this.#at);
        this.#at += 2;
        return BigInt(v);
      }
      case TarsType.int32: {
        this.#need(4);
        const v = this.#v.getInt32(this.#at);
        this.#at += 4;
        return BigInt(v);
      }
      case TarsType.int64: {
        this.#need(8);
        const v = this.#v.getBigInt64(this.#at);
        this.#at += 8;
        return v;
      }
      default:
        throw malformed(`type ${type} where an integer was expected`, this.#at);
    }
  }

  #bytes(n: number): Uint8Array {
    this.#need(n);
    const out = this.#b.subarray(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  #length(): number {
    const h = this.head();
    const n = this.#int(h.type);
    if (n < 0n || n > BigInt(this.#b.length)) throw malformed("negative or impossible length", this.#at);
    return Number(n);
  }

  /** Reads the value of a field whose head was just read. */
  value(type: number, depth = 0): TarsValue {
    if (depth > MAX_DEPTH) throw malformed("nested too deep", this.#at);
    switch (type) {
      case TarsType.int8:
      case TarsType.int16:
      case TarsType.int32:
      case TarsType.int64:
      case TarsType.zero:
        return this.#int(type);
      case TarsType.string1:
        this.#need(1);
        return this.#bytes(this.#b[this.#at++]!);
      case TarsType.string4: {
        this.#need(4);
        const n = this.#v.getUint32(this.#at);
        this.#at += 4;
        return this.#bytes(n);
      }
      case TarsType.list: {
        const n = this.#length();
        const out: TarsValue[] = [];
        for (let i = 0; i < n; i++) {
          const h = this.head();
          out.push(this.value(h.type, depth + 1));
        }
        return out;
      }
      case TarsType.simpleList: {
        const h = this.head();
        if (h.type !== TarsType.int8) throw malformed("a simple list holds bytes only", this.#at);
        return this.#bytes(this.#length());
      }
      case TarsType.structBegin:
        return this.struct(depth + 1);
      default:
        throw malformed(`unsupported type ${type}`, this.#at);
    }
  }

  /** Reads fields until the struct end (or the end of input at depth 0). */
  struct(depth = 0): TarsStruct {
    const out: TarsStruct = new Map();
    while (!this.done) {
      const h = this.head();
      if (h.type === TarsType.structEnd) return out;
      if (out.has(h.tag)) throw malformed(`tag ${h.tag} appears twice`, this.#at);
      out.set(h.tag, this.value(h.type, depth));
    }
    if (depth > 0) throw malformed("struct not closed", this.#at);
    return out;
  }
}

/** Decodes a top-level TARS struct; throws `TARS_MALFORMED`. */
export function decodeTars(bytes: Uint8Array): TarsStruct {
  return new TarsReader(bytes).struct(0);
}

function check<T>(v: TarsValue | undefined, ok: (x: TarsValue) => x is T & TarsValue, field: string): T | undefined {
  if (v === undefined) return undefined;
  if (!ok(v)) throw new FiscoError("TARS_MALFORMED", `TARS: field ${field} has the wrong type`, { facts: { field } });
  return v;
}

const isList = (x: TarsValue): x is TarsValue[] => Array.isArray(x);

export const field = {
  list: (s: TarsStruct, tag: number, name: string): TarsValue[] => check(s.get(tag), isList, name) ?? [],
  int: (s: TarsStruct, tag: number, name: string): bigint | undefined => check(s.get(tag), (x): x is bigint => typeof x === "bigint", name),
  bytes: (s: TarsStruct, tag: number, name: string): Uint8Array | undefined =>
    check(s.get(tag), (x): x is Uint8Array => x instanceof Uint8Array, name),
  struct: (s: TarsStruct, tag: number, name: string): TarsStruct | undefined =>
    check(s.get(tag), (x): x is TarsStruct => x instanceof Map, name),
};

/** Writes TARS the way FISCO BCOS's encoders do: integers in the smallest type, 0 as `zero`. */
export class TarsWriter {
  #parts: number[] = [];

  #head(tag: number, type: number): void {
    if (tag < 15) this.#parts.push((tag << 4) | type);
    else this.#parts.push(0xf0 | type, tag);
  }

  #raw(bytes: Uint8Array): void {
    for (const b of bytes) this.#parts.push(b);
  }

  int(tag: number, v: bigint): this {
    if (v === 0n) this.#head(tag, TarsType.zero);
    else if (v >= -128n && v <= 127n) {
      this.#head(tag, TarsType.int8);
      this.#parts.push(Number(v) & 0xff);
    } else if (v >= -32768n && v <= 32767n) {
      this.#head(tag, TarsType.int16);
      this.#fixed(v, 2);
    } else if (v >= -(2n ** 31n) && v < 2n ** 31n) {
      this.#head(tag, TarsType.int32);
      this.#fixed(v, 4);
    } else {
      this.#head(tag, TarsType.int64);
      this.#fixed(v, 8);
    }
    return this;
  }

  #fixed(v: bigint, n: number): void {
    const u = BigInt.asUintN(n * 8, v);
    for (let i = n - 1; i >= 0; i--) this.#parts.push(Number((u >> BigInt(8 * i)) & 0xffn));
  }

  string(tag: number, s: Uint8Array): this {
    if (s.length <= 255) {
      this.#head(tag, TarsType.string1);
      this.#parts.push(s.length);
    } else {
      this.#head(tag, TarsType.string4);
      this.#fixed(BigInt(s.length), 4);
    }
    this.#raw(s);
    return this;
  }

  bytes(tag: number, b: Uint8Array): this {
    this.#head(tag, TarsType.simpleList);
    this.#head(0, TarsType.int8);
    this.int(0, BigInt(b.length));
    this.#raw(b);
    return this;
  }

  /** A list: count, then each element written by `write` with tag 0. */
  list<T>(tag: number, items: readonly T[], write: (w: TarsWriter, item: T) => void): this {
    this.#head(tag, TarsType.list);
    this.int(0, BigInt(items.length));
    for (const item of items) write(this, item);
    return this;
  }

  struct(tag: number, write: (w: TarsWriter) => void): this {
    this.#head(tag, TarsType.structBegin);
    write(this);
    this.#head(0, TarsType.structEnd);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}
