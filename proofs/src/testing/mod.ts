/**
 * Test helpers for code that uses `@shandu/proofs`: deterministic committees with their secret keys,
 * signing as a committee, and rotations. Keys are derived from public seeds — never use them for
 * anything real.
 */
import { type Attestation, type BatchHeader, batchSigningRoot, makeBitfield } from "../attestation.ts";
import type { Bls } from "../bls/bls.ts";
import { keyGen } from "../bls/keygen.ts";
import { utf8 } from "../bytes.ts";
import { type Committee, type CommitteeMember, committeeSetHash, type NativeKeySchemeName, type QuorumPolicy } from "../committee.ts";
import { ShanduError } from "../errors.ts";
import { sha256 } from "../hash.ts";
import { type NativeAttestation, nativePublicKey, signNative } from "../native.ts";
import { type RotationRecord, rotationSigningRoot } from "../rotation.ts";

export interface MemberSpec {
  id: string;
  group: string;
  weight?: number;
}

export interface TestCommittee {
  committee: Committee;
  /** Secret keys, by member index. */
  secretKeys: Uint8Array[];
  /** Native secret keys per scheme, by member index (only for schemes asked for). */
  nativeSecretKeys: Partial<Record<NativeKeySchemeName, Uint8Array[]>>;
}

/** Order of both secp256k1 and SM2 is above 2^255, so a SHA-256 value below 2^255 with a nonzero top half is in range. */
export function testNativeSecretKey(seed: string, memberId: string, scheme: NativeKeySchemeName): Uint8Array {
  const k = sha256(utf8(`shandu-test-native-key:${scheme}:${seed}:${memberId}`));
  k[0] = (k[0]! & 0x7f) | 0x01;
  return k;
}

/** Derives member i's secret key from `seed` and the member id. */
export function testSecretKey(seed: string, memberId: string): Uint8Array {
  return keyGen(sha256(utf8(`shandu-test-key:${seed}:${memberId}`)));
}

export function makeTestCommittee(
  bls: Bls,
  opts: { epoch?: bigint; seed: string; members: MemberSpec[]; policy: QuorumPolicy; nativeSchemes?: NativeKeySchemeName[] },
): TestCommittee {
  const secretKeys = opts.members.map((m) => testSecretKey(opts.seed, m.id));
  const nativeSecretKeys: TestCommittee["nativeSecretKeys"] = {};
  for (const scheme of opts.nativeSchemes ?? []) {
    nativeSecretKeys[scheme] = opts.members.map((m) => testNativeSecretKey(opts.seed, m.id, scheme));
  }
  const members: CommitteeMember[] = opts.members.map((m, i) => ({
    id: m.id,
    group: m.group,
    weight: m.weight ?? 1,
    blsPublicKey: bls.publicKeyOf(secretKeys[i]!),
    proofOfPossession: bls.provePossession(secretKeys[i]!),
    nativeKeys: (opts.nativeSchemes ?? []).map((scheme) => ({ scheme, publicKey: nativePublicKey(scheme, nativeSecretKeys[scheme]![i]!) })),
  }));
  return { committee: { epoch: opts.epoch ?? 0n, members, policy: opts.policy }, secretKeys, nativeSecretKeys };
}

/** The pilot's quorum policy: two thirds of the weight, and each alliance and the regulator among the signers. */
export const PILOT_POLICY: QuorumPolicy = {
  threshold: { numerator: 2, denominator: 3 },
  groups: [
    { group: "shanghai-alliance", minSigners: 1 },
    { group: "shenzhen-alliance", minSigners: 1 },
    { group: "regulator", minSigners: 1 },
  ],
};

/** The pilot committee: two alliances, a clearing bank and the regulator. */
export function pilotCommittee(bls: Bls, seed = "pilot", epoch = 0n, nativeSchemes: NativeKeySchemeName[] = []): TestCommittee {
  return makeTestCommittee(bls, {
    epoch,
    seed,
    nativeSchemes,
    members: [
      { id: "shanghai-lowcarbon", group: "shanghai-alliance" },
      { id: "shenzhen-welfare", group: "shenzhen-alliance" },
      { id: "clearing-bank", group: "clearing" },
      { id: "regulator", group: "regulator" },
    ],
    policy: PILOT_POLICY,
  });
}

/**
 * Signs `root` with the given members and aggregates. No policy check, so tests can build attestations
 * that must be refused (too few signers, wrong root); use `aggregatePartials` for the checked path.
 */
export function signAs(bls: Bls, tc: TestCommittee, signerIndices: number[], root: Uint8Array): Attestation {
  return {
    epoch: tc.committee.epoch,
    committeeSetHash: committeeSetHash(tc.committee),
    signers: makeBitfield(tc.committee.members.length, signerIndices),
    signature: bls.aggregateSignatures(signerIndices.map((i) => bls.sign(tc.secretKeys[i]!, root))),
  };
}

/** Native co-signatures of `root` by the given members (no policy check, like {@link signAs}). */
export function signNativeAs(tc: TestCommittee, scheme: NativeKeySchemeName, signerIndices: number[], root: Uint8Array): NativeAttestation {
  const keys = tc.nativeSecretKeys[scheme];
  if (!keys) throw new ShanduError("TEST_SETUP", `the test committee has no ${scheme} keys`);
  const sorted = [...signerIndices].sort((a, b) => a - b);
  return {
    scheme,
    epoch: tc.committee.epoch,
    committeeSetHash: committeeSetHash(tc.committee),
    signers: makeBitfield(tc.committee.members.length, sorted),
    signatures: sorted.map((i) => signNative(scheme, keys[i]!, root)),
  };
}

export function attestBatch(bls: Bls, tc: TestCommittee, signerIndices: number[], header: BatchHeader): Attestation {
  return signAs(bls, tc, signerIndices, batchSigningRoot(committeeSetHash(tc.committee), tc.committee.epoch, header));
}

/** A rotation from `from` to `to`, attested by `signerIndices` of `from`. */
export function rotate(
  bls: Bls,
  from: TestCommittee,
  signerIndices: number[],
  to: Committee,
  activatesAtSeconds = 0n,
  graceSeconds = 3600,
): RotationRecord {
  const fromHash = committeeSetHash(from.committee);
  const root = rotationSigningRoot(fromHash, from.committee.epoch, committeeSetHash(to), to.epoch, activatesAtSeconds, graceSeconds);
  return {
    fromEpoch: from.committee.epoch,
    fromCommitteeSetHash: fromHash,
    to,
    activatesAtSeconds,
    graceSeconds,
    attestation: signAs(bls, from, signerIndices, root),
  };
}

/**
 * Runs `f` and returns the `code` of the {@link ShanduError} it throws (of class `type` when given).
 * Throws when `f` returns normally or throws anything else, so a test cannot pass by accident.
 */
export function errorCode(f: () => unknown, type: abstract new (...args: never[]) => ShanduError = ShanduError): string {
  try {
    f();
  } catch (e) {
    if (e instanceof type) return e.code;
    throw new Error(`expected ${type.name}, got ${String(e)}`, { cause: e });
  }
  throw new Error(`expected ${type.name}, but nothing was thrown`);
}

export { evmBlock, evmHeader, evmReceipt, evmTransaction, evmTypeOf, evmWord, type TestEvmBlock } from "./evmBlock.ts";
export { abiBytes, type FiscoTestBlockSpec, fiscoBlock, fiscoTestKey, type TestFiscoBlock } from "./fiscoBlock.ts";
export { laneMessage } from "./message.ts";
