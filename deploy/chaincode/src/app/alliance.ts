/**
 * The alliance registry of this chain (docs/governance.md, `ShanduAlliance.sol`): roles per Shandu chain,
 * lane limits, the approved committee of measuring institutions and the sponsor of each credit class.
 *
 * It changes only through governance payloads carried by Shandu app messages to {@link APP_RECIPIENT},
 * delivered by this chaincode's inbox (so attested under the committee's quorum policy) and sent by one of
 * the governance sources fixed by `ShanduApp:initialise`. The payload bytes, the checks and their order,
 * and the codes are those of `ShanduAlliance.shanduReceive`. `NOT_INBOX` has no counterpart: a recipient
 * can be reached only through the inbox. Every op is idempotent.
 */
import { fromHex, readUint, toHex } from "@shandu/proofs";
import type { RecipientCall, RecipientState } from "../recipients.ts";
import { type AppConfig, isGovernanceSource, rejected } from "./common.ts";

export const GOVERNANCE_VERSION = 1;
export const ROLE = { issuer: 1, distributor: 2, sponsor: 3, platform: 4, clearing: 5 } as const;
export const MAX_ROLE = 5;
export const GOVERNANCE_OP = {
  grant: 1,
  revoke: 2,
  setLaneLimit: 3,
  pauseLane: 4,
  resumeLane: 5,
  setMeasurers: 6,
  setClassSponsor: 7,
} as const;
const LENGTH = { role: 31, laneLimit: 42, lane: 10, measurers: 34, classSponsor: 54 } as const;

/** A lane's limit as stored (`ShanduAlliance.Lane`). */
export interface LaneLimit {
  open: boolean;
  paused: boolean;
  capacity: bigint;
  refillPerSecond: bigint;
}

interface StoredLane {
  open: boolean;
  paused: boolean;
  capacity: string;
  refillPerSecond: string;
}

const K = {
  role: (role: number, chainId: bigint, account: Uint8Array) => `alliance/role/${role}/${chainId}/${toHex(account).slice(2)}`,
  lane: (chainId: bigint) => `alliance/lane/${chainId}`,
  measurers: "alliance/measurers",
  sponsor: (creditClass: Uint8Array) => `alliance/sponsor/${toHex(creditClass).slice(2)}`,
};

// ------------------------------------------------------------------------------------------- views

export async function hasRole(s: RecipientState, role: number, roleChainId: bigint, account: Uint8Array): Promise<boolean> {
  return (await s.get(K.role(role, roleChainId, account))) !== undefined;
}

export async function laneLimit(s: RecipientState, laneChainId: bigint): Promise<LaneLimit> {
  const l = await s.getJson<StoredLane>(K.lane(laneChainId));
  return l
    ? { open: l.open, paused: l.paused, capacity: BigInt(l.capacity), refillPerSecond: BigInt(l.refillPerSecond) }
    : { open: false, paused: false, capacity: 0n, refillPerSecond: 0n };
}

/** The approved measurer committee's set hash (32 zero bytes when none). */
export async function measurerCommittee(s: RecipientState): Promise<Uint8Array> {
  const v = await s.getJson<string>(K.measurers);
  return v ? fromHex(v) : new Uint8Array(32);
}

/** The sponsor of `creditClass` (20 zero bytes when none). */
export async function classSponsor(s: RecipientState, creditClass: Uint8Array): Promise<Uint8Array> {
  const v = await s.getJson<string>(K.sponsor(creditClass));
  return v ? fromHex(v) : new Uint8Array(20);
}

function putLane(s: RecipientState, laneChainId: bigint, l: LaneLimit): void {
  s.putJson(K.lane(laneChainId), {
    open: l.open,
    paused: l.paused,
    capacity: l.capacity.toString(),
    refillPerSecond: l.refillPerSecond.toString(),
  } satisfies StoredLane);
}

// -------------------------------------------------------------------------------------- governance

/** What a governance op did: the fields of the EVM registry's event, with the message's source chain and nonce. */
export interface GovernanceApplied {
  op: keyof typeof GOVERNANCE_OP;
  [field: string]: string | boolean;
}

/**
 * Runs one governance payload delivered to the application, with `ShanduAlliance.shanduReceive`'s checks
 * in its order: `UNKNOWN_GOVERNANCE_SOURCE`, `MALFORMED_PAYLOAD` (under 2 bytes), `UNKNOWN_VERSION`, then
 * per op `MALFORMED_PAYLOAD` (not its exact length), `INVALID_ROLE`, `INVALID_CHAIN_ID`, `INVALID_ACCOUNT`,
 * `INVALID_LANE_LIMIT`, `SPONSOR_NOT_REGISTERED`; an op code other than 1–7 is `UNKNOWN_OP`. Input is
 * untrusted (the attestation proves only who sent it).
 */
