/**
 * The governance payloads of the alliance registry, `ShanduAlliance` (docs/governance.md): encoders and a
 * strict decoder, byte for byte what the contract's `shanduReceive` parses, and the role numbering of
 * `AllianceRoles`. The payload travels as an ordinary Shandu app message from a governance source fixed at
 * the registry's deployment; the attestation of that message (under the committee's quorum policy, which
 * requires the regulator) is what authorises it.
 */
import { CodecError, concatBytes } from "@shandu/proofs";
import { fixed, readUint, U64_MAX, uintBytes } from "./app.ts";

/** Version of the governance payloads (byte 0). */
export const ALLIANCE_GOVERNANCE_VERSION = 1;

/** `AllianceRoles`: the roles an account can hold on a Shandu chain. */
export const ALLIANCE_ROLE = { issuer: 1, distributor: 2, sponsor: 3, platform: 4, clearing: 5 } as const;
export type AllianceRoleName = keyof typeof ALLIANCE_ROLE;
/** The highest role number the registry accepts; 0 and anything above are refused. */
export const ALLIANCE_MAX_ROLE = 5;

/** Op codes (byte 1). */
export const ALLIANCE_OP = {
  grant: 1,
  revoke: 2,
  setLaneLimit: 3,
  pauseLane: 4,
  resumeLane: 5,
  setMeasurers: 6,
  setClassSponsor: 7,
} as const;
export type AllianceOpName = keyof typeof ALLIANCE_OP;

/** Total length of each payload, in bytes. */
export const ALLIANCE_PAYLOAD_LENGTH = {
  grant: 31,
  revoke: 31,
  setLaneLimit: 42,
  pauseLane: 10,
  resumeLane: 10,
  setMeasurers: 34,
  setClassSponsor: 54,
} as const satisfies Record<AllianceOpName, number>;

/** Grants or revokes `role` (1–5) on Shandu chain `roleChainId` (not 0) for `account` (20 bytes, not zero). */
export interface AllianceRoleChange {
  op: "grant" | "revoke";
  role: number;
  roleChainId: bigint;
  account: Uint8Array;
}

/**
 * Opens the lane to `laneChainId` (not 0, not the registry's own chain) with a token bucket of `capacity`
 * credits (u128, not 0) refilled by `refillPerSecond` credits per second (u128).
 */
export interface AllianceLaneLimit {
  op: "setLaneLimit";
  laneChainId: bigint;
  capacity: bigint;
  refillPerSecond: bigint;
}

/** Pauses or resumes new redemptions on the lane to `laneChainId` (not 0, not the registry's own chain). */
export interface AllianceLaneSwitch {
  op: "pauseLane" | "resumeLane";
  laneChainId: bigint;
}

/** Approves the committee of measuring institutions with set hash `committeeSetHash` (32 bytes; all zero clears it). */
export interface AllianceMeasurers {
  op: "setMeasurers";
  committeeSetHash: Uint8Array;
}

/** Makes `sponsor` (20 bytes, not zero, holding SPONSOR on the registry's chain) the sponsor of `creditClass` (32 bytes). */
export interface AllianceClassSponsor {
  op: "setClassSponsor";
  creditClass: Uint8Array;
  sponsor: Uint8Array;
}

export type AllianceGovernance = AllianceRoleChange | AllianceLaneLimit | AllianceLaneSwitch | AllianceMeasurers | AllianceClassSponsor;

const U128_MAX = (1n << 128n) - 1n;
const OPS = Object.keys(ALLIANCE_OP) as AllianceOpName[];

function outOfRange(field: string, value: unknown): CodecError {
  return new CodecError("VALUE_OUT_OF_RANGE", `${field} out of range`, { facts: { field, value: String(value) } });
}

function checkRole(role: number): number {
  if (!Number.isInteger(role) || role < 1 || role > ALLIANCE_MAX_ROLE) throw outOfRange("role", role);
  return role;
}

function checkChainId(v: bigint, field: string): bigint {
  if (v === 0n) throw outOfRange(field, v);
  return v;
}

function checkAccount(b: Uint8Array, field: string): Uint8Array {
  fixed(b, 20, field);
  if (b.every((x) => x === 0)) throw outOfRange(field, "the zero address");
  return b;
}

