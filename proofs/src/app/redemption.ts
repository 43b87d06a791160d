/**
 * The payloads that `ShanduRedemption` contracts send each other (docs/redemption.md §3): encoders and
 * strict decoders, byte for byte what the contract builds with `abi.encodePacked` and checks in
 * `shanduReceive`. They live here, beside the settlement, so that an auditor's `shandu audit` reads them
 * with nothing but this package.
 */
import { concatBytes } from "../bytes.ts";
import { CodecError } from "../errors.ts";

/** Version of the redemption payloads (byte 0). */
export const REDEMPTION_PAYLOAD_VERSION = 1;

/** Op codes (byte 1). */
export const REDEMPTION_OP = { authorise: 1, confirm: 2, reject: 3, expired: 4 } as const;
export type RedemptionOpName = keyof typeof REDEMPTION_OP;

/** Total length of each payload, in bytes. */
export const REDEMPTION_PAYLOAD_LENGTH = { authorise: 178, confirm: 34, reject: 66, expired: 34 } as const;

/** Where the regulator-envelope commitment sits in an `AUTHORISE` payload (its last 32 bytes). */
export const AUTHORISE_ENVELOPE_OFFSET = 146;

/**
 * A: asks the platform on B to redeem. Addresses are 20 bytes, `id`, `creditClass` and
 * `envelopeCommitment` 32. The commitment is that of the regulator envelope holding the personal data of
 * the redemption (docs/protocol.md §8.5); all zeros when there is none.
 */
export interface AuthorisePayload {
  op: "authorise";
  id: Uint8Array;
  user: Uint8Array;
  platform: Uint8Array;
  creditClass: Uint8Array;
  amount: bigint;
  deadline: bigint;
  envelopeCommitment: Uint8Array;
}

/** B: the platform confirmed. */
export interface ConfirmPayload {
  op: "confirm";
  id: Uint8Array;
}

/** B: rejected; `reason` is an ASCII code, left-aligned in 32 bytes (`PLATFORM_REJECTED`, `UNKNOWN_PLATFORM`). */
export interface RejectPayload {
  op: "reject";
  id: Uint8Array;
  reason: Uint8Array;
}

/** A: no answer came in time and the credits were refunded (`refundAfterTimeout`); B stops the redemption. */
export interface ExpiredPayload {
  op: "expired";
  id: Uint8Array;
}

export type RedemptionPayload = AuthorisePayload | ConfirmPayload | RejectPayload | ExpiredPayload;

const U64_MAX = (1n << 64n) - 1n;
const U256_MAX = (1n << 256n) - 1n;

/** `b` after checking it is `n` bytes long; `CodecError` `BAD_LENGTH` naming `field` otherwise. */
export function fixedBytes(b: Uint8Array, n: number, field: string): Uint8Array {
  if (b.length !== n) throw new CodecError("BAD_LENGTH", `${field} must be ${n} bytes`, { facts: { field, length: b.length } });
  return b;
}

