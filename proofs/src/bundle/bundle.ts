/**
 * Proof bundle v1 (docs/protocol.md §8): one self-contained document per message — the message, its
 * inclusion proof in the attested batch, the attestation, the committee chain from genesis, source and
 * destination evidence, and the regulator-envelope commitment. JSON is the reference form; the binary
 * form carries the same content, more compactly.
 */
import { type Attestation, type BatchHeader, batchSize, checkEpoch, encodeAttestation, readAttestation } from "../attestation.ts";
import { ByteReader, ByteWriter, toHex, utf8 } from "../bytes.ts";
import { type Committee, decodeCommittee, encodeCommittee } from "../committee.ts";
import { BundleError, CodecError } from "../errors.ts";
import {
  arr,
  attestationFromJson,
  attestationToJson,
  batchFromJson,
  batchToJson,
  committeeFromJson,
  committeeToJson,
  hex,
  int,
  type Json,
  messageFromJson,
  messageToJson,
  name,
  obj,
  rotationFromJson,
  rotationToJson,
  str,
} from "../json.ts";
import { decodeMessage, encodeMessage, MAX_PAYLOAD_BYTES, type Message } from "../message.ts";
import { checkRotationFields, type RotationRecord } from "../rotation.ts";

export const BUNDLE_FORMAT = "shandu.proof-bundle";
export const BUNDLE_VERSION = 1;
const BINARY_MAGIC = utf8("SHDB");
const MAX_EVIDENCE_BYTES = 1 << 20;
const MAX_ROTATIONS = 4096;

/** Evidence is chain-specific; `kind` selects the verifier (e.g. "evm-receipt", "fabric-endorsement"). */
export interface Evidence {
  kind: string;
  [field: string]: Json;
}

/** Where the regulator-envelope commitment sits in the signed payload. */
export interface RegulatorEnvelopeRef {
  /** 32-byte commitment to the HPKE envelope held by the supervisor. */
  commitment: Uint8Array;
  /** Byte offset of the commitment inside `message.payload`. */
  payloadOffset: number;
  /** Envelope scheme, e.g. "hpke-x25519-sha256-aes128gcm". */
  scheme: string;
}

export interface InclusionProof {
  treeSize: number;
  leafIndex: number;
  siblings: Uint8Array[];
}

export interface ProofBundle {
  version: number;
  message: Message;
  /** Convenience copy for readers and indexes; the verifier recomputes it and rejects a mismatch. */
  messageId?: Uint8Array;
  batch: BatchHeader;
  inclusion: InclusionProof;
  attestation: Attestation;
  committees: { genesis: Committee; rotations: RotationRecord[] };
  sourceEvidence: Evidence | null;
  destinationEvidence: Evidence | null;
  regulatorEnvelope: RegulatorEnvelopeRef | null;
}

export function bundleToJson(b: ProofBundle): Json {
  return {
    format: BUNDLE_FORMAT,
    version: b.version,
    message: messageToJson(b.message),
    ...(b.messageId ? { messageId: toHex(b.messageId) } : {}),
    batch: batchToJson(b.batch),
    inclusion: { treeSize: b.inclusion.treeSize, leafIndex: b.inclusion.leafIndex, siblings: b.inclusion.siblings.map(toHex) },
    attestation: attestationToJson(b.attestation),
    committees: { genesis: committeeToJson(b.committees.genesis), rotations: b.committees.rotations.map(rotationToJson) },
    sourceEvidence: b.sourceEvidence,
    destinationEvidence: b.destinationEvidence,
    regulatorEnvelope: b.regulatorEnvelope
      ? {
          commitment: toHex(b.regulatorEnvelope.commitment),
          payloadOffset: b.regulatorEnvelope.payloadOffset,
          scheme: b.regulatorEnvelope.scheme,
        }
      : null,
  };
}

function evidenceFromJson(v: unknown, path: string): Evidence | null {
  if (v === null || v === undefined) return null;
  const o = obj(v, path);
  str(o.kind, `${path}.kind`, 64);
  return o as Evidence;
}

