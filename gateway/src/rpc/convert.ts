/**
 * Conversions between the transport-independent types of `api.ts` and the objects `@grpc/proto-loader`
 * produces and consumes for `proto/shandu/gateway/v1/gateway.proto`, plus the error mapping both
 * transports share.
 *
 * The proto is loaded with snake_case field names, uint64 as decimal strings, enums as names, defaults
 * filled in and bytes as `Buffer`. Everything decoded from the wire is untrusted: every `fromPb` checks
 * every field it reads (types, byte lengths, u64 range, list sizes) and throws {@link GatewayError}
 * `INVALID_REQUEST` with `facts.field` naming the proto field path. The client uses the same readers on
 * responses, so a malformed response also surfaces as `INVALID_REQUEST` naming the field. `toPb` takes
 * values the caller produced itself and does not check them.
 */
import { fileURLToPath } from "node:url";
import type { ServiceDefinition } from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import {
  type Attestation,
  type BatchHeader,
  type Committee,
  committeeFromJson,
  committeeToJson,
  decodeNativeAttestation,
  type ErrorFacts,
  encodeNativeAttestation,
  MAX_COMMITTEE_MEMBERS,
  MAX_PAYLOAD_BYTES,
  MAX_TREE_LEAVES,
  NATIVE_SIGNATURE_BYTES,
  type NativeAttestation,
  NativeKeyScheme,
  type NativeKeySchemeName,
  type RotationRecord,
  rotationFromJson,
  rotationToJson,
  ShanduError,
  SIGNATURE_BYTES,
  U64_MAX,
} from "@shandu/proofs";
import type {
  AttestedBatch,
  BatchRef,
  HealthStatus,
  LaneStatus,
  MessageRef,
  SignedTreeHead,
  SubmitPartialRequest,
  SubmitPartialResponse,
  SubmitPartialStatus,
} from "../api.ts";
import { GATEWAY_ERRORS, GatewayError, type GatewayErrorCode } from "../errors.ts";

// ---------------------------------------------------------------------------------------------------
// Loading the proto

export const GATEWAY_PROTO_FILE = fileURLToPath(new URL("../../proto/shandu/gateway/v1/gateway.proto", import.meta.url));
export const GATEWAY_SERVICE_NAME = "shandu.gateway.v1.Gateway";

/** How both ends load the proto; the `Pb*` types below describe objects in exactly this shape. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
};

/** Largest gRPC message either end accepts (an attested batch with many large messages fits). */
export const MAX_GRPC_MESSAGE_BYTES = 64 * 1024 * 1024;

/** The method names of the `Gateway` service, as in the proto. */
export type GatewayMethod =
  | "SubmitPartial"
  | "GetAttestation"
  | "GetProofBundle"
  | "StreamAttestedBatches"
  | "ListLanes"
  | "GetTreeHead"
  | "GetInclusionProof"
  | "GetConsistencyProof"
  | "Health";

export type GatewayServiceDefinition = ServiceDefinition & Record<GatewayMethod, ServiceDefinition[string]>;

let serviceDefinition: GatewayServiceDefinition | undefined;

/** The `Gateway` service definition (loaded once, synchronously, from {@link GATEWAY_PROTO_FILE}). */
export function gatewayServiceDefinition(): GatewayServiceDefinition {
  if (serviceDefinition === undefined) {
    const pkg = protoLoader.loadSync(GATEWAY_PROTO_FILE, PROTO_LOADER_OPTIONS);
    serviceDefinition = pkg[GATEWAY_SERVICE_NAME] as unknown as GatewayServiceDefinition;
  }
  return serviceDefinition;
}

// ---------------------------------------------------------------------------------------------------
// Proto object shapes (as toPb produces them; fromPb accepts `unknown` and checks)

/** uint64 on the wire: a decimal string (toPb) — proto-loader also accepts numbers and Longs. */
export type PbU64 = string;

