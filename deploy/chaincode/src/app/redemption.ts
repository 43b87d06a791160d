/**
 * Cross-alliance redemption (docs/redemption.md, `ShanduRedemption.sol`), both sides, in the chaincode.
 *
 * A (the user's chain): `requestRedemption` locks credits, takes them from the lane's token bucket and
 * sends `AUTHORISE` to the peer; `CONFIRM` burns, `REJECT` refunds; `refundAfterTimeout` refunds and sends
 * `EXPIRED`; a `CONFIRM` after the refund is flagged (`lateConfirmation`), never burned. B (the exchange
 * platform's chain): `AUTHORISE` makes the redemption `AUTHORISED`, or `REJECTED` with `UNKNOWN_PLATFORM`;
 * the platform confirms (up to the deadline) or rejects (also after it); `EXPIRED` closes an authorised one.
 * A message that changes nothing (a duplicate, an answer to a finished redemption) is ignored.
 *
 * Same payload bytes (`@shandu/proofs`), same checks in the same order and the same codes as the EVM
 * contract. What differs on Fabric, and why:
 *
 * - Users and platforms are Fabric clients; their 20-byte account is the last 20 bytes of their Shandu
 *   sender (common.ts).
 * - The id is `SHA-256(chainId u64 ‖ "shandu" ‖ user (20) ‖ userNonce u64)` ({@link redemptionIdOf}):
 *   the application's name stands where the EVM id has the contract's address.
 * - Time is the transaction's proposal timestamp; the bucket treats a timestamp earlier than its last use
 *   as no time passed (proposal timestamps are set by clients and need not increase).
 * - A transaction carries one chaincode event, and `deliver` already carries `BatchDelivered`, so a
 *   delivered message cannot send one. The `REJECT(UNKNOWN_PLATFORM)` that B sends on the EVM while the
 *   `AUTHORISE` runs is recorded as pending and sent by `sendRejection`, which anyone may call once.
 * - The EVM events have no chaincode-event counterpart (the one event of a transaction is the message it
 *   sends); the stored record and each transaction's result carry the same facts.
 */
import {
  type AuthorisePayload,
  concatBytes,
  decodeRedemptionPayload,
  encodeRedemptionPayload,
  fixedUint,
  MessageKind,
  type RedemptionPayload,
  reasonCode,
  reasonText,
  ShanduError,
  sha256,
  toHex,
} from "@shandu/proofs";
import { Contract } from "fabric-contract-api";
import { hexBytes, u64 } from "../config.ts";
import { sendMessage } from "../outbox.ts";
import type { RecipientCall, RecipientState } from "../recipients.ts";
import { type ShanduContext, type TxState, transaction, txTimeSeconds } from "../state.ts";
import { hasRole, laneLimit, ROLE } from "./alliance.ts";
import {
  APP_RECIPIENT,
  APP_SENDER,
  type AppConfig,
  appState,
  clientAccount,
  isZero,
  readAppConfig,
  rejected,
  U64_MAX,
  u256,
} from "./common.ts";
import { burn, lock, refund } from "./credits.ts";

export const REDEMPTION_STATES = ["NONE", "LOCKED", "BURNED", "REFUNDED", "AUTHORISED", "CONFIRMED", "REJECTED", "EXPIRED"] as const;
export type RedemptionStateName = (typeof REDEMPTION_STATES)[number];

/** A redemption as stored; `ShanduRedemption.Redemption` plus the Fabric-only `reason` and `rejectionPending`. */
export interface StoredRedemption {
  state: RedemptionStateName;
  refundedByTimeout: boolean;
  lateConfirmation: boolean;
  /** A: the destination chain; B: the source chain. */
  peerChainId: string;
  deadline: string;
  user: string;
  platform: string;
  creditClass: string;
  amount: string;
  /** A: why it was refunded (B's reason, or `TIMEOUT`); B: why it was rejected. What the EVM's events say. */
  reason?: string;
  /** B: rejected when its `AUTHORISE` arrived; the `REJECT` waits for `sendRejection`. */
  rejectionPending?: boolean;
}