export async function receiveGovernance(s: RecipientState, config: AppConfig, call: RecipientCall): Promise<GovernanceApplied> {
  if (!isGovernanceSource(config, call.sourceChainId, call.sender)) {
    throw rejected("UNKNOWN_GOVERNANCE_SOURCE", "the message's source chain and sender are not a governance source", {
      sourceChainId: call.sourceChainId,
      sender: toHex(call.sender),
    });
  }
  const p = call.payload;
  const at = { sourceChainId: call.sourceChainId.toString(), nonce: call.nonce.toString() };
  if (p.length < 2) throw malformed(p);
  if (p[0] !== GOVERNANCE_VERSION) throw rejected("UNKNOWN_VERSION", "unsupported governance payload version", { version: p[0] });
  const op = p[1]!;
  if (op === GOVERNANCE_OP.grant || op === GOVERNANCE_OP.revoke) {
    length(p, LENGTH.role);
    const role = p[2]!;
    const roleChainId = readUint(p, 3, 8);
    const account = p.slice(11, 31);
    if (role === 0 || role > MAX_ROLE) throw rejected("INVALID_ROLE", "a role is 1–5", { role });
    if (roleChainId === 0n) throw rejected("INVALID_CHAIN_ID", "chain id 0 is not a chain");
    if (account.every((b) => b === 0)) throw rejected("INVALID_ACCOUNT", "the zero account");
    const key = K.role(role, roleChainId, account);
    if (op === GOVERNANCE_OP.grant) s.putJson(key, true);
    else s.delete(key);
    return {
      op: op === GOVERNANCE_OP.grant ? "grant" : "revoke",
      role: String(role),
      roleChainId: roleChainId.toString(),
      account: toHex(account),
      ...at,
    };
  }
  if (op === GOVERNANCE_OP.setLaneLimit) {
    length(p, LENGTH.laneLimit);
    const laneChainId = laneChainIdOf(p, config);
    const capacity = readUint(p, 10, 16);
    const refillPerSecond = readUint(p, 26, 16);
    if (capacity === 0n) throw rejected("INVALID_LANE_LIMIT", "a lane's capacity is not 0 (pause the lane instead)");
    const l = await laneLimit(s, laneChainId);
    putLane(s, laneChainId, { open: true, paused: l.paused, capacity, refillPerSecond });
    return {
      op: "setLaneLimit",
      laneChainId: laneChainId.toString(),
      capacity: capacity.toString(),
      refillPerSecond: refillPerSecond.toString(),
      ...at,
    };
  }
  if (op === GOVERNANCE_OP.pauseLane || op === GOVERNANCE_OP.resumeLane) {
    length(p, LENGTH.lane);
    const laneChainId = laneChainIdOf(p, config);
    const paused = op === GOVERNANCE_OP.pauseLane;
    putLane(s, laneChainId, { ...(await laneLimit(s, laneChainId)), paused });
    return { op: paused ? "pauseLane" : "resumeLane", laneChainId: laneChainId.toString(), paused, ...at };
  }
  if (op === GOVERNANCE_OP.setMeasurers) {
    length(p, LENGTH.measurers);
    const committeeSetHash = p.slice(2, 34);
    s.putJson(K.measurers, toHex(committeeSetHash));
    return { op: "setMeasurers", committeeSetHash: toHex(committeeSetHash), ...at };
  }
  if (op === GOVERNANCE_OP.setClassSponsor) {
    length(p, LENGTH.classSponsor);
    const creditClass = p.slice(2, 34);
    const sponsor = p.slice(34, 54);
    if (sponsor.every((b) => b === 0)) throw rejected("INVALID_ACCOUNT", "the zero account");
    if (!(await hasRole(s, ROLE.sponsor, config.chainId, sponsor))) {
      throw rejected("SPONSOR_NOT_REGISTERED", "the sponsor does not hold SPONSOR on this chain", { sponsor: toHex(sponsor) });
    }
    s.putJson(K.sponsor(creditClass), toHex(sponsor));
    return { op: "setClassSponsor", creditClass: toHex(creditClass), sponsor: toHex(sponsor), ...at };
  }
  throw rejected("UNKNOWN_OP", "unknown governance op code", { op });
}

function malformed(p: Uint8Array) {
  return rejected("MALFORMED_PAYLOAD", "the governance payload is not of its op's length", { length: p.length });
}

function length(p: Uint8Array, want: number): void {
  if (p.length !== want) throw malformed(p);
}

/** Bytes 2–9: another chain than this one, and not 0. */
function laneChainIdOf(p: Uint8Array, config: AppConfig): bigint {
  const id = readUint(p, 2, 8);
  if (id === 0n || id === config.chainId)
    throw rejected("INVALID_CHAIN_ID", "a lane goes to another chain than this one, not 0", { laneChainId: id });
  return id;
}