/** Reads a parsed JSON bundle. Throws {@link BundleError} (`NOT_A_BUNDLE`, `UNSUPPORTED_BUNDLE_VERSION`, `SCHEMA`). */
export function bundleFromJson(v: unknown): ProofBundle {
  if (typeof v !== "object" || v === null || (v as Obj).format !== BUNDLE_FORMAT) {
    throw new BundleError("NOT_A_BUNDLE", `not a Shandu proof bundle (expected "format": "${BUNDLE_FORMAT}")`);
  }
  const o = v as Obj;
  if (o.version !== BUNDLE_VERSION) {
    throw new BundleError("UNSUPPORTED_BUNDLE_VERSION", "this verifier reads proof bundle version 1", {
      facts: { version: String(o.version) },
    });
  }
  const inc = obj(o.inclusion, "inclusion");
  const com = obj(o.committees, "committees");
  const env = o.regulatorEnvelope;
  let regulatorEnvelope: RegulatorEnvelopeRef | null = null;
  if (env !== null && env !== undefined) {
    const e = obj(env, "regulatorEnvelope");
    regulatorEnvelope = {
      commitment: hex(e.commitment, "regulatorEnvelope.commitment", 32),
      payloadOffset: int(e.payloadOffset, "regulatorEnvelope.payloadOffset", 0, MAX_PAYLOAD_BYTES),
      scheme: name(e.scheme, "regulatorEnvelope.scheme"),
    };
  }
  return {
    version: BUNDLE_VERSION,
    message: messageFromJson(o.message),
    ...(o.messageId !== undefined ? { messageId: hex(o.messageId, "messageId", 32) } : {}),
    batch: batchFromJson(o.batch),
    inclusion: {
      treeSize: int(inc.treeSize, "inclusion.treeSize", 1, 1 << 20),
      leafIndex: int(inc.leafIndex, "inclusion.leafIndex", 0, (1 << 20) - 1),
      siblings: arr(inc.siblings, "inclusion.siblings", 64).map((s, i) => hex(s, `inclusion.siblings[${i}]`, 32)),
    },
    attestation: attestationFromJson(o.attestation),
    committees: {
      genesis: committeeFromJson(com.genesis, "committees.genesis"),
      rotations: arr(com.rotations ?? [], "committees.rotations", MAX_ROTATIONS).map((r, i) =>
        rotationFromJson(r, `committees.rotations[${i}]`),
      ),
    },
    sourceEvidence: evidenceFromJson(o.sourceEvidence, "sourceEvidence"),
    destinationEvidence: evidenceFromJson(o.destinationEvidence, "destinationEvidence"),
    regulatorEnvelope,
  };
}
type Obj = Record<string, unknown>;

/** Parses bundle JSON text. Throws {@link BundleError} `NOT_A_BUNDLE` for text that is not JSON. */
export function parseBundle(text: string): ProofBundle {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (cause) {
    throw new BundleError("NOT_A_BUNDLE", "not valid JSON", { cause });
  }
  return bundleFromJson(v);
}

function writeEvidence(w: ByteWriter, e: Evidence | null): void {
  w.bytes32(e ? utf8(JSON.stringify(e)) : new Uint8Array(0));
}

function readEvidence(r: ByteReader, field: string): Evidence | null {
  const b = r.bytes32(MAX_EVIDENCE_BYTES, field);
  if (b.length === 0) return null;
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(b));
  } catch (cause) {
    throw new CodecError("BAD_LENGTH", `${field} is not UTF-8 JSON`, { cause });
  }
  return evidenceFromJson(v, field);
}

/**
 * Compact binary form: `"SHDB" ‖ version u8 ‖ message (u32 len) ‖ batch ‖ inclusion ‖ attestation ‖
 * genesis committee (u32 len) ‖ rotations ‖ evidence ×2 (u32-length JSON, empty = none) ‖ envelope`.
 * The message id is not stored (it is derived).
 */
export function encodeBundleBinary(b: ProofBundle): Uint8Array {
  const range = (field: string, v: number, max: number) => {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new CodecError("VALUE_OUT_OF_RANGE", `bundle ${field} out of range`, { facts: { field, value: v, max } });
    }
  };
  range("version", b.version, 255);
  batchSize(b.batch);
  if (b.batch.root.length !== 32) throw new CodecError("BAD_LENGTH", "batch root is 32 bytes");
  for (const r of b.committees.rotations) checkRotationFields(r.fromEpoch, r.to.epoch, r.activatesAtSeconds, r.graceSeconds);
  if (b.regulatorEnvelope) name(b.regulatorEnvelope.scheme, "regulatorEnvelope.scheme");
  range("inclusion.treeSize", b.inclusion.treeSize, 0xffff_ffff);
  range("inclusion.leafIndex", b.inclusion.leafIndex, 0xffff_ffff);
  range("inclusion siblings", b.inclusion.siblings.length, 64);
  range("rotations", b.committees.rotations.length, MAX_ROTATIONS);
  if (b.regulatorEnvelope) range("regulatorEnvelope.payloadOffset", b.regulatorEnvelope.payloadOffset, 0xffff_ffff);
  const w = new ByteWriter(4096).bytes(BINARY_MAGIC).u8(b.version);
  w.bytes32(encodeMessage(b.message));
  w.u64(b.batch.sourceChainId).u64(b.batch.destinationChainId).u64(b.batch.firstNonce).u64(b.batch.lastNonce).bytes(b.batch.root);
  w.u32(b.inclusion.treeSize).u32(b.inclusion.leafIndex).u8(b.inclusion.siblings.length);
  for (const s of b.inclusion.siblings) {
    if (s.length !== 32) throw new CodecError("BAD_LENGTH", "inclusion siblings are 32 bytes");
    w.bytes(s);
  }
  w.bytes(encodeAttestation(b.attestation));
  w.bytes32(encodeCommittee(b.committees.genesis));
  w.u16(b.committees.rotations.length);
  for (const r of b.committees.rotations) {
    checkEpoch(r.fromEpoch);
    if (r.fromCommitteeSetHash.length !== 32) throw new CodecError("BAD_LENGTH", "rotation fromCommitteeSetHash is 32 bytes");
    w.u64(r.fromEpoch).bytes(r.fromCommitteeSetHash).bytes32(encodeCommittee(r.to)).u64(r.activatesAtSeconds).u32(r.graceSeconds);
    w.bytes(encodeAttestation(r.attestation));
  }
  writeEvidence(w, b.sourceEvidence);
  writeEvidence(w, b.destinationEvidence);
  if (b.regulatorEnvelope) {
    if (b.regulatorEnvelope.commitment.length !== 32) throw new CodecError("BAD_LENGTH", "envelope commitment is 32 bytes");
    w.u8(1).bytes(b.regulatorEnvelope.commitment).u32(b.regulatorEnvelope.payloadOffset).bytes8(utf8(b.regulatorEnvelope.scheme));
  } else {
    w.u8(0);
  }
  return w.finish();
}

