/**
 * Committee rotation (docs/protocol.md §7): committee e+1 is valid only when committee e attested it.
 *
 * Rotation signing root:
 * `SHA-256("SHANDU-ROTATE-v1" ‖ fromCommitteeSetHash ‖ fromEpoch u64 ‖ toCommitteeSetHash ‖ toEpoch u64
 *  ‖ activatesAtSeconds u64 ‖ graceSeconds u32)`.
 *
 * A verifier trusts only the genesis committee and walks the chain of rotation records from it. With a
 * clock (`nowSeconds`), an attestation is accepted from the epoch active at that time, and from the one
 * before it until `graceSeconds` after the newer one activated. Without a clock (auditing the past),
 * every epoch of the verified chain is accepted, and the report says so.
 */

import { type Attestation, checkEpoch, verifyAttestation } from "./attestation.ts";
import type { Bls } from "./bls/bls.ts";
import { ByteWriter, bytesEqual, toHex, U64_MAX } from "./bytes.ts";
import { type Committee, committeeSetHash, type VerifiedCommittee, verifyCommittee } from "./committee.ts";
import { AttestationError, CodecError, CommitteeError } from "./errors.ts";
import { DOMAIN, sha256Concat } from "./hash.ts";

export interface RotationRecord {
  fromEpoch: bigint;
  fromCommitteeSetHash: Uint8Array;
  /** The next committee in full; its epoch must be `fromEpoch + 1`. */
  to: Committee;
  /** Unix seconds from which the new committee signs. */
  activatesAtSeconds: bigint;
  /** Seconds after activation during which the previous committee's attestations are still accepted. */
  graceSeconds: number;
  /** By the `from` committee, over {@link rotationSigningRoot}. */
  attestation: Attestation;
}

/** Throws {@link CodecError} `VALUE_OUT_OF_RANGE` unless epochs and activation are u64 and grace a u32. */
export function checkRotationFields(fromEpoch: bigint, toEpoch: bigint, activatesAtSeconds: bigint, graceSeconds: number): void {
  checkEpoch(fromEpoch);
  checkEpoch(toEpoch);
  if (
    activatesAtSeconds < 0n ||
    activatesAtSeconds > U64_MAX ||
    !Number.isInteger(graceSeconds) ||
    graceSeconds < 0 ||
    graceSeconds > 0xffff_ffff
  ) {
    throw new CodecError("VALUE_OUT_OF_RANGE", "rotation activatesAtSeconds must be a u64 and graceSeconds a u32", {
      facts: { activatesAtSeconds, graceSeconds },
    });
  }
}

export function rotationSigningRoot(
  fromCommitteeSetHash: Uint8Array,
  fromEpoch: bigint,
  toCommitteeSetHash: Uint8Array,
  toEpoch: bigint,
  activatesAtSeconds: bigint,
  graceSeconds: number,
): Uint8Array {
  checkRotationFields(fromEpoch, toEpoch, activatesAtSeconds, graceSeconds);
  const body = new ByteWriter(128)
    .bytes(fromCommitteeSetHash)
    .u64(fromEpoch)
    .bytes(toCommitteeSetHash)
    .u64(toEpoch)
    .u64(activatesAtSeconds)
    .u32(graceSeconds)
    .finish();
  return sha256Concat(DOMAIN.rotate, body);
}

export interface EpochEntry {
  committee: VerifiedCommittee;
  /** 0 for genesis. */
  activatesAtSeconds: bigint;
  /** Grace the previous epoch gets after this one activates (0 for genesis). */
  graceSeconds: number;
}

/** A committee chain verified from a trusted genesis. */
export class CommitteeChain {
  readonly epochs: readonly EpochEntry[];

  constructor(epochs: readonly EpochEntry[]) {
    this.epochs = epochs;
  }

  get genesis(): VerifiedCommittee {
    return this.epochs[0]!.committee;
  }

  get latest(): VerifiedCommittee {
    return this.epochs[this.epochs.length - 1]!.committee;
  }

