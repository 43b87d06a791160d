/**
 * Deterministic inputs for the benchmarks: lane messages, a 16-member committee and bare key sets.
 * Keys come from public seeds (`@shandu/proofs/testing`), so they are for measurement only.
 */
import { type Bls, type BlsPublicKey, type Message, MessageKind } from "@shandu/proofs";
import { type MemberSpec, makeTestCommittee, PILOT_POLICY, type TestCommittee, testSecretKey } from "@shandu/proofs/testing";

export const SOURCE_CHAIN = 1001n;
export const DESTINATION_CHAIN = 2002n;

function filled(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * `count` messages of one lane with contiguous nonces from `firstNonce`: 20-byte sender and recipient
 * (EVM-style addresses) and a `payloadBytes`-byte payload.
 */
export function laneMessages(count: number, opts: { firstNonce?: bigint; payloadBytes?: number } = {}): Message[] {
  const first = opts.firstNonce ?? 1n;
  const payloadBytes = opts.payloadBytes ?? 128;
  const sender = filled(20, 1);
  const recipient = filled(20, 2);
  const out: Message[] = [];
  for (let i = 0; i < count; i++) {
    const nonce = first + BigInt(i);
    out.push({
      version: 1,
      sourceChainId: SOURCE_CHAIN,
      destinationChainId: DESTINATION_CHAIN,
      nonce,
      kind: MessageKind.app,
      sender,
      recipient,
      payload: filled(payloadBytes, Number(nonce)),
      source: { blockNumber: 1_000_000n + nonce / 8n, txHash: filled(32, Number(nonce) + 7), logIndex: Number(nonce % 8n) },
    });
  }
  return out;
}

/**
 * A 16-member committee shaped like a production one: two alliances of six, three clearing banks and
 * the regulator; quorum is 2/3 of weight plus one member of each alliance and the regulator.
 */
export function committee16(bls: Bls, seed: string): TestCommittee {
  const members: MemberSpec[] = [];
  for (let i = 0; i < 6; i++) members.push({ id: `shanghai-${i}`, group: "shanghai-alliance" });
  for (let i = 0; i < 6; i++) members.push({ id: `shenzhen-${i}`, group: "shenzhen-alliance" });
  for (let i = 0; i < 3; i++) members.push({ id: `clearing-${i}`, group: "clearing" });
  members.push({ id: "regulator", group: "regulator" });
  return makeTestCommittee(bls, {
    seed,
    members,
    policy: PILOT_POLICY,
  });
}

export interface KeySet {
  secretKeys: Uint8Array[];
  publicKeys: Uint8Array[];
  /** Decoded, validated handles of `bls`'s backend. */
  handles: BlsPublicKey[];
}

/** `n` distinct keys (no committee, no proofs of possession) for raw signature benchmarks. */
export function keySet(bls: Bls, seed: string, n: number): KeySet {
  const secretKeys = Array.from({ length: n }, (_, i) => testSecretKey(seed, `signer-${i}`));
  const publicKeys = secretKeys.map((sk) => bls.publicKeyOf(sk));
  return { secretKeys, publicKeys, handles: publicKeys.map((pk) => bls.publicKey(pk)) };
}