/** Strict inverse of {@link encodeBundleBinary}; throws {@link CodecError} or {@link BundleError}. */
export function decodeBundleBinary(bytes: Uint8Array): ProofBundle {
  const r = new ByteReader(bytes, "proof bundle");
  const magic = r.bytes(4, "magic");
  if (toHex(magic) !== toHex(BINARY_MAGIC)) throw new BundleError("NOT_A_BUNDLE", "not a binary Shandu proof bundle (bad magic)");
  const version = r.u8("version");
  if (version !== BUNDLE_VERSION)
    throw new BundleError("UNSUPPORTED_BUNDLE_VERSION", "this verifier reads proof bundle version 1", { facts: { version } });
  const message = decodeMessage(r.bytes32(MAX_PAYLOAD_BYTES + 512, "message"));
  const batch: BatchHeader = {
    sourceChainId: r.u64("batch.sourceChainId"),
    destinationChainId: r.u64("batch.destinationChainId"),
    firstNonce: r.u64("batch.firstNonce"),
    lastNonce: r.u64("batch.lastNonce"),
    root: r.bytes(32, "batch.root"),
  };
  const treeSize = r.u32("inclusion.treeSize");
  const leafIndex = r.u32("inclusion.leafIndex");
  const n = r.u8("inclusion sibling count");
  if (n > 64) throw new CodecError("FIELD_TOO_LONG", "too many inclusion siblings", { facts: { count: n } });
  const siblings: Uint8Array[] = [];
  for (let i = 0; i < n; i++) siblings.push(r.bytes(32, "inclusion sibling"));
  const attestation = readAttestation(r);
  const genesis = decodeCommittee(r.bytes32(1 << 20, "genesis committee"));
  const rotationCount = r.u16("rotation count");
  if (rotationCount > MAX_ROTATIONS) throw new CodecError("FIELD_TOO_LONG", "too many rotations", { facts: { count: rotationCount } });
  const rotations: RotationRecord[] = [];
  for (let i = 0; i < rotationCount; i++) {
    rotations.push({
      fromEpoch: r.u64("rotation fromEpoch"),
      fromCommitteeSetHash: r.bytes(32, "rotation fromCommitteeSetHash"),
      to: decodeCommittee(r.bytes32(1 << 20, "rotation committee")),
      activatesAtSeconds: r.u64("rotation activatesAtSeconds"),
      graceSeconds: r.u32("rotation graceSeconds"),
      attestation: readAttestation(r),
    });
  }
  const sourceEvidence = readEvidence(r, "sourceEvidence");
  const destinationEvidence = readEvidence(r, "destinationEvidence");
  let regulatorEnvelope: RegulatorEnvelopeRef | null = null;
  const hasEnvelope = r.u8("envelope flag");
  if (hasEnvelope > 1) throw new CodecError("VALUE_OUT_OF_RANGE", "envelope flag must be 0 or 1");
  if (hasEnvelope === 1) {
    regulatorEnvelope = {
      commitment: r.bytes(32, "envelope commitment"),
      payloadOffset: r.u32("envelope offset"),
      scheme: nonEmpty(r.string8(64, "envelope scheme"), "envelope scheme"),
    };
  }
  r.end();
  return {
    version,
    message,
    batch,
    inclusion: { treeSize, leafIndex, siblings },
    attestation,
    committees: { genesis, rotations },
    sourceEvidence,
    destinationEvidence,
    regulatorEnvelope,
  };
}

function nonEmpty(s: string, field: string): string {
  if (s.length === 0) throw new CodecError("BAD_LENGTH", `${field} is empty`, { facts: { field } });
  return s;
}

/** Reads a bundle from file bytes in either form (binary starts with "SHDB"). */
export function readBundleBytes(bytes: Uint8Array): ProofBundle {
  if (bytes.length >= 4 && bytes[0] === 0x53 && bytes[1] === 0x48 && bytes[2] === 0x44 && bytes[3] === 0x42) {
    return decodeBundleBinary(bytes);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    throw new BundleError("NOT_A_BUNDLE", "not UTF-8 text and not a binary bundle", { cause });
  }
  return parseBundle(text);
}