interface StoredBucket {
  tokens: string;
  updatedAt: string;
  capacity: string;
  refillPerSecond: string;
}

const K = {
  redemption: (id: Uint8Array) => `redemption/${toHex(id).slice(2)}`,
  userNonce: (user: Uint8Array) => `redemption/user-nonce/${toHex(user).slice(2)}`,
  bucket: (laneChainId: bigint) => `redemption/bucket/${laneChainId}`,
};

const APP_NAME_BYTES = new TextEncoder().encode(APP_RECIPIENT);

/** The id of the `userNonce`-th redemption `user` (20 bytes) requests on chain `chainId`. */
export function redemptionIdOf(chainId: bigint, user: Uint8Array, userNonce: bigint): Uint8Array {
  return sha256(
    concatBytes(fixedUint(chainId, 8, U64_MAX, "chainId"), APP_NAME_BYTES, user, fixedUint(userNonce, 8, U64_MAX, "userNonce")),
  );
}

export async function readRedemption(s: RecipientState, id: Uint8Array): Promise<StoredRedemption | undefined> {
  return s.getJson<StoredRedemption>(K.redemption(id));
}

function putRedemption(s: RecipientState, id: Uint8Array, r: StoredRedemption): void {
  s.putJson(K.redemption(id), r);
}

export async function nextUserNonce(s: RecipientState, user: Uint8Array): Promise<bigint> {
  return BigInt((await s.getJson<string>(K.userNonce(user))) ?? "0");
}

// ------------------------------------------------------------------------------------ lane buckets

async function bucketAvailable(s: RecipientState, laneChainId: bigint, capacity: bigint, refill: bigint, now: bigint): Promise<bigint> {
  const b = await s.getJson<StoredBucket>(K.bucket(laneChainId));
  if (!b || BigInt(b.capacity) !== capacity || BigInt(b.refillPerSecond) !== refill) return capacity;
  const elapsed = now > BigInt(b.updatedAt) ? now - BigInt(b.updatedAt) : 0n;
  const level = BigInt(b.tokens) + elapsed * refill;
  return level < capacity ? level : capacity;
}

/** What a request to `laneChainId` could take now (0 while the lane is not open or paused). */
export async function availableCredits(s: RecipientState, laneChainId: bigint, now: bigint): Promise<bigint> {
  const l = await laneLimit(s, laneChainId);
  if (!l.open || l.paused) return 0n;
  return bucketAvailable(s, laneChainId, l.capacity, l.refillPerSecond, now);
}

/** `_take`: `LANE_NOT_OPEN`, `LANE_PAUSED`, `RATE_LIMITED`. */
async function take(s: RecipientState, laneChainId: bigint, amount: bigint, now: bigint): Promise<void> {
  const l = await laneLimit(s, laneChainId);
  if (!l.open) throw rejected("LANE_NOT_OPEN", "governance has not opened the lane", { laneChainId });
  if (l.paused) throw rejected("LANE_PAUSED", "the lane is paused by governance", { laneChainId });
  const available = await bucketAvailable(s, laneChainId, l.capacity, l.refillPerSecond, now);
  if (amount > available) throw rejected("RATE_LIMITED", "more credits than the lane's bucket holds", { amount, available });
  s.putJson(K.bucket(laneChainId), {
    tokens: (available - amount).toString(),
    updatedAt: now.toString(),
    capacity: l.capacity.toString(),
    refillPerSecond: l.refillPerSecond.toString(),
  } satisfies StoredBucket);
}

// ------------------------------------------------------------------------------------ transitions

function peerOf(config: AppConfig, chainId: bigint): Uint8Array {
  const p = config.redemptionPeers.get(chainId);
  if (!p) throw rejected("UNKNOWN_PEER", "no peer redemption is registered for the chain", { chainId });
  return p;
}

async function send(ctx: ShanduContext, state: TxState, config: AppConfig, peerChainId: bigint, payload: RedemptionPayload) {
  return sendMessage(ctx, state, {
    destinationChainId: peerChainId,
    kind: MessageKind.app,
    sender: APP_SENDER,
    recipient: peerOf(config, peerChainId),
    payload: encodeRedemptionPayload(payload),
  });
}