export interface PbBatchHeader {
  source_chain_id: PbU64;
  destination_chain_id: PbU64;
  first_nonce: PbU64;
  last_nonce: PbU64;
  root: Uint8Array;
}
export interface PbAttestation {
  epoch: PbU64;
  committee_set_hash: Uint8Array;
  signers: Uint8Array;
  signature: Uint8Array;
}
export interface PbAttestedBatch {
  header: PbBatchHeader;
  attestation: PbAttestation;
  messages: Uint8Array[];
  committees_json: string;
  log_index: PbU64;
  native_attestation?: Uint8Array;
}
export interface PbSubmitPartialRequest {
  header: PbBatchHeader;
  epoch: PbU64;
  member_id: string;
  signature: Uint8Array;
  messages: Uint8Array[];
  native?: { scheme: number; signature: Uint8Array }[];
}
export type PbSubmitPartialStatus = "SUBMIT_PARTIAL_STATUS_ACCEPTED" | "SUBMIT_PARTIAL_STATUS_DUPLICATE" | "SUBMIT_PARTIAL_STATUS_ATTESTED";
export interface PbSubmitPartialResponse {
  status: PbSubmitPartialStatus;
}
export interface PbGetAttestationRequest {
  source_chain_id: PbU64;
  destination_chain_id: PbU64;
  first_nonce: PbU64;
  last_nonce: PbU64;
}
export interface PbGetAttestationResponse {
  batch: PbAttestedBatch;
}
export interface PbGetProofBundleRequest {
  source_chain_id: PbU64;
  destination_chain_id: PbU64;
  nonce: PbU64;
}
export interface PbGetProofBundleResponse {
  bundle_json: string;
}
export interface PbStreamAttestedBatchesRequest {
  from_log_index: PbU64;
  destination_chain_id?: PbU64;
}
export interface PbStreamAttestedBatchesResponse {
  batch: PbAttestedBatch;
}
export interface PbLaneStatus {
  source_chain_id: PbU64;
  destination_chain_id: PbU64;
  last_attested_nonce?: PbU64;
  attested_batches: PbU64;
  pending_batches: PbU64;
  terminated: PbU64;
}
export interface PbListLanesResponse {
  lanes: PbLaneStatus[];
}
export interface PbSignedTreeHead {
  tree_size: PbU64;
  root_hash: Uint8Array;
  timestamp_ms: PbU64;
  signature: Uint8Array;
  public_key: Uint8Array;
}
export interface PbGetTreeHeadResponse {
  tree_head: PbSignedTreeHead;
}
export interface PbGetInclusionProofRequest {
  index: PbU64;
  tree_size: PbU64;
}
export interface PbGetInclusionProofResponse {
  leaf: Uint8Array;
  path: Uint8Array[];
}
export interface PbGetConsistencyProofRequest {
  from_size: PbU64;
  to_size: PbU64;
}
export interface PbGetConsistencyProofResponse {
  proof: Uint8Array[];
}
export type PbComponentStatus = "COMPONENT_STATUS_OK" | "COMPONENT_STATUS_UNAVAILABLE";
export interface PbHealthResponse {
  ok: boolean;
  store: PbComponentStatus;
  queue: PbComponentStatus;
  queue_kind: string;
  version: string;
}

// ---------------------------------------------------------------------------------------------------
// Field readers

type Obj = Record<string, unknown>;

const HASH_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;
const ED25519_PUBLIC_KEY_BYTES = 32;
/** The signer bitfield of a committee of at most 1024 members. */
const MAX_SIGNERS_BYTES = 128;
/** A canonical message: fixed fields, two addresses of at most 64 bytes and the payload. */
const MAX_MESSAGE_BYTES = MAX_PAYLOAD_BYTES + 1024;
/** A log leaf (an attested-batch leaf is small; the bound only stops abuse). */
const MAX_LEAF_BYTES = 1 << 20;
/** Audit paths and consistency proofs of a tree of at most 2^64 leaves. */
const MAX_PROOF_NODES = 128;
const MAX_LANES = 100_000;
const MAX_JSON_CHARS = MAX_GRPC_MESSAGE_BYTES;

function invalid(field: string, expected: string, cause?: unknown): GatewayError {
  return new GatewayError("INVALID_REQUEST", `${field}: expected ${expected}`, { facts: { field }, cause });
}

function pbObj(v: unknown, field: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array) throw invalid(field, "a message");
  return v as Obj;
}

const U64_DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

/** A uint64 as proto-loader gives it with `longs: String` (numbers and bigints are accepted too). */
function pbU64(v: unknown, field: string): bigint {
  let n: bigint;
  if (typeof v === "string" && U64_DECIMAL.test(v)) n = BigInt(v);
  else if (typeof v === "number" && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === "bigint") n = v;
  else throw invalid(field, "a uint64");
  if (n < 0n || n > U64_MAX) throw invalid(field, "a uint64");
  return n;
}

