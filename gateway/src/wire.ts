/**
 * The attested-batch document the gateway publishes to the queue and streams to clients (JSON, UTF-8).
 * Everything in it is untrusted for its reader: a relayer hands it to a destination that verifies it, and
 * an auditor checks it against a trusted genesis.
 */
import {
  attestationFromJson,
  attestationToJson,
  batchFromJson,
  batchToJson,
  committeeFromJson,
  committeeToJson,
  decodeNativeAttestation,
  encodeNativeAttestation,
  fromHex,
  rotationFromJson,
  rotationToJson,
  toHex,
} from "@shandu/proofs";
import type { AttestedBatch, BatchRef } from "./api.ts";
import { GatewayError } from "./errors.ts";

export const ATTESTED_BATCH_FORMAT = "shandu-attested-batch";
export const ATTESTED_BATCH_VERSION = 1;

export function attestedBatchToJson(b: AttestedBatch): Record<string, unknown> {
  return {
    format: ATTESTED_BATCH_FORMAT,
    version: ATTESTED_BATCH_VERSION,
    batch: batchToJson(b.header),
    attestation: attestationToJson(b.attestation),
    ...(b.native ? { native: toHex(encodeNativeAttestation(b.native)) } : {}),
    messages: b.messages.map((m) => toHex(m)),
    committees: { genesis: committeeToJson(b.committees.genesis), rotations: b.committees.rotations.map(rotationToJson) },
    logIndex: b.logIndex.toString(),
  };
}

/** Throws `INVALID_REQUEST` naming what does not parse. */
export function attestedBatchFromJson(v: unknown): AttestedBatch {
  try {
    const o = v as Record<string, unknown>;
    if (o?.format !== ATTESTED_BATCH_FORMAT || o.version !== ATTESTED_BATCH_VERSION) {
      throw new GatewayError("INVALID_REQUEST", "not an attested batch of a supported version", { facts: { field: "format" } });
    }
    const committees = o.committees as { genesis: unknown; rotations: unknown[] };
    if (!Array.isArray(o.messages) || !Array.isArray(committees?.rotations)) {
      throw new GatewayError("INVALID_REQUEST", "attested batch lacks messages or committees", { facts: { field: "messages" } });
    }
    return {
      header: batchFromJson(o.batch),
      attestation: attestationFromJson(o.attestation),
      ...(o.native === undefined ? {} : { native: decodeNativeAttestation(fromHex(String(o.native))) }),
      messages: o.messages.map((m) => fromHex(String(m))),
      committees: { genesis: committeeFromJson(committees.genesis), rotations: committees.rotations.map((r) => rotationFromJson(r)) },
      logIndex: BigInt(String(o.logIndex)),
    };
  } catch (cause) {
    if (cause instanceof GatewayError) throw cause;
    throw new GatewayError("INVALID_REQUEST", `attested batch does not parse: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
      facts: { field: "attestedBatch" },
    });
  }
}

export function encodeAttestedBatch(b: AttestedBatch): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(attestedBatchToJson(b)));
}

export function decodeAttestedBatch(data: Uint8Array): AttestedBatch {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(data));
  } catch (cause) {
    throw new GatewayError("INVALID_REQUEST", "attested batch is not JSON", { cause, facts: { field: "attestedBatch" } });
  }
  return attestedBatchFromJson(parsed);
}

/** The queue message id of a batch: one per lane and nonce range, so re-publishing is de-duplicated. */
export function batchMsgId(ref: BatchRef): string {
  return `${ref.sourceChainId}:${ref.destinationChainId}:${ref.firstNonce}-${ref.lastNonce}`;
}