/** `_outgoing`: a redemption requested here (`UNKNOWN_REDEMPTION` otherwise). */
async function outgoing(s: RecipientState, id: Uint8Array): Promise<StoredRedemption> {
  const r = await readRedemption(s, id);
  if (!r || (r.state !== "LOCKED" && r.state !== "BURNED" && r.state !== "REFUNDED")) {
    throw rejected("UNKNOWN_REDEMPTION", "no redemption of this id was requested here", { id: toHex(id) });
  }
  return r;
}

/** `_incomingFor`: an authorised redemption, called by its platform (`UNKNOWN_REDEMPTION`, `NOT_PLATFORM`, `NOT_AUTHORISED`). */
async function incomingFor(ctx: ShanduContext, s: RecipientState, id: Uint8Array): Promise<StoredRedemption> {
  const r = await readRedemption(s, id);
  if (!r || !["AUTHORISED", "CONFIRMED", "REJECTED", "EXPIRED"].includes(r.state)) {
    throw rejected("UNKNOWN_REDEMPTION", "no redemption of this id arrived here", { id: toHex(id) });
  }
  if (toHex(clientAccount(ctx)) !== r.platform) throw rejected("NOT_PLATFORM", "only the redemption's platform answers it");
  if (r.state !== "AUTHORISED") throw rejected("NOT_AUTHORISED", "the redemption is no longer authorised", { state: r.state });
  return r;
}

/** What a delivered redemption message did (what the EVM contract's event says). */
export interface RedemptionApplied {
  op: "authorise" | "confirm" | "reject" | "expired";
  id: string;
  outcome: "authorised" | "rejected" | "burned" | "refunded" | "lateConfirmation" | "expired" | "ignored";
  state: RedemptionStateName;
}

function decodePayload(p: Uint8Array): RedemptionPayload {
  try {
    return decodeRedemptionPayload(p);
  } catch (e) {
    if (!(e instanceof ShanduError)) throw e;
    const code = e.code === "UNKNOWN_VERSION" ? "UNKNOWN_VERSION" : e.code === "UNKNOWN_KIND" ? "UNKNOWN_OP" : "MALFORMED_PAYLOAD";
    throw rejected(code, e.shortMessage, { length: p.length });
  }
}

/**
 * A redemption message from a peer, with `shanduReceive`'s checks in its order: `UNKNOWN_PEER`,
 * `UNKNOWN_SENDER`, `MALFORMED_PAYLOAD` / `UNKNOWN_VERSION` / `UNKNOWN_OP`, then per op (`CONFIRM` and
 * `REJECT`: `UNKNOWN_REDEMPTION` unless A sent this id to the message's source chain).
 */