/**
 * The canonical bytes of a governance payload. Refuses, with `CodecError`, what the registry would refuse on
 * the payload's face: `BAD_LENGTH` (a byte field of the wrong size), `VALUE_OUT_OF_RANGE` (role not 1–5, a
 * chain id of 0 or above u64, the zero address, a capacity of 0 or above u128). What depends on the
 * registry's chain or state (a lane to its own chain, a sponsor without SPONSOR) is left to the contract.
 */
export function encodeAllianceGovernance(g: AllianceGovernance): Uint8Array {
  const head = Uint8Array.of(ALLIANCE_GOVERNANCE_VERSION, ALLIANCE_OP[g.op]);
  switch (g.op) {
    case "grant":
    case "revoke":
      return concatBytes(
        head,
        Uint8Array.of(checkRole(g.role)),
        uintBytes(checkChainId(g.roleChainId, "roleChainId"), 8, U64_MAX, "roleChainId"),
        checkAccount(g.account, "account"),
      );
    case "setLaneLimit":
      if (g.capacity === 0n) throw outOfRange("capacity", g.capacity);
      return concatBytes(
        head,
        uintBytes(checkChainId(g.laneChainId, "laneChainId"), 8, U64_MAX, "laneChainId"),
        uintBytes(g.capacity, 16, U128_MAX, "capacity"),
        uintBytes(g.refillPerSecond, 16, U128_MAX, "refillPerSecond"),
      );
    case "pauseLane":
    case "resumeLane":
      return concatBytes(head, uintBytes(checkChainId(g.laneChainId, "laneChainId"), 8, U64_MAX, "laneChainId"));
    case "setMeasurers":
      return concatBytes(head, fixed(g.committeeSetHash, 32, "committeeSetHash"));
    case "setClassSponsor":
      return concatBytes(head, fixed(g.creditClass, 32, "creditClass"), checkAccount(g.sponsor, "sponsor"));
  }
}

/**
 * Strict decoding, with the registry's checks in its order: `TRUNCATED` (shorter than the 2-byte header),
 * `UNKNOWN_VERSION` (byte 0 is not 1), `UNKNOWN_KIND` (an op code other than 1–7), `TRUNCATED` /
 * `TRAILING_BYTES` (not the op's exact length), then `VALUE_OUT_OF_RANGE` for the field checks of
 * {@link encodeAllianceGovernance}. Input is untrusted.
 */
export function decodeAllianceGovernance(b: Uint8Array): AllianceGovernance {
  if (b.length < 2) throw new CodecError("TRUNCATED", "governance payload shorter than its header", { facts: { length: b.length } });
  if (b[0] !== ALLIANCE_GOVERNANCE_VERSION) {
    throw new CodecError("UNKNOWN_VERSION", "unsupported governance payload version", { facts: { version: b[0] } });
  }
  const op = OPS[b[1]! - 1];
  if (op === undefined) throw new CodecError("UNKNOWN_KIND", "unknown governance op code", { facts: { op: b[1] } });
  const want = ALLIANCE_PAYLOAD_LENGTH[op];
  if (b.length !== want) {
    throw new CodecError(b.length < want ? "TRUNCATED" : "TRAILING_BYTES", `a ${op} payload is ${want} bytes`, {
      facts: { op, length: b.length },
    });
  }
  switch (op) {
    case "grant":
    case "revoke":
      return {
        op,
        role: checkRole(b[2]!),
        roleChainId: checkChainId(readUint(b, 3, 8), "roleChainId"),
        account: checkAccount(b.slice(11, 31), "account"),
      };
    case "setLaneLimit": {
      const laneChainId = checkChainId(readUint(b, 2, 8), "laneChainId");
      const capacity = readUint(b, 10, 16);
      if (capacity === 0n) throw outOfRange("capacity", capacity);
      return { op, laneChainId, capacity, refillPerSecond: readUint(b, 26, 16) };
    }
    case "pauseLane":
    case "resumeLane":
      return { op, laneChainId: checkChainId(readUint(b, 2, 8), "laneChainId") };
    case "setMeasurers":
      return { op, committeeSetHash: b.slice(2, 34) };
    case "setClassSponsor":
      return { op, creditClass: b.slice(2, 34), sponsor: checkAccount(b.slice(34, 54), "sponsor") };
  }
}
