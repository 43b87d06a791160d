/**
 * The payloads that `ShanduRedemption` contracts send each other (docs/redemption.md): encoders and
 * strict decoders, the redemption id, and the contract's state numbering. Byte for byte what the contract
 * builds with `abi.encodePacked` and checks in `shanduReceive`.
 */
import { CodecError, concatBytes, decodeMessage, keccak256, type Message } from "@shandu/proofs";

/** Version of the redemption payloads (byte 0). */
export const REDEMPTION_PAYLOAD_VERSION = 1;

/** Op codes (byte 1). */
export const REDEMPTION_OP = { authorise: 1, confirm: 2, reject: 3 } as const;

/** Total length of each payload, in bytes. */
export const REDEMPTION_PAYLOAD_LENGTH = { authorise: 146, confirm: 34, reject: 66 } as const;

/** `ShanduRedemption.State`, as the contract numbers it. */
export const RedemptionState = {
  none: 0,
  locked: 1,
  burned: 2,
  refunded: 3,
  authorised: 4,
  confirmed: 5,
  rejected: 6,
} as const;
export type RedemptionStateName = keyof typeof RedemptionState;

/** A: asks the platform on B to redeem. Addresses are 20 bytes, `id` and `creditClass` 32. */
export interface AuthorisePayload {
  op: "authorise";
  id: Uint8Array;
  user: Uint8Array;
  platform: Uint8Array;
  creditClass: Uint8Array;
  amount: bigint;
  deadline: bigint;
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

export type RedemptionPayload = AuthorisePayload | ConfirmPayload | RejectPayload;

const U64_MAX = (1n << 64n) - 1n;
const U256_MAX = (1n << 256n) - 1n;

function fixed(b: Uint8Array, n: number, field: string): Uint8Array {
  if (b.length !== n) throw new CodecError("BAD_LENGTH", `${field} must be ${n} bytes`, { facts: { field, length: b.length } });
  return b;
}

function uintBytes(v: bigint, n: number, max: bigint, field: string): Uint8Array {
  if (v < 0n || v > max) throw new CodecError("VALUE_OUT_OF_RANGE", `${field} out of range`, { facts: { field, value: v.toString() } });
  const out = new Uint8Array(n);
  let x = v;
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function readUint(b: Uint8Array, from: number, n: number): bigint {
  let v = 0n;
  for (let i = from; i < from + n; i++) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** The canonical bytes of a redemption payload. Throws `CodecError` (`BAD_LENGTH`, `VALUE_OUT_OF_RANGE`). */
export function encodeRedemptionPayload(p: RedemptionPayload): Uint8Array {
  const head = Uint8Array.of(REDEMPTION_PAYLOAD_VERSION, REDEMPTION_OP[p.op]);
  const id = fixed(p.id, 32, "id");
  switch (p.op) {
    case "authorise":
      return concatBytes(
        head,
        id,
        fixed(p.user, 20, "user"),
        fixed(p.platform, 20, "platform"),
        fixed(p.creditClass, 32, "creditClass"),
        uintBytes(p.amount, 32, U256_MAX, "amount"),
        uintBytes(p.deadline, 8, U64_MAX, "deadline"),
      );
    case "confirm":
      return concatBytes(head, id);
    case "reject":
      return concatBytes(head, id, fixed(p.reason, 32, "reason"));
  }
}

/**
 * Strict decoding, with the contract's checks: `UNKNOWN_VERSION` (byte 0 is not 1), `UNKNOWN_KIND` (an op
 * code other than 1–3), `TRUNCATED` / `TRAILING_BYTES` (not the op's exact length).
 */
export function decodeRedemptionPayload(b: Uint8Array): RedemptionPayload {
  if (b.length < 2) throw new CodecError("TRUNCATED", "redemption payload shorter than its header", { facts: { length: b.length } });
  if (b[0] !== REDEMPTION_PAYLOAD_VERSION) {
    throw new CodecError("UNKNOWN_VERSION", "unsupported redemption payload version", { facts: { version: b[0] } });
  }
  const op = (["authorise", "confirm", "reject"] as const)[b[1]! - 1];
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
      };
    case "confirm":
      return { op, id };
    case "reject":
      return { op, id, reason: b.slice(34, 66) };
  }
}

/**
 * `keccak256(abi.encode(chainId, redemptionContract, user, userNonce))`: the id of the `userNonce`-th
 * redemption `user` requests at `redemptionContract` on Shandu chain `chainId`. (On a FISCO BCOS chain
 * with the SM crypto suite the EVM's keccak256 is SM3: read the id from the contract's event or its
 * `redemptionId` view there.)
 */
export function redemptionId(chainId: bigint, redemptionContract: Uint8Array, user: Uint8Array, userNonce: bigint): Uint8Array {
  const word = (b: Uint8Array) => concatBytes(new Uint8Array(12), fixed(b, 20, "address"));
  return keccak256(
    concatBytes(
      uintBytes(chainId, 32, U64_MAX, "chainId"),
      word(redemptionContract),
      word(user),
      uintBytes(userNonce, 32, U64_MAX, "userNonce"),
    ),
  );
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

/**
 * The message of an outbox `MessageSent` event, from its `body` (fields 1–8) and the log's position
 * (fields 9–11, which the watcher appends).
 */
export function messageFromOutboxBody(
  body: Uint8Array,
  source: { blockNumber: bigint; txHash: Uint8Array; logIndex: number } = { blockNumber: 0n, txHash: new Uint8Array(32), logIndex: 0 },
): Message {
  const tail = concatBytes(
    uintBytes(source.blockNumber, 8, U64_MAX, "blockNumber"),
    fixed(source.txHash, 32, "txHash"),
    uintBytes(BigInt(source.logIndex), 4, 0xffff_ffffn, "logIndex"),
  );
  return decodeMessage(concatBytes(body, tail));
}
