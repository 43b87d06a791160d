/**
 * JSON forms of the protocol structures, for bundles, genesis files and APIs. Bytes are `0x` hex, u64
 * quantities are decimal strings, small integers are JSON numbers. Readers check every field they use:
 * wrong types, lengths and out-of-range numbers throw {@link BundleError} `SCHEMA` naming the JSON path.
 * Fields they do not use are ignored (nothing unread is ever signed or trusted).
 */
import type { Attestation, BatchHeader } from "./attestation.ts";
import { fromHex, toHex, U64_MAX, utf8 } from "./bytes.ts";
import type { Committee, NativeKeySchemeName } from "./committee.ts";
import { BundleError, CodecError } from "./errors.ts";
import { type Message, MessageKind } from "./message.ts";
import type { RotationRecord } from "./rotation.ts";

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = Record<string, unknown>;

export function schemaError(path: string, expected: string): BundleError {
  return new BundleError("SCHEMA", `${path}: expected ${expected}`, { facts: { path } });
}

export function obj(v: unknown, path: string): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw schemaError(path, "an object");
  return v as Obj;
}
export function arr(v: unknown, path: string, max = 10_000): unknown[] {
  if (!Array.isArray(v)) throw schemaError(path, "an array");
  if (v.length > max) throw schemaError(path, `at most ${max} entries`);
  return v;
}
export function str(v: unknown, path: string, max = 256): string {
  if (typeof v !== "string" || v.length > max) throw schemaError(path, `a string of at most ${max} characters`);
  return v;
}
/** A name field: well-formed text of 1 to 64 UTF-8 bytes (the limit the binary forms enforce). */
export function name(v: unknown, path: string): string {
  if (typeof v !== "string" || !v.isWellFormed()) throw schemaError(path, "a string of 1 to 64 UTF-8 bytes");
  const n = utf8(v).length;
  if (n === 0 || n > 64) throw schemaError(path, "a string of 1 to 64 UTF-8 bytes");
  return v;
}

export function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw schemaError(path, `an integer in [${min}, ${max}]`);
  return v;
}
export function u64(v: unknown, path: string): bigint {
  if (typeof v !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(v)) throw schemaError(path, "a u64 as a decimal string");
  const n = BigInt(v);
  if (n > U64_MAX) throw schemaError(path, "a u64 as a decimal string");
  return n;
}
export function hex(v: unknown, path: string, length?: number, maxLength = 1 << 17): Uint8Array {
  if (typeof v !== "string" || !v.startsWith("0x") || v.length > 2 + 2 * maxLength) throw schemaError(path, "0x-prefixed hex");
  try {
    return fromHex(v, length, path);
  } catch (e) {
    if (e instanceof CodecError) throw schemaError(path, length === undefined ? "0x-prefixed hex" : `0x-prefixed hex of ${length} bytes`);
    throw e;
  }
}

const KIND_NAMES = new Map<number, string>(Object.entries(MessageKind).map(([k, v]) => [v, k]));

export function messageToJson(m: Message): Json {
  return {
    version: m.version,
    sourceChainId: m.sourceChainId.toString(),
    destinationChainId: m.destinationChainId.toString(),
    nonce: m.nonce.toString(),
    kind: KIND_NAMES.get(m.kind) ?? m.kind,
    sender: toHex(m.sender),
    recipient: toHex(m.recipient),
    payload: toHex(m.payload),
    source: { blockNumber: m.source.blockNumber.toString(), txHash: toHex(m.source.txHash), logIndex: m.source.logIndex },
  };
}

export function messageFromJson(v: unknown, path = "message"): Message {
  const o = obj(v, path);
  const kindName = str(o.kind, `${path}.kind`, 32);
  const kind = Object.hasOwn(MessageKind, kindName) ? (MessageKind as Record<string, number>)[kindName] : undefined;
  if (kind === undefined) throw schemaError(`${path}.kind`, `one of ${Object.keys(MessageKind).join(", ")}`);
  const s = obj(o.source, `${path}.source`);
  return {
    version: int(o.version, `${path}.version`, 0, 255),
    sourceChainId: u64(o.sourceChainId, `${path}.sourceChainId`),
    destinationChainId: u64(o.destinationChainId, `${path}.destinationChainId`),
    nonce: u64(o.nonce, `${path}.nonce`),
    kind: kind as Message["kind"],
    sender: hex(o.sender, `${path}.sender`),
    recipient: hex(o.recipient, `${path}.recipient`),
    payload: hex(o.payload, `${path}.payload`),
    source: {
      blockNumber: u64(s.blockNumber, `${path}.source.blockNumber`),
      txHash: hex(s.txHash, `${path}.source.txHash`, 32),
      logIndex: int(s.logIndex, `${path}.source.logIndex`, 0, 0xffff_ffff),
    },
  };
}

export function committeeToJson(c: Committee): Json {
  return {
    epoch: c.epoch.toString(),
    members: c.members.map((m) => ({
      id: m.id,
      group: m.group,
      weight: m.weight,
      blsPublicKey: toHex(m.blsPublicKey),
      proofOfPossession: toHex(m.proofOfPossession),
      nativeKeys: m.nativeKeys.map((k) => ({ scheme: k.scheme, publicKey: toHex(k.publicKey) })),
    })),
    policy: {
      threshold: { numerator: c.policy.threshold.numerator, denominator: c.policy.threshold.denominator },
      groups: c.policy.groups.map((g) => ({ group: g.group, minSigners: g.minSigners })),
    },
  };
}