/** A uint64 that is a count held as a JS number. */
function pbCount(v: unknown, field: string): number {
  const n = pbU64(v, field);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(field, "a count below 2^53");
  return Number(n);
}

/** Bytes (a copy, so no caller holds on to a pooled Buffer), of `length` bytes or at most `max`. */
function pbBytes(v: unknown, field: string, length?: number, max = MAX_MESSAGE_BYTES): Uint8Array {
  if (!(v instanceof Uint8Array)) throw invalid(field, length === undefined ? "bytes" : `${length} bytes`);
  if (length !== undefined && v.length !== length) throw invalid(field, `${length} bytes, got ${v.length}`);
  if (v.length > max) throw invalid(field, `at most ${max} bytes, got ${v.length}`);
  return new Uint8Array(v);
}

function pbList(v: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw invalid(field, "a list");
  if (v.length > max) throw invalid(field, `at most ${max} entries, got ${v.length}`);
  return v;
}

function pbBytesList(v: unknown, field: string, max: number, length?: number, maxEach?: number): Uint8Array[] {
  return pbList(v, field, max).map((b, i) => pbBytes(b, `${field}[${i}]`, length, maxEach));
}

function pbString(v: unknown, field: string, max: number): string {
  if (typeof v !== "string") throw invalid(field, "a string");
  if (v.length > max) throw invalid(field, `a string of at most ${max} characters`);
  return v;
}

/** Runs a `proofs` JSON reader, reporting its schema errors as `INVALID_REQUEST` on `field`. */
function viaJsonReader<T>(field: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ShanduError) {
      throw new GatewayError("INVALID_REQUEST", `${field}: ${e.shortMessage}`, {
        facts: { field, path: typeof e.facts.path === "string" ? e.facts.path : undefined },
        cause: e,
      });
    }
    throw e;
  }
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw invalid(field, "JSON", cause);
  }
}

// ---------------------------------------------------------------------------------------------------
// Structures

function batchHeaderToPb(h: BatchHeader): PbBatchHeader {
  return {
    source_chain_id: h.sourceChainId.toString(),
    destination_chain_id: h.destinationChainId.toString(),
    first_nonce: h.firstNonce.toString(),
    last_nonce: h.lastNonce.toString(),
    root: h.root,
  };
}

function batchHeaderFromPb(v: unknown, field: string): BatchHeader {
  const o = pbObj(v, field);
  return {
    sourceChainId: pbU64(o.source_chain_id, `${field}.source_chain_id`),
    destinationChainId: pbU64(o.destination_chain_id, `${field}.destination_chain_id`),
    firstNonce: pbU64(o.first_nonce, `${field}.first_nonce`),
    lastNonce: pbU64(o.last_nonce, `${field}.last_nonce`),
    root: pbBytes(o.root, `${field}.root`, HASH_BYTES),
  };
}

function attestationToPb(a: Attestation): PbAttestation {
  return { epoch: a.epoch.toString(), committee_set_hash: a.committeeSetHash, signers: a.signers, signature: a.signature };
}

function attestationFromPb(v: unknown, field: string): Attestation {
  const o = pbObj(v, field);
  const signers = pbBytes(o.signers, `${field}.signers`, undefined, MAX_SIGNERS_BYTES);
  if (signers.length === 0) throw invalid(`${field}.signers`, "a non-empty signer bitfield");
  return {
    epoch: pbU64(o.epoch, `${field}.epoch`),
    committeeSetHash: pbBytes(o.committee_set_hash, `${field}.committee_set_hash`, HASH_BYTES),
    signers,
    signature: pbBytes(o.signature, `${field}.signature`, SIGNATURE_BYTES),
  };
}

function committeesToJsonText(c: AttestedBatch["committees"]): string {
  return JSON.stringify({ genesis: committeeToJson(c.genesis), rotations: c.rotations.map(rotationToJson) });
}

function committeesFromJsonText(v: unknown, field: string): { genesis: Committee; rotations: RotationRecord[] } {
  const o = pbObj(parseJson(pbString(v, field, MAX_JSON_CHARS), field), field);
  if (!Array.isArray(o.rotations)) throw invalid(`${field}.rotations`, "an array");
  const rotations = o.rotations;
  return viaJsonReader(field, () => ({
    genesis: committeeFromJson(o.genesis, "genesis"),
    rotations: rotations.map((r, i) => rotationFromJson(r, `rotations[${i}]`)),
  }));
}