export async function receiveRedemption(s: RecipientState, config: AppConfig, call: RecipientCall): Promise<RedemptionApplied> {
  const expected = config.redemptionPeers.get(call.sourceChainId);
  if (!expected)
    throw rejected("UNKNOWN_PEER", "no peer redemption is registered for the source chain", { sourceChainId: call.sourceChainId });
  if (toHex(expected) !== toHex(call.sender)) {
    throw rejected("UNKNOWN_SENDER", "the sender is not the peer registered for its chain", { sender: toHex(call.sender) });
  }
  const p = decodePayload(call.payload);
  const idHex = toHex(p.id);
  const done = (outcome: RedemptionApplied["outcome"], state: RedemptionStateName): RedemptionApplied => ({
    op: p.op,
    id: idHex,
    outcome,
    state,
  });
  if (p.op === "authorise") {
    const known = await readRedemption(s, p.id);
    if (known) return done("ignored", known.state);
    const registered = await hasRole(s, ROLE.platform, config.chainId, p.platform);
    const r: StoredRedemption = {
      state: registered ? "AUTHORISED" : "REJECTED",
      refundedByTimeout: false,
      lateConfirmation: false,
      peerChainId: call.sourceChainId.toString(),
      deadline: p.deadline.toString(),
      user: toHex(p.user),
      platform: toHex(p.platform),
      creditClass: toHex(p.creditClass),
      amount: p.amount.toString(),
      ...(registered ? {} : { reason: "UNKNOWN_PLATFORM", rejectionPending: true }),
    };
    putRedemption(s, p.id, r);
    return done(registered ? "authorised" : "rejected", r.state);
  }
  if (p.op === "expired") {
    const r = await readRedemption(s, p.id);
    if (r?.state === "AUTHORISED" && r.peerChainId === call.sourceChainId.toString()) {
      putRedemption(s, p.id, { ...r, state: "EXPIRED" });
      return done("expired", "EXPIRED");
    }
    return done("ignored", r?.state ?? "NONE");
  }
  const r = await outgoing(s, p.id);
  if (r.peerChainId !== call.sourceChainId.toString()) {
    throw rejected("UNKNOWN_REDEMPTION", "the redemption was not sent to the message's source chain", { id: idHex });
  }
  const user = hexBytesOf(r.user);
  const creditClass = hexBytesOf(r.creditClass);
  if (p.op === "confirm") {
    if (r.state === "LOCKED") {
      putRedemption(s, p.id, { ...r, state: "BURNED" });
      await burn(s, user, creditClass, BigInt(r.amount));
      return done("burned", "BURNED");
    }
    if (r.state === "REFUNDED" && !r.lateConfirmation) {
      putRedemption(s, p.id, { ...r, lateConfirmation: true });
      return done("lateConfirmation", r.state);
    }
    return done("ignored", r.state);
  }
  if (r.state === "LOCKED") {
    putRedemption(s, p.id, { ...r, state: "REFUNDED", reason: reasonText(p.reason) });
    await refund(s, user, creditClass, BigInt(r.amount));
    return done("refunded", "REFUNDED");
  }
  return done("ignored", r.state);
}

function hexBytesOf(hex: string): Uint8Array {
  return hexBytes(hex, "stored");
}

// ------------------------------------------------------------------------------------ the contract

function redemptionJson(id: Uint8Array, r: StoredRedemption | undefined) {
  return JSON.stringify({ id: toHex(id), ...(r ?? { state: "NONE" }) });
}

/**
 * `ShanduRedemption`: the transactions of both sides. Arguments are strings as Fabric passes them: chain
 * ids, nonces, amounts and deadlines in decimal, bytes as `0x` hex (accounts 20 bytes, ids, credit classes
 * and commitments 32). Results are JSON.
 */
export class ShanduRedemption extends Contract {
  constructor() {
    super("ShanduRedemption");
  }