  /**
   * The committee that may have signed an attestation of `epoch`. Throws {@link CommitteeError}
   * `EPOCH_NOT_IN_CHAIN`, and with `nowSeconds` also `EPOCH_NOT_YET_ACTIVE` or `EPOCH_EXPIRED`.
   */
  committeeFor(epoch: bigint, nowSeconds?: bigint): VerifiedCommittee {
    const base = this.genesis.epoch;
    const idx = epoch >= base ? Number(epoch - base) : -1;
    const entry = this.epochs[idx];
    if (idx < 0 || !entry) {
      throw new CommitteeError("EPOCH_NOT_IN_CHAIN", "no committee for this epoch in the verified chain", {
        facts: { epoch, genesisEpoch: base, latestEpoch: this.latest.epoch },
      });
    }
    if (nowSeconds === undefined) return entry.committee;
    if (entry.activatesAtSeconds > nowSeconds) {
      throw new CommitteeError("EPOCH_NOT_YET_ACTIVE", "this epoch's committee is not active yet", {
        facts: { epoch, activatesAtSeconds: entry.activatesAtSeconds, nowSeconds },
      });
    }
    const next = this.epochs[idx + 1];
    if (next && next.activatesAtSeconds <= nowSeconds) {
      const after = this.epochs[idx + 2];
      const graceEnds = next.activatesAtSeconds + BigInt(next.graceSeconds);
      if ((after && after.activatesAtSeconds <= nowSeconds) || nowSeconds >= graceEnds) {
        throw new CommitteeError("EPOCH_EXPIRED", "this epoch was rotated out and its grace period is over", {
          facts: { epoch, replacedAtSeconds: next.activatesAtSeconds, graceEndsSeconds: graceEnds, nowSeconds },
        });
      }
    }
    return entry.committee;
  }
}

/**
 * Walks `rotations` from `trustedGenesis`. Each record must start at the previous epoch and committee
 * hash, name epoch + 1, activate no earlier than its predecessor, carry a committee that passes
 * {@link verifyCommittee}, and be attested by the previous committee under its quorum policy.
 * Throws {@link CommitteeError} naming the first broken link: `ROTATION_*` for the link itself (the
 * attestation failure as `cause`), or the committee code (with the rotation index) for an invalid
 * next committee.
 */
export function verifyCommitteeChain(trustedGenesis: Committee, rotations: readonly RotationRecord[], bls: Bls): CommitteeChain {
  const epochs: EpochEntry[] = [{ committee: verifyCommittee(trustedGenesis, bls), activatesAtSeconds: 0n, graceSeconds: 0 }];
  for (const [i, r] of rotations.entries()) {
    const prev = epochs[epochs.length - 1]!;
    const from = prev.committee;
    if (r.fromEpoch !== from.epoch || r.to.epoch !== from.epoch + 1n) {
      throw new CommitteeError("ROTATION_EPOCH_GAP", "rotation does not continue the chain epoch by epoch", {
        facts: { rotation: i, expectedFrom: from.epoch, fromEpoch: r.fromEpoch, toEpoch: r.to.epoch },
      });
    }
    if (!bytesEqual(r.fromCommitteeSetHash, from.hash)) {
      throw new CommitteeError("ROTATION_PARENT_MISMATCH", "rotation starts from a different committee than the chain holds", {
        facts: { rotation: i, expected: toHex(from.hash), actual: toHex(r.fromCommitteeSetHash) },
      });
    }
    if (r.activatesAtSeconds < prev.activatesAtSeconds) {
      throw new CommitteeError("ROTATION_TIME_NOT_MONOTONIC", "rotation activates before its predecessor", {
        facts: { rotation: i, activatesAtSeconds: r.activatesAtSeconds, previous: prev.activatesAtSeconds },
      });
    }
    const toHash = committeeSetHash(r.to);
    const root = rotationSigningRoot(from.hash, from.epoch, toHash, r.to.epoch, r.activatesAtSeconds, r.graceSeconds);
    try {
      verifyAttestation(r.attestation, from, root, bls);
    } catch (cause) {
      if (!(cause instanceof AttestationError)) throw cause;
      throw new CommitteeError(
        "ROTATION_NOT_ATTESTED",
        `rotation to epoch ${r.to.epoch} is not attested by epoch ${from.epoch}: ${cause.shortMessage}`,
        {
          facts: { rotation: i, reason: cause.code },
          cause,
        },
      );
    }
    let next: VerifiedCommittee;
    try {
      next = verifyCommittee(r.to, bls);
    } catch (cause) {
      if (!(cause instanceof CommitteeError)) throw cause;
      throw new CommitteeError(cause.code, `rotation to epoch ${r.to.epoch} carries an invalid committee: ${cause.shortMessage}`, {
        facts: { rotation: i, ...cause.facts },
        cause,
      });
    }
    epochs.push({ committee: next, activatesAtSeconds: r.activatesAtSeconds, graceSeconds: r.graceSeconds });
  }
  return new CommitteeChain(epochs);
}
