/**
 * The cross-chain message and its canonical encoding (docs/protocol.md §2).
 *
 * ```
 * version            u8     = 1
 * sourceChainId      u64
 * destinationChainId u64
 * nonce              u64    lane nonce, strictly increasing per (source, destination)
 * kind               u8     1 = app, 2 = governance
 * sender             u8 len ‖ bytes (≤ 64)
 * recipient          u8 len ‖ bytes (≤ 64)
 * payload            u32 len ‖ bytes (≤ 65,536)
 * sourceBlockNumber  u64
 * sourceTxHash       32 bytes
 * sourceLogIndex     u32
 * ```
 * All integers big-endian. `messageId = SHA-256("SHANDU-MSG-v1" ‖ encoding)`.
 */
import { ByteReader, ByteWriter, U64_MAX } from "./bytes.ts";
import { CodecError } from "./errors.ts";
import { DOMAIN, sha256, sha256Concat } from "./hash.ts";

export const MESSAGE_VERSION = 1;
export const MAX_ADDRESS_BYTES = 64;
export const MAX_PAYLOAD_BYTES = 65_536;

/** Message kinds. Unknown kinds are rejected when decoding. */
export const MessageKind = { app: 1, governance: 2 } as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];
const KINDS = new Set<number>(Object.values(MessageKind));

/** A Shandu chain id: a u64 assigned to each connected chain in the alliance configuration. */
export type ChainId = bigint & { readonly __brand?: "ChainId" };
/** SHA-256 message id, 32 bytes. */
export type MessageId = Uint8Array & { readonly __brand?: "MessageId" };

/** Where on the source chain the message was emitted. */
export interface SourcePosition {
  blockNumber: bigint;
  /** 32-byte transaction hash (Fabric: the 32 bytes whose hex is the transaction id). */
  txHash: Uint8Array;
  /** Index of the event within the transaction's receipt. */
  logIndex: number;
}

export interface Message {
  version: number;
  sourceChainId: ChainId;
  destinationChainId: ChainId;
  nonce: bigint;
  kind: MessageKind;
  sender: Uint8Array;
  recipient: Uint8Array;
  payload: Uint8Array;
  source: SourcePosition;
}

function checkU64(value: bigint, field: string): void {
  if (typeof value !== "bigint" || value < 0n || value > U64_MAX) {
    throw new CodecError("VALUE_OUT_OF_RANGE", `message ${field} must be a u64 bigint`, {
      facts: { field, value: String(value) },
    });
  }
}

function checkLen(b: Uint8Array, max: number, field: string): void {
  if (!(b instanceof Uint8Array)) {
    throw new CodecError("BAD_LENGTH", `message ${field} must be bytes`, { facts: { field } });
  }
  if (b.length > max) {
    throw new CodecError("FIELD_TOO_LONG", `message ${field} is longer than allowed`, {
      facts: { field, length: b.length, max },
    });
  }
}

/** Canonical encoding. Throws {@link CodecError} for out-of-range fields; never truncates. */
export function encodeMessage(m: Message): Uint8Array {
  return writeMessage(m, new Uint8Array(0));
}

/** Fixed part of the encoding: everything but sender, recipient and payload bytes. */
const FIXED_BYTES = 1 + 8 + 8 + 8 + 1 + 1 + 1 + 4 + 8 + 32 + 4;

/** Checks `m` and writes `prefix ‖ encoding` into one exactly-sized buffer (no copies). */
function writeMessage(m: Message, prefix: Uint8Array): Uint8Array {
  if (m.version !== MESSAGE_VERSION) {
    throw new CodecError("UNKNOWN_VERSION", "unsupported message version", { facts: { version: m.version } });
  }
  checkU64(m.sourceChainId, "sourceChainId");
  checkU64(m.destinationChainId, "destinationChainId");
  checkU64(m.nonce, "nonce");
  checkU64(m.source.blockNumber, "source.blockNumber");
  if (!KINDS.has(m.kind)) throw new CodecError("UNKNOWN_KIND", "unknown message kind", { facts: { kind: m.kind } });
  checkLen(m.sender, MAX_ADDRESS_BYTES, "sender");
  checkLen(m.recipient, MAX_ADDRESS_BYTES, "recipient");
  checkLen(m.payload, MAX_PAYLOAD_BYTES, "payload");
  if (!(m.source.txHash instanceof Uint8Array) || m.source.txHash.length !== 32) {
    throw new CodecError("BAD_LENGTH", "message source.txHash must be 32 bytes", { facts: { field: "source.txHash" } });
  }
  if (!Number.isInteger(m.source.logIndex) || m.source.logIndex < 0 || m.source.logIndex > 0xffff_ffff) {
    throw new CodecError("VALUE_OUT_OF_RANGE", "message source.logIndex must be a u32", {
      facts: { field: "source.logIndex", value: m.source.logIndex },
    });
  }
  return new ByteWriter(prefix.length + FIXED_BYTES + m.sender.length + m.recipient.length + m.payload.length)
    .bytes(prefix)
    .u8(m.version)
    .u64(m.sourceChainId)
    .u64(m.destinationChainId)
    .u64(m.nonce)
    .u8(m.kind)
    .bytes8(m.sender)
    .bytes8(m.recipient)
    .bytes32(m.payload)
    .u64(m.source.blockNumber)
    .bytes(m.source.txHash)
    .u32(m.source.logIndex)
    .finish();
}

/**
 * Strict decoding of untrusted bytes: rejects unknown versions and kinds, oversize fields, truncation
 * and trailing bytes, each with its own {@link CodecError} code.
 */
export function decodeMessage(bytes: Uint8Array): Message {
  const r = new ByteReader(bytes, "message");
  const version = r.u8("version");
  if (version !== MESSAGE_VERSION) {
    throw new CodecError("UNKNOWN_VERSION", "unsupported message version", { facts: { version } });
  }
  const sourceChainId = r.u64("sourceChainId");
  const destinationChainId = r.u64("destinationChainId");
  const nonce = r.u64("nonce");
  const kind = r.u8("kind");
  if (!KINDS.has(kind)) throw new CodecError("UNKNOWN_KIND", "unknown message kind", { facts: { kind } });
  const sender = r.bytes8(MAX_ADDRESS_BYTES, "sender");
  const recipient = r.bytes8(MAX_ADDRESS_BYTES, "recipient");
  const payload = r.bytes32(MAX_PAYLOAD_BYTES, "payload");
  const blockNumber = r.u64("source.blockNumber");
  const txHash = r.bytes(32, "source.txHash");
  const logIndex = r.u32("source.logIndex");
  r.end();
  return {
    version,
    sourceChainId,
    destinationChainId,
    nonce,
    kind: kind as MessageKind,
    sender,
    recipient,
    payload,
    source: { blockNumber, txHash, logIndex },
  };
}

/** `SHA-256("SHANDU-MSG-v1" ‖ encoding)` of an already-encoded message. */
export function messageIdOfEncoding(encoding: Uint8Array): MessageId {
  return sha256Concat(DOMAIN.message, encoding);
}

/** Encodes `m` canonically and hashes it (one buffer holds the domain tag and the encoding). */
export function messageId(m: Message): MessageId {
  return sha256(writeMessage(m, DOMAIN.message));
}
