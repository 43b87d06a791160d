/**
 * The gateway's durable state, over {@link SqlClient}. Everything that decides an outcome runs in one
 * transaction, so several gateway instances over one PostgreSQL agree:
 * - a member has at most one root per (lane, nonce range, epoch); a second root is kept as equivocation
 *   evidence, never as a partial;
 * - a nonce range has at most one attestation (primary key), and attestations get consecutive log
 *   indices under the lock on `log_head`, so the transparency log has exactly one order.
 */
import {
  type Attestation,
  type BatchHeader,
  decodeNativeAttestation,
  encodeNativeAttestation,
  type NativeAttestation,
} from "@shandu/proofs";
import type { BatchRef } from "../api.ts";
import type { Row, SqlClient } from "./sql.ts";

export interface PartialRecord {
  header: BatchHeader;
  epoch: bigint;
  memberIndex: number;
  memberId: string;
  signature: Uint8Array;
  /** The member's native co-signature (§6.5), on lanes whose destination verifies those. */
  nativeSignature?: Uint8Array;
  /** Length-prefixed canonical message encodings ({@link packMessages}). */
  messages: Uint8Array;
}

export type RecordPartialResult =
  | { status: "new" }
  | { status: "duplicate" }
  /** The range is attested with this root; the partial was kept as a late signature. */
  | { status: "attested" }
  /** The range is attested with another root, or overlaps an attested range differently. */
  | { status: "mismatch"; attestedRange: BatchRef; attestedRoot: Uint8Array }
  /** The member signed another root for this range before; evidence recorded. */
  | { status: "equivocation"; otherRoot: Uint8Array; otherSignature: Uint8Array };

export interface StoredAttestation {
  header: BatchHeader;
  attestation: Attestation;
  /** The native co-signatures of the same signers, on lanes whose destination verifies those. */
  native?: NativeAttestation;
  messages: Uint8Array[];
  logIndex: bigint;
  published: boolean;
}

export interface EquivocationRecord {
  ref: BatchRef;
  epoch: bigint;
  memberIndex: number;
  memberId: string;
  rootA: Uint8Array;
  signatureA: Uint8Array;
  rootB: Uint8Array;
  signatureB: Uint8Array;
}

export interface LaneStats {
  sourceChainId: bigint;
  destinationChainId: bigint;
  lastAttestedNonce: bigint | null;
  attestedBatches: number;
  pendingBatches: number;
}

/** u32 length ‖ bytes, for each encoding. */
export function packMessages(encodings: readonly Uint8Array[]): Uint8Array {
  const total = encodings.reduce((n, e) => n + 4 + e.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const e of encodings) {
    view.setUint32(at, e.length);
    out.set(e, at + 4);
    at += 4 + e.length;
  }
  return out;
}