function attestedBatchToPb(b: AttestedBatch): PbAttestedBatch {
  return {
    header: batchHeaderToPb(b.header),
    attestation: attestationToPb(b.attestation),
    messages: b.messages,
    committees_json: committeesToJsonText(b.committees),
    log_index: b.logIndex.toString(),
    native_attestation: b.native ? encodeNativeAttestation(b.native) : new Uint8Array(0),
  };
}

function attestedBatchFromPb(v: unknown, field: string): AttestedBatch {
  const o = pbObj(v, field);
  return {
    header: batchHeaderFromPb(o.header, `${field}.header`),
    attestation: attestationFromPb(o.attestation, `${field}.attestation`),
    messages: pbBytesList(o.messages, `${field}.messages`, MAX_TREE_LEAVES),
    committees: committeesFromJsonText(o.committees_json, `${field}.committees_json`),
    logIndex: pbU64(o.log_index, `${field}.log_index`),
    ...nativeAttestationFromPb(o.native_attestation, `${field}.native_attestation`),
  };
}

function nativeAttestationFromPb(v: unknown, field: string): { native?: NativeAttestation } {
  if (v === undefined || v === null) return {};
  const b = pbBytes(v, field, undefined, MAX_NATIVE_ATTESTATION_BYTES);
  if (b.length === 0) return {};
  try {
    return { native: decodeNativeAttestation(b) };
  } catch (cause) {
    throw invalid(field, "a native attestation (docs/protocol.md §6.5)", cause);
  }
}

const NATIVE_SCHEMES: Readonly<Record<number, NativeKeySchemeName>> = { 1: "secp256k1", 2: "sm2" };
/** A native attestation of the largest committee: header, bitfield, 65-byte signatures. */
const MAX_NATIVE_ATTESTATION_BYTES = 64 + MAX_SIGNERS_BYTES + MAX_COMMITTEE_MEMBERS * 65;

function nativeSignaturesFromPb(v: unknown, field: string): Pick<SubmitPartialRequest, "native"> {
  const list = v === undefined || v === null ? [] : pbList(v, field, 2);
  if (list.length === 0) return {};
  const native = list.map((x, i) => {
    const o = pbObj(x, `${field}[${i}]`);
    const scheme = NATIVE_SCHEMES[Number(o.scheme)];
    if (!scheme) throw invalid(`${field}[${i}].scheme`, "1 (secp256k1) or 2 (sm2)");
    return { scheme, signature: pbBytes(o.signature, `${field}[${i}].signature`, NATIVE_SIGNATURE_BYTES[scheme]) };
  });
  return { native };
}

const STATUS_TO_PB: Readonly<Record<SubmitPartialStatus, PbSubmitPartialStatus>> = {
  accepted: "SUBMIT_PARTIAL_STATUS_ACCEPTED",
  duplicate: "SUBMIT_PARTIAL_STATUS_DUPLICATE",
  attested: "SUBMIT_PARTIAL_STATUS_ATTESTED",
};
const STATUS_FROM_PB = new Map<unknown, SubmitPartialStatus>(Object.entries(STATUS_TO_PB).map(([k, v]) => [v, k as SubmitPartialStatus]));

const COMPONENT_TO_PB: Readonly<Record<HealthStatus["store"], PbComponentStatus>> = {
  ok: "COMPONENT_STATUS_OK",
  unavailable: "COMPONENT_STATUS_UNAVAILABLE",
};
const COMPONENT_FROM_PB = new Map<unknown, HealthStatus["store"]>(
  Object.entries(COMPONENT_TO_PB).map(([k, v]) => [v, k as HealthStatus["store"]]),
);

function componentFromPb(v: unknown, field: string): HealthStatus["store"] {
  const s = COMPONENT_FROM_PB.get(v);
  if (s === undefined) throw invalid(field, "COMPONENT_STATUS_OK or COMPONENT_STATUS_UNAVAILABLE");
  return s;
}

