/**
 * A minimal Protocol Buffers reader (https://protobuf.dev/programming-guides/encoding/), enough to read
 * the few Fabric messages that source evidence carries. It reads the wire format only: each field is a
 * tag `(number << 3) | wireType` as a varint, then a varint (type 0), 8 bytes (type 1), a varint length
 * and that many bytes (type 2) or 4 bytes (type 5). Groups (types 3 and 4) are refused; unknown fields
 * are skipped, as every protobuf parser does.
 *
 * Stricter than protobuf where it matters for signed bytes: a singular field that occurs twice (which
 * protobuf would merge or overwrite, so that two parsers could read two different values) is refused,
 * varints longer than 10 bytes are refused, and strings must be well-formed UTF-8 (as proto3 requires).
 * Failures throw {@link EvidenceError} with the code the caller names, `facts.what`, `facts.reason` and
 * `facts.offset`.
 */
import { EvidenceError, type EvidenceErrorCode } from "../errors.ts";

/** One field as read from the wire: a varint or fixed-width value as `bigint`, a length-delimited one as bytes. */
export type ProtoValue = bigint | Uint8Array;

/** The fields of one message, by field number, in the order they occurred. */
export class ProtoMessage {
  readonly #fields: ReadonlyMap<number, { wire: number; value: ProtoValue; offset: number }[]>;
  readonly #fail: (reason: string, offset: number) => EvidenceError;

  constructor(
    fields: ReadonlyMap<number, { wire: number; value: ProtoValue; offset: number }[]>,
    fail: (reason: string, offset: number) => EvidenceError,
  ) {
    this.#fields = fields;
    this.#fail = fail;
  }

  #single(n: number, wire: number, name: string): ProtoValue | undefined {
    const all = this.#fields.get(n);
    if (!all) return undefined;
    if (all.length > 1) throw this.#fail(`field ${n} (${name}) occurs more than once`, all[1]!.offset);
    const f = all[0]!;
    if (f.wire !== wire) throw this.#fail(`field ${n} (${name}) has wire type ${f.wire}, expected ${wire}`, f.offset);
    return f.value;
  }

  /** A singular `bytes` or embedded-message field; the proto3 default (empty) when absent. */
  bytes(n: number, name: string): Uint8Array {
    return (this.#single(n, 2, name) as Uint8Array | undefined) ?? new Uint8Array(0);
  }

  /** Whether a field is present on the wire (proto3 omits defaults, so absent means "default"). */
  has(n: number): boolean {
    return this.#fields.has(n);
  }

  /** A singular `string` field; "" when absent. Refuses text that is not well-formed UTF-8. */
  string(n: number, name: string): string {
    const b = this.bytes(n, name);
    try {
      return UTF8.decode(b);
    } catch {
      throw this.#fail(`field ${n} (${name}) is not UTF-8`, this.#fields.get(n)?.[0]?.offset ?? 0);
    }
  }

  /** A singular `int32` field (a varint read as two's complement on 64 bits, as protobuf writes negatives); 0 when absent. */
  int32(n: number, name: string): number {
    const v = this.#single(n, 0, name) as bigint | undefined;
    if (v === undefined) return 0;
    const signed = BigInt.asIntN(64, v);
    if (signed < -0x8000_0000n || signed > 0x7fff_ffffn) throw this.#fail(`field ${n} (${name}) is out of the int32 range`, 0);
    return Number(signed);
  }

  /** A `repeated bytes` or repeated embedded-message field, in wire order. */
  repeatedBytes(n: number, name: string): Uint8Array[] {
    return (this.#fields.get(n) ?? []).map((f) => {
      if (f.wire !== 2) throw this.#fail(`field ${n} (${name}) has wire type ${f.wire}, expected 2`, f.offset);
      return f.value as Uint8Array;
    });
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Reads every field of the message in `bytes` (not recursively: embedded messages stay bytes, read them
 * with another call). `what` names the message in errors; `code` is the error code to throw.
 */
export function readProto(bytes: Uint8Array, what: string, code: EvidenceErrorCode): ProtoMessage {
  const fail = (reason: string, offset: number) =>
    new EvidenceError(code, `${what} is not a well-formed protobuf message: ${reason}`, { facts: { what, reason, offset } });
  const fields = new Map<number, { wire: number; value: ProtoValue; offset: number }[]>();
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let i = 0; i < 10; i++) {
      const b = bytes[at];
      if (b === undefined) throw fail("truncated varint", at);
      at++;
      // The tenth byte holds bit 63 only: anything more overflows 64 bits (refused, as Go's protowire does).
      if (i === 9 && b > 1) throw fail("varint overflows 64 bits", at - 1);
      v |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return v;
    }
    throw fail("varint longer than 10 bytes", at);
  };
  const take = (n: number): Uint8Array => {
    if (n > bytes.length - at) throw fail("truncated field", at);
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  while (at < bytes.length) {
    const offset = at;
    const tag = varint();
    const number = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (number < 1 || number > 0x1fff_ffff) throw fail(`field number ${number} out of range`, offset);
    let value: ProtoValue;
    switch (wire) {
      case 0:
        value = varint();
        break;
      case 1:
        value = new DataView(take(8).slice().buffer).getBigUint64(0, true);
        break;
      case 2: {
        const n = varint();
        if (n > BigInt(bytes.length - at)) throw fail("truncated field", at);
        value = take(Number(n));
        break;
      }
      case 5:
        value = BigInt(new DataView(take(4).slice().buffer).getUint32(0, true));
        break;
      default:
        throw fail(`wire type ${wire} (groups and reserved types are not read)`, offset);
    }
    const list = fields.get(number);
    if (list) list.push({ wire, value, offset });
    else fields.set(number, [{ wire, value, offset }]);
  }
  return new ProtoMessage(fields, fail);
}
