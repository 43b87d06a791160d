/**
 * The pieces FISCO BCOS's field hashes are made of (`TarsHashable.h`): signed integers big-endian at
 * their C++ width, and strings as their UTF-8 bytes.
 */

/** int32 big-endian. */
export function fiscoInt32(v: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, v);
  return out;
}

/** int64 big-endian (two's complement for negative values, as the C++ cast gives). */
export function fiscoInt64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt.asIntN(64, v));
  return out;
}

const decoder = new TextDecoder();

/** A TARS string field as text ("" when absent). Invalid UTF-8 becomes U+FFFD, as in the SDKs. */
export function fiscoText(b: Uint8Array | undefined): string {
  return b ? decoder.decode(b) : "";
}