function memberIdFromPb(v: unknown, field: string): string {
  const s = pbString(v, field, 64);
  const n = Buffer.byteLength(s, "utf8");
  if (n === 0 || n > 64 || !s.isWellFormed()) throw invalid(field, "a member id of 1 to 64 UTF-8 bytes");
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Codecs, one per request and response

/** Converts one api value to its proto object and back. */
export interface PbCodec<T, P> {
  /** The proto object of `v` (a value this process produced; not checked). */
  toPb(v: T): P;
  /** The api value of a decoded proto object. Throws `INVALID_REQUEST` naming the first bad field. */
  fromPb(p: unknown): T;
}

export interface StreamRequest {
  fromLogIndex: bigint;
  destinationChainId?: bigint;
}

export interface InclusionProofResponse {
  leaf: Uint8Array;
  path: Uint8Array[];
}

export const submitPartialRequestCodec: PbCodec<SubmitPartialRequest, PbSubmitPartialRequest> = {
  toPb: (r) => ({
    header: batchHeaderToPb(r.header),
    epoch: r.epoch.toString(),
    member_id: r.memberId,
    signature: r.signature,
    messages: r.messages,
    ...(r.native ? { native: r.native.map((n) => ({ scheme: NativeKeyScheme[n.scheme], signature: n.signature })) } : {}),
  }),
  fromPb: (p) => {
    const o = pbObj(p, "request");
    return {
      header: batchHeaderFromPb(o.header, "header"),
      epoch: pbU64(o.epoch, "epoch"),
      memberId: memberIdFromPb(o.member_id, "member_id"),
      signature: pbBytes(o.signature, "signature", SIGNATURE_BYTES),
      messages: pbBytesList(o.messages, "messages", MAX_TREE_LEAVES),
      ...nativeSignaturesFromPb(o.native, "native"),
    };
  },
};

export const submitPartialResponseCodec: PbCodec<SubmitPartialResponse, PbSubmitPartialResponse> = {
  toPb: (r) => ({ status: STATUS_TO_PB[r.status] }),
  fromPb: (p) => {
    const status = STATUS_FROM_PB.get(pbObj(p, "response").status);
    if (status === undefined) throw invalid("status", "ACCEPTED, DUPLICATE or ATTESTED");
    return { status };
  },
};

export const getAttestationRequestCodec: PbCodec<BatchRef, PbGetAttestationRequest> = {
  toPb: (r) => ({
    source_chain_id: r.sourceChainId.toString(),
    destination_chain_id: r.destinationChainId.toString(),
    first_nonce: r.firstNonce.toString(),
    last_nonce: r.lastNonce.toString(),
  }),
  fromPb: (p) => {
    const o = pbObj(p, "request");
    return {
      sourceChainId: pbU64(o.source_chain_id, "source_chain_id"),
      destinationChainId: pbU64(o.destination_chain_id, "destination_chain_id"),
      firstNonce: pbU64(o.first_nonce, "first_nonce"),
      lastNonce: pbU64(o.last_nonce, "last_nonce"),
    };
  },
};

export const getAttestationResponseCodec: PbCodec<AttestedBatch, PbGetAttestationResponse> = {
  toPb: (b) => ({ batch: attestedBatchToPb(b) }),
  fromPb: (p) => attestedBatchFromPb(pbObj(p, "response").batch, "batch"),
};

export const getProofBundleRequestCodec: PbCodec<MessageRef, PbGetProofBundleRequest> = {
  toPb: (r) => ({
    source_chain_id: r.sourceChainId.toString(),
    destination_chain_id: r.destinationChainId.toString(),
    nonce: r.nonce.toString(),
  }),
  fromPb: (p) => {
    const o = pbObj(p, "request");
    return {
      sourceChainId: pbU64(o.source_chain_id, "source_chain_id"),
      destinationChainId: pbU64(o.destination_chain_id, "destination_chain_id"),
      nonce: pbU64(o.nonce, "nonce"),
    };
  },
};

/** The bundle travels as its JSON text; `fromPb` parses it and requires a JSON object. */
export const getProofBundleResponseCodec: PbCodec<unknown, PbGetProofBundleResponse> = {
  toPb: (bundle) => ({ bundle_json: JSON.stringify(bundle) ?? "" }),
  fromPb: (p) => {
    const text = pbString(pbObj(p, "response").bundle_json, "bundle_json", MAX_JSON_CHARS);
    const bundle = parseJson(text, "bundle_json");
    pbObj(bundle, "bundle_json");
    return bundle;
  },
};

export const streamAttestedBatchesRequestCodec: PbCodec<StreamRequest, PbStreamAttestedBatchesRequest> = {
  toPb: (r) => ({
    from_log_index: r.fromLogIndex.toString(),
    ...(r.destinationChainId === undefined ? {} : { destination_chain_id: r.destinationChainId.toString() }),
  }),
  fromPb: (p) => {
    const o = pbObj(p, "request");
    const out: StreamRequest = { fromLogIndex: pbU64(o.from_log_index, "from_log_index") };
    // proto3 `optional`: absent (undefined or null) when the client did not set it.
    if (o.destination_chain_id !== undefined && o.destination_chain_id !== null) {
      out.destinationChainId = pbU64(o.destination_chain_id, "destination_chain_id");
    }
    return out;
  },
};

export const streamAttestedBatchesResponseCodec: PbCodec<AttestedBatch, PbStreamAttestedBatchesResponse> = {
  toPb: (b) => ({ batch: attestedBatchToPb(b) }),
  fromPb: (p) => attestedBatchFromPb(pbObj(p, "response").batch, "batch"),
};

export const listLanesResponseCodec: PbCodec<LaneStatus[], PbListLanesResponse> = {
  toPb: (lanes) => ({
    lanes: lanes.map((l) => ({
      source_chain_id: l.sourceChainId.toString(),
      destination_chain_id: l.destinationChainId.toString(),
      ...(l.lastAttestedNonce === null ? {} : { last_attested_nonce: l.lastAttestedNonce.toString() }),
      attested_batches: l.attestedBatches.toString(),
      pending_batches: l.pendingBatches.toString(),
      terminated: l.terminated.toString(),
    })),
  }),
  fromPb: (p) =>
    pbList(pbObj(p, "response").lanes, "lanes", MAX_LANES).map((v, i) => {
      const f = `lanes[${i}]`;
      const o = pbObj(v, f);
      return {
        sourceChainId: pbU64(o.source_chain_id, `${f}.source_chain_id`),
        destinationChainId: pbU64(o.destination_chain_id, `${f}.destination_chain_id`),
        lastAttestedNonce:
          o.last_attested_nonce === undefined || o.last_attested_nonce === null
            ? null
            : pbU64(o.last_attested_nonce, `${f}.last_attested_nonce`),
        attestedBatches: pbCount(o.attested_batches, `${f}.attested_batches`),
        pendingBatches: pbCount(o.pending_batches, `${f}.pending_batches`),
        terminated: pbCount(o.terminated, `${f}.terminated`),
      };
    }),
};

export const getTreeHeadResponseCodec: PbCodec<SignedTreeHead, PbGetTreeHeadResponse> = {
  toPb: (h) => ({
    tree_head: {
      tree_size: h.treeSize.toString(),
      root_hash: h.rootHash,
      timestamp_ms: h.timestampMs.toString(),
      signature: h.signature,
      public_key: h.publicKey,
    },
  }),
  fromPb: (p) => {
    const o = pbObj(pbObj(p, "response").tree_head, "tree_head");
    return {
      treeSize: pbU64(o.tree_size, "tree_head.tree_size"),
      rootHash: pbBytes(o.root_hash, "tree_head.root_hash", HASH_BYTES),
      timestampMs: pbU64(o.timestamp_ms, "tree_head.timestamp_ms"),
      signature: pbBytes(o.signature, "tree_head.signature", ED25519_SIGNATURE_BYTES),
      publicKey: pbBytes(o.public_key, "tree_head.public_key", ED25519_PUBLIC_KEY_BYTES),
    };
  },
};

export const getInclusionProofRequestCodec: PbCodec<{ index: bigint; treeSize: bigint }, PbGetInclusionProofRequest> = {
  toPb: (r) => ({ index: r.index.toString(), tree_size: r.treeSize.toString() }),
  fromPb: (p) => {
    const o = pbObj(p, "request");
    return { index: pbU64(o.index, "index"), treeSize: pbU64(o.tree_size, "tree_size") };
  },
};

export const getInclusionProofResponseCodec: PbCodec<InclusionProofResponse, PbGetInclusionProofResponse> = {
  toPb: (r) => ({ leaf: r.leaf, path: r.path }),
  fromPb: (p) => {
    const o = pbObj(p, "response");
    return { leaf: pbBytes(o.leaf, "leaf", undefined, MAX_LEAF_BYTES), path: pbBytesList(o.path, "path", MAX_PROOF_NODES, HASH_BYTES) };
  },
};

export const getConsistencyProofRequestCodec: PbCodec<{ fromSize: bigint; toSize: bigint }, PbGetConsistencyProofRequest> = {
  toPb: (r) => ({ from_size: r.fromSize.toString(), to_size: r.toSize.toString() }),
  fromPb: (p) => {
    const o = pbObj(p, "request");
    return { fromSize: pbU64(o.from_size, "from_size"), toSize: pbU64(o.to_size, "to_size") };
  },
};

export const getConsistencyProofResponseCodec: PbCodec<Uint8Array[], PbGetConsistencyProofResponse> = {
  toPb: (proof) => ({ proof }),
  fromPb: (p) => pbBytesList(pbObj(p, "response").proof, "proof", MAX_PROOF_NODES, HASH_BYTES),
};

export const healthResponseCodec: PbCodec<HealthStatus, PbHealthResponse> = {
  toPb: (h) => ({
    ok: h.ok,
    store: COMPONENT_TO_PB[h.store],
    queue: COMPONENT_TO_PB[h.queue],
    queue_kind: h.queueKind,
    version: h.version,
  }),
  fromPb: (p) => {
    const o = pbObj(p, "response");
    if (typeof o.ok !== "boolean") throw invalid("ok", "a boolean");
    return {
      ok: o.ok,
      store: componentFromPb(o.store, "store"),
      queue: componentFromPb(o.queue, "queue"),
      queueKind: pbString(o.queue_kind, "queue_kind", 64),
      version: pbString(o.version, "version", 256),
    };
  },
};

// ---------------------------------------------------------------------------------------------------
// Errors

/** gRPC trailing-metadata key carrying the {@link GatewayErrorCode}. */
export const ERROR_CODE_METADATA = "shandu-error-code";
/** gRPC trailing-metadata key carrying the error's facts as a JSON object. */
export const ERROR_FACTS_METADATA = "shandu-error-facts";
/** Facts JSON longer than this is replaced by `{"truncated":true}` (headers have a size limit). */
const MAX_FACTS_JSON = 4096;

export function isGatewayErrorCode(code: unknown): code is GatewayErrorCode {
  return typeof code === "string" && Object.hasOwn(GATEWAY_ERRORS, code);
}

/**
 * How a thrown value is reported to a remote caller: a {@link GatewayError} as itself; any other
 * {@link ShanduError} under its own code when that is a gateway code, else as `INVALID_REQUEST`
 * (disposition reject) or `UNAVAILABLE` (retry), with `facts.cause` naming the original error. Returns
 * undefined for anything else: an unexpected error, which transports report as internal without details.
 */
export function gatewayErrorOf(e: unknown): GatewayError | undefined {
  if (e instanceof GatewayError) return e;
  if (!(e instanceof ShanduError)) return undefined;
  if (isGatewayErrorCode(e.code)) return new GatewayError(e.code, e.shortMessage, { facts: e.facts, cause: e });
  const code: GatewayErrorCode = e.disposition === "retry" ? "UNAVAILABLE" : "INVALID_REQUEST";
  return new GatewayError(code, e.shortMessage, { facts: { ...e.facts, cause: `${e.name}.${e.code}` }, cause: e });
}

/** JSON-safe facts: bigints as decimal strings, undefined dropped. */
export function factsToPlain(facts: ErrorFacts): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(facts)) {
    if (v === undefined) continue;
    out[k] = typeof v === "bigint" ? v.toString() : v;
  }
  return out;
}

/** Facts as printable-ASCII JSON (non-ASCII escaped as `\uXXXX`), as gRPC metadata values require. */
export function factsToJson(facts: ErrorFacts): string {
  const json = JSON.stringify(factsToPlain(facts)).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return json.length > MAX_FACTS_JSON ? '{"truncated":true}' : json;
}

/** Reads facts a server sent; anything that is not a JSON object of primitives yields no facts. */
export function factsFromJson(text: unknown): ErrorFacts {
  if (typeof text !== "string" || text.length > MAX_FACTS_JSON) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return {};
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null || typeof x === "string" || typeof x === "number" || typeof x === "boolean") out[k] = x;
  }
  return out;
}