  /**
   * A: locks `amount` credits of `creditClassHex` of the caller's account and sends `AUTHORISE` to the
   * peer on `destinationChainId`, for `platformHex` (20 bytes) to redeem before `deadline` (Unix seconds,
   * by B's clock). `envelopeCommitmentHex`: the regulator envelope's commitment (32 zero bytes for none).
   * Refusals, in the EVM order: `UNKNOWN_PEER`, `ZERO_AMOUNT`, `INVALID_PLATFORM`, `INVALID_DEADLINE`,
   * `UNKNOWN_PLATFORM`, `LANE_NOT_OPEN`, `LANE_PAUSED`, `RATE_LIMITED`, `INSUFFICIENT_CREDITS`. Returns
   * `{id, user, userNonce, outboxNonce, …}`; its event is the `MessageSent` of the `AUTHORISE`.
   */
  async requestRedemption(
    ctx: ShanduContext,
    destinationChainId: string,
    platformHex: string,
    creditClassHex: string,
    amount: string,
    deadline: string,
    envelopeCommitmentHex: string,
  ): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = appState(state);
      const config = await readAppConfig(s);
      const dst = u64(destinationChainId, "destinationChainId");
      const platform = hexBytes(platformHex, "platform", { length: 20 });
      const creditClass = hexBytes(creditClassHex, "creditClass", { length: 32 });
      const value = u256(amount, "amount");
      const until = u64(deadline, "deadline");
      const envelopeCommitment = hexBytes(envelopeCommitmentHex, "envelopeCommitment", { length: 32 });
      peerOf(config, dst);
      if (value === 0n) throw rejected("ZERO_AMOUNT", "0 credits");
      if (isZero(platform)) throw rejected("INVALID_PLATFORM", "the zero account is not a platform");
      const now = txTimeSeconds(ctx);
      if (until <= now) throw rejected("INVALID_DEADLINE", "the deadline is not in the future", { deadline: until, now });
      if (!(await hasRole(s, ROLE.platform, dst, platform))) {
        throw rejected("UNKNOWN_PLATFORM", "the platform does not hold PLATFORM on the destination chain", { platform: platformHex });
      }
      await take(s, dst, value, now);
      const user = clientAccount(ctx);
      const userNonce = await nextUserNonce(s, user);
      s.putJson(K.userNonce(user), (userNonce + 1n).toString());
      const id = redemptionIdOf(config.chainId, user, userNonce);
      putRedemption(s, id, {
        state: "LOCKED",
        refundedByTimeout: false,
        lateConfirmation: false,
        peerChainId: dst.toString(),
        deadline: until.toString(),
        user: toHex(user),
        platform: toHex(platform),
        creditClass: toHex(creditClass),
        amount: value.toString(),
      });
      await lock(s, user, creditClass, value);
      const authorise: AuthorisePayload = {
        op: "authorise",
        id,
        user,
        platform,
        creditClass,
        amount: value,
        deadline: until,
        envelopeCommitment,
      };
      const sent = await send(ctx, state, config, dst, authorise);
      return JSON.stringify({
        id: toHex(id),
        user: toHex(user),
        userNonce: userNonce.toString(),
        destinationChainId: dst.toString(),
        platform: toHex(platform),
        creditClass: toHex(creditClass),
        amount: value.toString(),
        deadline: until.toString(),
        outboxNonce: sent.nonce.toString(),
      });
    });
  }

  /**
   * A: refunds a redemption that got no answer, once the transaction's time is past `deadline +
   * refundMargin`; anyone may call it. Sends `EXPIRED` to the peer. `UNKNOWN_REDEMPTION`, `ALREADY_BURNED`,
   * `ALREADY_REFUNDED`, `TOO_EARLY`.
   */
  async refundAfterTimeout(ctx: ShanduContext, idHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = appState(state);
      const config = await readAppConfig(s);
      const id = hexBytes(idHex, "id", { length: 32 });
      const r = await outgoing(s, id);
      if (r.state === "BURNED") throw rejected("ALREADY_BURNED", "the redemption was burned");
      if (r.state === "REFUNDED") throw rejected("ALREADY_REFUNDED", "the redemption was refunded");
      const now = txTimeSeconds(ctx);
      const after = BigInt(r.deadline) + config.refundMarginSeconds;
      if (now <= after) throw rejected("TOO_EARLY", "the refund margin after the deadline has not passed", { now, refundableAfter: after });
      const next: StoredRedemption = { ...r, state: "REFUNDED", refundedByTimeout: true, reason: "TIMEOUT" };
      putRedemption(s, id, next);
      await refund(s, hexBytesOf(r.user), hexBytesOf(r.creditClass), BigInt(r.amount));
      const sent = await send(ctx, state, config, BigInt(r.peerChainId), { op: "expired", id });
      return JSON.stringify({ id: toHex(id), state: next.state, reason: "TIMEOUT", outboxNonce: sent.nonce.toString() });
    });
  }

  /** B: the platform confirms, while authorised and not after the deadline; sends `CONFIRM`. `UNKNOWN_REDEMPTION`, `NOT_PLATFORM`, `NOT_AUTHORISED`, `DEADLINE_PASSED`. */
  async confirm(ctx: ShanduContext, idHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = appState(state);
      const config = await readAppConfig(s);
      const id = hexBytes(idHex, "id", { length: 32 });
      const r = await incomingFor(ctx, s, id);
      const now = txTimeSeconds(ctx);
      if (now > BigInt(r.deadline)) throw rejected("DEADLINE_PASSED", "the deadline has passed", { now, deadline: r.deadline });
      putRedemption(s, id, { ...r, state: "CONFIRMED" });
      const sent = await send(ctx, state, config, BigInt(r.peerChainId), { op: "confirm", id });
      return JSON.stringify({ id: toHex(id), state: "CONFIRMED", outboxNonce: sent.nonce.toString() });
    });
  }

  /** B: the platform declines, while authorised (also after the deadline); sends `REJECT(PLATFORM_REJECTED)`. `UNKNOWN_REDEMPTION`, `NOT_PLATFORM`, `NOT_AUTHORISED`. */
  async reject(ctx: ShanduContext, idHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = appState(state);
      const config = await readAppConfig(s);
      const id = hexBytes(idHex, "id", { length: 32 });
      const r = await incomingFor(ctx, s, id);
      putRedemption(s, id, { ...r, state: "REJECTED", reason: "PLATFORM_REJECTED" });
      const sent = await send(ctx, state, config, BigInt(r.peerChainId), { op: "reject", id, reason: reasonCode("PLATFORM_REJECTED") });
      return JSON.stringify({ id: toHex(id), state: "REJECTED", reason: "PLATFORM_REJECTED", outboxNonce: sent.nonce.toString() });
    });
  }

  /**
   * B (Fabric only): sends the `REJECT(UNKNOWN_PLATFORM)` of a redemption rejected when its `AUTHORISE`
   * arrived (a delivery cannot carry a second event). Anyone may call it, once per such redemption:
   * `UNKNOWN_REDEMPTION` if no redemption of this id arrived here, `NO_PENDING_REJECTION` if it has no
   * rejection waiting (authorised, answered by the platform, or sent already).
   */
  async sendRejection(ctx: ShanduContext, idHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const s = appState(state);
      const config = await readAppConfig(s);
      const id = hexBytes(idHex, "id", { length: 32 });
      const r = await readRedemption(s, id);
      if (!r || !["AUTHORISED", "CONFIRMED", "REJECTED", "EXPIRED"].includes(r.state)) {
        throw rejected("UNKNOWN_REDEMPTION", "no redemption of this id arrived here", { id: idHex });
      }
      if (!r.rejectionPending)
        throw rejected("NO_PENDING_REJECTION", "the redemption has no rejection waiting to be sent", { state: r.state });
      const rest: StoredRedemption = { ...r };
      delete rest.rejectionPending;
      putRedemption(s, id, rest);
      const reason = r.reason ?? "UNKNOWN_PLATFORM";
      const sent = await send(ctx, state, config, BigInt(r.peerChainId), { op: "reject", id, reason: reasonCode(reason) });
      return JSON.stringify({ id: toHex(id), state: r.state, reason, outboxNonce: sent.nonce.toString() });
    });
  }

  /** The redemption of `idHex` on this chain: the stored record with `id`, or `{id, state: "NONE"}`. */
  async redemption(ctx: ShanduContext, idHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const id = hexBytes(idHex, "id", { length: 32 });
      return redemptionJson(id, await readRedemption(appState(state), id));
    });
  }

  /** The id of the `userNonce`-th redemption of account `userHex` here. */
  async redemptionId(ctx: ShanduContext, userHex: string, userNonce: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const config = await readAppConfig(appState(state));
      return toHex(redemptionIdOf(config.chainId, hexBytes(userHex, "user", { length: 20 }), u64(userNonce, "userNonce")));
    });
  }

  /** How many redemptions account `userHex` requested here (its next user nonce), decimal. */
  async nextUserNonce(ctx: ShanduContext, userHex: string): Promise<string> {
    return transaction(ctx, async (state) => (await nextUserNonce(appState(state), hexBytes(userHex, "user", { length: 20 }))).toString());
  }

  /** What a request to `laneChainId` could take at this transaction's time, decimal. */
  async availableCredits(ctx: ShanduContext, laneChainId: string): Promise<string> {
    return transaction(ctx, async (state) =>
      (await availableCredits(appState(state), u64(laneChainId, "laneChainId"), txTimeSeconds(ctx))).toString(),
    );
  }
}