export function committeeFromJson(v: unknown, path = "committee"): Committee {
  const o = obj(v, path);
  const p = obj(o.policy, `${path}.policy`);
  const t = obj(p.threshold, `${path}.policy.threshold`);
  return {
    epoch: u64(o.epoch, `${path}.epoch`),
    members: arr(o.members, `${path}.members`, 1024).map((mv, i) => {
      const mp = `${path}.members[${i}]`;
      const m = obj(mv, mp);
      return {
        id: name(m.id, `${mp}.id`),
        group: name(m.group, `${mp}.group`),
        weight: int(m.weight, `${mp}.weight`, 1, 0xffff_ffff),
        blsPublicKey: hex(m.blsPublicKey, `${mp}.blsPublicKey`, 48),
        proofOfPossession: hex(m.proofOfPossession, `${mp}.proofOfPossession`, 96),
        nativeKeys: arr(m.nativeKeys ?? [], `${mp}.nativeKeys`, 4).map((kv, k) => {
          const ko = obj(kv, `${mp}.nativeKeys[${k}]`);
          const scheme = str(ko.scheme, `${mp}.nativeKeys[${k}].scheme`, 16);
          if (scheme !== "secp256k1" && scheme !== "sm2") throw schemaError(`${mp}.nativeKeys[${k}].scheme`, "secp256k1 or sm2");
          return { scheme: scheme as NativeKeySchemeName, publicKey: hex(ko.publicKey, `${mp}.nativeKeys[${k}].publicKey`, undefined, 65) };
        }),
      };
    }),
    policy: {
      threshold: {
        numerator: int(t.numerator, `${path}.policy.threshold.numerator`, 0, 0xffff_ffff),
        denominator: int(t.denominator, `${path}.policy.threshold.denominator`, 0, 0xffff_ffff),
      },
      groups: arr(p.groups ?? [], `${path}.policy.groups`, 255).map((gv, i) => {
        const g = obj(gv, `${path}.policy.groups[${i}]`);
        return {
          group: name(g.group, `${path}.policy.groups[${i}].group`),
          minSigners: int(g.minSigners, `${path}.policy.groups[${i}].minSigners`, 1, 0xffff),
        };
      }),
    },
  };
}

export function attestationToJson(a: Attestation): Json {
  return {
    epoch: a.epoch.toString(),
    committeeSetHash: toHex(a.committeeSetHash),
    signers: toHex(a.signers),
    signature: toHex(a.signature),
  };
}

export function attestationFromJson(v: unknown, path = "attestation"): Attestation {
  const o = obj(v, path);
  return {
    epoch: u64(o.epoch, `${path}.epoch`),
    committeeSetHash: hex(o.committeeSetHash, `${path}.committeeSetHash`, 32),
    signers: hex(o.signers, `${path}.signers`, undefined, 128),
    signature: hex(o.signature, `${path}.signature`, 96),
  };
}

export function batchToJson(b: BatchHeader): Json {
  return {
    sourceChainId: b.sourceChainId.toString(),
    destinationChainId: b.destinationChainId.toString(),
    firstNonce: b.firstNonce.toString(),
    lastNonce: b.lastNonce.toString(),
    root: toHex(b.root),
  };
}

export function batchFromJson(v: unknown, path = "batch"): BatchHeader {
  const o = obj(v, path);
  return {
    sourceChainId: u64(o.sourceChainId, `${path}.sourceChainId`),
    destinationChainId: u64(o.destinationChainId, `${path}.destinationChainId`),
    firstNonce: u64(o.firstNonce, `${path}.firstNonce`),
    lastNonce: u64(o.lastNonce, `${path}.lastNonce`),
    root: hex(o.root, `${path}.root`, 32),
  };
}

export function rotationToJson(r: RotationRecord): Json {
  return {
    fromEpoch: r.fromEpoch.toString(),
    fromCommitteeSetHash: toHex(r.fromCommitteeSetHash),
    to: committeeToJson(r.to),
    activatesAtSeconds: r.activatesAtSeconds.toString(),
    graceSeconds: r.graceSeconds,
    attestation: attestationToJson(r.attestation),
  };
}

export function rotationFromJson(v: unknown, path = "rotation"): RotationRecord {
  const o = obj(v, path);
  return {
    fromEpoch: u64(o.fromEpoch, `${path}.fromEpoch`),
    fromCommitteeSetHash: hex(o.fromCommitteeSetHash, `${path}.fromCommitteeSetHash`, 32),
    to: committeeFromJson(o.to, `${path}.to`),
    activatesAtSeconds: u64(o.activatesAtSeconds, `${path}.activatesAtSeconds`),
    graceSeconds: int(o.graceSeconds, `${path}.graceSeconds`, 0, 0xffff_ffff),
    attestation: attestationFromJson(o.attestation, `${path}.attestation`),
  };
}