export function unpackMessages(packed: Uint8Array): Uint8Array[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < packed.length) {
    const len = view.getUint32(at);
    out.push(packed.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

const bytes = (v: unknown): Uint8Array => v as Uint8Array;
const big = (v: unknown): bigint => BigInt(v as string);
const RANGE = "src = $1 AND dst = $2 AND first_nonce = $3 AND last_nonce = $4";
const rangeParams = (h: BatchRef) => [h.sourceChainId, h.destinationChainId, h.firstNonce, h.lastNonce];

const ATTESTATION_COLUMNS = `a.src::text AS src, a.dst::text AS dst, a.first_nonce::text AS first_nonce, a.last_nonce::text AS last_nonce,
  a.root, a.epoch::text AS epoch, a.committee_set_hash, a.signers, a.signature, a.native_attestation, a.log_index::text AS log_index,
  a.published_at IS NOT NULL AS published, c.messages`;
const ATTESTATION_JOIN = `attestations a JOIN batch_candidates c
  ON c.src = a.src AND c.dst = a.dst AND c.first_nonce = a.first_nonce AND c.last_nonce = a.last_nonce AND c.root = a.root`;

function toStored(r: Row): StoredAttestation {
  const header: BatchHeader = {
    sourceChainId: big(r.src),
    destinationChainId: big(r.dst),
    firstNonce: big(r.first_nonce),
    lastNonce: big(r.last_nonce),
    root: bytes(r.root),
  };
  return {
    header,
    attestation: {
      epoch: big(r.epoch),
      committeeSetHash: bytes(r.committee_set_hash),
      signers: bytes(r.signers),
      signature: bytes(r.signature),
    },
    ...(r.native_attestation ? { native: decodeNativeAttestation(bytes(r.native_attestation)) } : {}),
    messages: unpackMessages(bytes(r.messages)),
    logIndex: big(r.log_index),
    published: r.published === true,
  };
}

export class GatewayStore {
  readonly db: SqlClient;

  constructor(db: SqlClient) {
    this.db = db;
  }

  /** Records a verified partial; see {@link RecordPartialResult}. */
  async recordPartial(p: PartialRecord): Promise<RecordPartialResult> {
    try {
      return await this.#recordPartial(p);
    } catch (e) {
      // Another instance stored this member's partial for the range between our read and our insert:
      // run again, now seeing it (duplicate or equivocation).
      if ((e as { code?: unknown }).code === "23505") return this.#recordPartial(p);
      throw e;
    }
  }

  async #recordPartial(p: PartialRecord): Promise<RecordPartialResult> {
    const h = p.header;
    return this.db.transaction(async (tx) => {
      const prior = await tx.query(`SELECT root, signature FROM partials WHERE ${RANGE} AND epoch = $5 AND member_index = $6`, [
        ...rangeParams(h),
        p.epoch,
        p.memberIndex,
      ]);
      const before = prior[0];
      if (before) {
        if (equal(bytes(before.root), h.root)) return { status: "duplicate" };
        await tx.query(
          `INSERT INTO equivocations (src, dst, first_nonce, last_nonce, epoch, member_index, member_id, root_a, signature_a, root_b, signature_b)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`,
          [...rangeParams(h), p.epoch, p.memberIndex, p.memberId, bytes(before.root), bytes(before.signature), h.root, p.signature],
        );
        return { status: "equivocation", otherRoot: bytes(before.root), otherSignature: bytes(before.signature) };
      }
      const attested = await tx.query(
        `SELECT first_nonce::text AS first_nonce, last_nonce::text AS last_nonce, root FROM attestations
         WHERE src = $1 AND dst = $2 AND first_nonce <= $4 AND last_nonce >= $3 LIMIT 1`,
        rangeParams(h),
      );
      const hit = attested[0];
      if (hit) {
        const same = big(hit.first_nonce) === h.firstNonce && big(hit.last_nonce) === h.lastNonce;
        if (!same || !equal(bytes(hit.root), h.root)) {
          return {
            status: "mismatch",
            attestedRange: { ...h, firstNonce: big(hit.first_nonce), lastNonce: big(hit.last_nonce) },
            attestedRoot: bytes(hit.root),
          };
        }
      }
      await tx.query(
        `INSERT INTO batch_candidates (src, dst, first_nonce, last_nonce, root, messages) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [...rangeParams(h), h.root, p.messages],
      );
      await tx.query(
        `INSERT INTO partials (src, dst, first_nonce, last_nonce, epoch, member_index, member_id, root, signature, native_signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [...rangeParams(h), p.epoch, p.memberIndex, p.memberId, h.root, p.signature, p.nativeSignature ?? null],
      );
      return hit ? { status: "attested" } : { status: "new" };
    });
  }

  /** Partials for one candidate batch, leaving out members with equivocation evidence for the range. */
  async partialsFor(
    h: BatchHeader,
    epoch: bigint,
  ): Promise<{ memberIndex: number; signature: Uint8Array; nativeSignature: Uint8Array | null }[]> {
    const rows = await this.db.query(
      `SELECT p.member_index, p.signature, p.native_signature FROM partials p
       WHERE p.src = $1 AND p.dst = $2 AND p.first_nonce = $3 AND p.last_nonce = $4 AND p.epoch = $5 AND p.root = $6
         AND NOT EXISTS (SELECT 1 FROM equivocations e WHERE e.src = p.src AND e.dst = p.dst AND e.first_nonce = p.first_nonce
           AND e.last_nonce = p.last_nonce AND e.epoch = p.epoch AND e.member_index = p.member_index)
       ORDER BY p.member_index`,
      [...rangeParams(h), epoch, h.root],
    );
    return rows.map((r) => ({
      memberIndex: Number(r.member_index),
      signature: bytes(r.signature),
      nativeSignature: r.native_signature ? bytes(r.native_signature) : null,
    }));
  }

  /**
   * Stores the attestation of a batch unless the range already has one, and appends its leaf to the
   * log. Returns the range's attestation either way (the first one wins across instances).
   */
  async commitAttestation(
    header: BatchHeader,
    attestation: Attestation,
    leafHash: (logIndex: bigint) => Uint8Array,
    native?: NativeAttestation,
  ): Promise<{ created: boolean; logIndex: bigint }> {
    return this.db.transaction(async (tx) => {
      const head = await tx.query("SELECT size::text AS size FROM log_head WHERE id = 1 FOR UPDATE");
      const existing = await tx.query(`SELECT log_index::text AS log_index FROM attestations WHERE ${RANGE}`, rangeParams(header));
      if (existing[0]) return { created: false, logIndex: big(existing[0].log_index) };
      const logIndex = big(head[0]!.size);
      await tx.query(
        `INSERT INTO attestations (src, dst, first_nonce, last_nonce, root, epoch, committee_set_hash, signers, signature, log_index, native_attestation)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          ...rangeParams(header),
          header.root,
          attestation.epoch,
          attestation.committeeSetHash,
          attestation.signers,
          attestation.signature,
          logIndex,
          native ? encodeNativeAttestation(native) : null,
        ],
      );
      await tx.query("INSERT INTO log_leaves (idx, leaf_hash) VALUES ($1, $2)", [logIndex, leafHash(logIndex)]);
      await tx.query("UPDATE log_head SET size = size + 1 WHERE id = 1");
      return { created: true, logIndex };
    });
  }

  async attestation(ref: BatchRef): Promise<StoredAttestation | null> {
    const rows = await this.db.query(
      `SELECT ${ATTESTATION_COLUMNS} FROM ${ATTESTATION_JOIN} WHERE a.src = $1 AND a.dst = $2 AND a.first_nonce = $3 AND a.last_nonce = $4`,
      rangeParams(ref),
    );
    return rows[0] ? toStored(rows[0]) : null;
  }

  /** The attested batch holding (lane, nonce), if any. */
  async attestationForNonce(src: bigint, dst: bigint, nonce: bigint): Promise<StoredAttestation | null> {
    const rows = await this.db.query(
      `SELECT ${ATTESTATION_COLUMNS} FROM ${ATTESTATION_JOIN}
       WHERE a.src = $1 AND a.dst = $2 AND a.first_nonce <= $3 AND a.last_nonce >= $3 LIMIT 1`,
      [src, dst, nonce],
    );
    return rows[0] ? toStored(rows[0]) : null;
  }

  /** Attested batches with log index ≥ `fromLogIndex`, in log order. */
  async attestedFrom(fromLogIndex: bigint, limit: number, destinationChainId?: bigint): Promise<StoredAttestation[]> {
    const rows = await this.db.query(
      `SELECT ${ATTESTATION_COLUMNS} FROM ${ATTESTATION_JOIN}
       WHERE a.log_index >= $1 AND ($2::numeric IS NULL OR a.dst = $2::numeric) ORDER BY a.log_index LIMIT $3`,
      [fromLogIndex, destinationChainId ?? null, limit],
    );
    return rows.map(toStored);
  }

  async unpublished(limit: number): Promise<StoredAttestation[]> {
    const rows = await this.db.query(
      `SELECT ${ATTESTATION_COLUMNS} FROM ${ATTESTATION_JOIN} WHERE a.published_at IS NULL ORDER BY a.log_index LIMIT $1`,
      [limit],
    );
    return rows.map(toStored);
  }

  async markPublished(ref: BatchRef): Promise<void> {
    await this.db.query(`UPDATE attestations SET published_at = now() WHERE ${RANGE} AND published_at IS NULL`, rangeParams(ref));
  }

  async logSize(): Promise<bigint> {
    const rows = await this.db.query("SELECT size::text AS size FROM log_head WHERE id = 1");
    return big(rows[0]!.size);
  }

  /** Leaf hashes with index ≥ `from`, in order. */
  async leafHashes(from: bigint): Promise<Uint8Array[]> {
    const rows = await this.db.query("SELECT leaf_hash FROM log_leaves WHERE idx >= $1 ORDER BY idx", [from]);
    return rows.map((r) => bytes(r.leaf_hash));
  }

  async equivocations(): Promise<EquivocationRecord[]> {
    const rows = await this.db.query(
      `SELECT src::text AS src, dst::text AS dst, first_nonce::text AS first_nonce, last_nonce::text AS last_nonce, epoch::text AS epoch,
        member_index, member_id, root_a, signature_a, root_b, signature_b FROM equivocations ORDER BY recorded_at`,
    );
    return rows.map((r) => ({
      ref: { sourceChainId: big(r.src), destinationChainId: big(r.dst), firstNonce: big(r.first_nonce), lastNonce: big(r.last_nonce) },
      epoch: big(r.epoch),
      memberIndex: Number(r.member_index),
      memberId: String(r.member_id),
      rootA: bytes(r.root_a),
      signatureA: bytes(r.signature_a),
      rootB: bytes(r.root_b),
      signatureB: bytes(r.signature_b),
    }));
  }

  async laneStats(): Promise<LaneStats[]> {
    const rows = await this.db.query(
      `SELECT l.src::text AS src, l.dst::text AS dst,
         (SELECT max(last_nonce)::text FROM attestations a WHERE a.src = l.src AND a.dst = l.dst) AS last_nonce,
         (SELECT count(*)::int FROM attestations a WHERE a.src = l.src AND a.dst = l.dst) AS attested,
         (SELECT count(DISTINCT (c.first_nonce, c.last_nonce))::int FROM batch_candidates c WHERE c.src = l.src AND c.dst = l.dst
            AND NOT EXISTS (SELECT 1 FROM attestations a WHERE a.src = c.src AND a.dst = c.dst AND a.first_nonce = c.first_nonce AND a.last_nonce = c.last_nonce)) AS pending
       FROM (SELECT DISTINCT src, dst FROM batch_candidates) l ORDER BY l.src, l.dst`,
    );
    return rows.map((r) => ({
      sourceChainId: big(r.src),
      destinationChainId: big(r.dst),
      lastAttestedNonce: r.last_nonce === null ? null : big(r.last_nonce),
      attestedBatches: Number(r.attested),
      pendingBatches: Number(r.pending),
    }));
  }

  async ping(): Promise<boolean> {
    try {
      await this.db.query("SELECT 1");
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