/** `v` big-endian in `n` bytes; `CodecError` `VALUE_OUT_OF_RANGE` outside [0, max]. */
export function fixedUint(v: bigint, n: number, max: bigint, field: string): Uint8Array {
  if (v < 0n || v > max) throw new CodecError("VALUE_OUT_OF_RANGE", `${field} out of range`, { facts: { field, value: v.toString() } });
  const out = new Uint8Array(n);
  let x = v;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** The big-endian unsigned integer in `b[from, from + n)`. */
export function readUint(b: Uint8Array, from: number, n: number): bigint {
  let v = 0n;
  for (let i = from; i < from + n; i++) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** The canonical bytes of a redemption payload. Throws `CodecError` (`BAD_LENGTH`, `VALUE_OUT_OF_RANGE`). */
export function encodeRedemptionPayload(p: RedemptionPayload): Uint8Array {
  const head = Uint8Array.of(REDEMPTION_PAYLOAD_VERSION, REDEMPTION_OP[p.op]);
  const id = fixedBytes(p.id, 32, "id");
  switch (p.op) {
    case "authorise":
      return concatBytes(
        head,
        id,
        fixedBytes(p.user, 20, "user"),
        fixedBytes(p.platform, 20, "platform"),
        fixedBytes(p.creditClass, 32, "creditClass"),
        fixedUint(p.amount, 32, U256_MAX, "amount"),
        fixedUint(p.deadline, 8, U64_MAX, "deadline"),
        fixedBytes(p.envelopeCommitment, 32, "envelopeCommitment"),
      );
    case "confirm":
    case "expired":
      return concatBytes(head, id);
    case "reject":
      return concatBytes(head, id, fixedBytes(p.reason, 32, "reason"));
  }
}

const OPS = ["authorise", "confirm", "reject", "expired"] as const;

/**
 * Strict decoding, with the contract's checks: `UNKNOWN_VERSION` (byte 0 is not 1), `UNKNOWN_KIND` (an op
 * code other than 1–4), `TRUNCATED` / `TRAILING_BYTES` (not the op's exact length).
 */
export function decodeRedemptionPayload(b: Uint8Array): RedemptionPayload {
  if (b.length < 2) throw new CodecError("TRUNCATED", "redemption payload shorter than its header", { facts: { length: b.length } });
  if (b[0] !== REDEMPTION_PAYLOAD_VERSION) {
    throw new CodecError("UNKNOWN_VERSION", "unsupported redemption payload version", { facts: { version: b[0] } });
  }
  const op = OPS[b[1]! - 1];
  if (op === undefined) throw new CodecError("UNKNOWN_KIND", "unknown redemption op code", { facts: { op: b[1] } });
  const want = REDEMPTION_PAYLOAD_LENGTH[op];
  if (b.length !== want) {
    throw new CodecError(b.length < want ? "TRUNCATED" : "TRAILING_BYTES", `a ${op} payload is ${want} bytes`, {
      facts: { op, length: b.length },
    });
  }
  const id = b.slice(2, 34);
  switch (op) {
    case "authorise":
      return {
        op,
        id,
        user: b.slice(34, 54),
        platform: b.slice(54, 74),
        creditClass: b.slice(74, 106),
        amount: readUint(b, 106, 32),
        deadline: readUint(b, 138, 8),
        envelopeCommitment: b.slice(146, 178),
      };
    case "confirm":
    case "expired":
      return { op, id };
    case "reject":
      return { op, id, reason: b.slice(34, 66) };
  }
}

/** An ASCII code left-aligned in 32 bytes (a `bytes32` string literal in Solidity). */
export function reasonCode(code: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (i >= 32 || c > 0x7e || c < 0x20) throw new CodecError("VALUE_OUT_OF_RANGE", "a reason is at most 32 printable ASCII characters");
    out[i] = c;
  }
  return out;
}

/** The text of a left-aligned ASCII `bytes32` (trailing zero bytes dropped). */
export function reasonText(b: Uint8Array): string {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return String.fromCharCode(...b.subarray(0, end));
}

/** The settlement contract's payload (docs/settlement.md §7): a window's attested root, sent to every peer. */
export interface SettlementRootPayload {
  windowId: bigint;
  settlementRoot: Uint8Array;
  lineCount: number;
}

export const SETTLEMENT_PAYLOAD_LENGTH = 46;

function nonZeroRoot(root: Uint8Array): Uint8Array {
  fixedBytes(root, 32, "settlementRoot");
  if (root.every((x) => x === 0)) throw new CodecError("VALUE_OUT_OF_RANGE", "settlementRoot is all zeros");
  return root;
}

/** `0x01 ‖ 0x01 ‖ windowId u64 ‖ settlementRoot ‖ lineCount u32`. Throws `CodecError` (`BAD_LENGTH`, `VALUE_OUT_OF_RANGE`, also for an all-zero root). */
export function encodeSettlementRootPayload(p: SettlementRootPayload): Uint8Array {
  if (!Number.isSafeInteger(p.lineCount))
    throw new CodecError("VALUE_OUT_OF_RANGE", "lineCount must be a u32", { facts: { lineCount: p.lineCount } });
  return concatBytes(
    Uint8Array.of(1, 1),
    fixedUint(p.windowId, 8, U64_MAX, "windowId"),
    nonZeroRoot(p.settlementRoot),
    fixedUint(BigInt(p.lineCount), 4, 0xffff_ffffn, "lineCount"),
  );
}

/**
 * Strict decoding, in the contract's order: `TRUNCATED` (under 2 bytes), `UNKNOWN_VERSION`, `UNKNOWN_KIND`,
 * `TRUNCATED` / `TRAILING_BYTES` (not 46 bytes), `VALUE_OUT_OF_RANGE` (an all-zero root).
 */
export function decodeSettlementRootPayload(b: Uint8Array): SettlementRootPayload {
  if (b.length < 2) throw new CodecError("TRUNCATED", "settlement payload shorter than its header", { facts: { length: b.length } });
  if (b[0] !== 1) throw new CodecError("UNKNOWN_VERSION", "unsupported settlement payload version", { facts: { version: b[0] } });
  if (b[1] !== 1) throw new CodecError("UNKNOWN_KIND", "unknown settlement op code", { facts: { op: b[1] } });
  if (b.length !== SETTLEMENT_PAYLOAD_LENGTH) {
    throw new CodecError(b.length < SETTLEMENT_PAYLOAD_LENGTH ? "TRUNCATED" : "TRAILING_BYTES", "a settlement root payload is 46 bytes", {
      facts: { length: b.length },
    });
  }
  return { windowId: readUint(b, 2, 8), settlementRoot: nonZeroRoot(b.slice(10, 42)), lineCount: Number(readUint(b, 42, 4)) };
}
