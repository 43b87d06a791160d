/**
 * The store on both databases it runs on: the embedded PGlite and a real PostgreSQL server (its own
 * database per run). Same SQL, same answers; on PostgreSQL also several clients at once, as several
 * gateway instances would be.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { Attestation, BatchHeader } from "@shandu/proofs";
import { createTestDatabase, POSTGRES_SKIP_REASON, type TestDatabase } from "../testing/postgres.ts";
import { migrate, openSql, type SqlClient } from "./sql.ts";
import { GatewayStore, packMessages, unpackMessages } from "./store.ts";

const fill = (n: number, b: number) => new Uint8Array(n).fill(b);
const header = (first: bigint, last: bigint, rootByte: number): BatchHeader => ({
  sourceChainId: 1001n,
  destinationChainId: 18446744073709551615n, // u64 max: numeric columns, not signed bigint
  firstNonce: first,
  lastNonce: last,
  root: fill(32, rootByte),
});
const att = (b: number): Attestation => ({ epoch: 0n, committeeSetHash: fill(32, 7), signers: Uint8Array.of(b), signature: fill(96, b) });
const partial = (h: BatchHeader, member: number, sigByte = member) => ({
  header: h,
  epoch: 0n,
  memberIndex: member,
  memberId: `m${member}`,
  signature: fill(96, sigByte),
  messages: packMessages([fill(3, 1), fill(5, 2)]),
});

const pgDb: TestDatabase | null = await createTestDatabase();
after(async () => pgDb?.drop());

/** `separateClients`: whether open() gives independent connections to one database (PGlite is one process's). */
const backends: { name: string; open: () => Promise<SqlClient>; separateClients: boolean; skip?: string }[] = [
  { name: "PGlite (embedded)", open: () => openSql({}), separateClients: false },
  pgDb
    ? { name: "PostgreSQL", open: () => openSql({ url: pgDb.url }), separateClients: true }
    : { name: "PostgreSQL", open: () => openSql({}), separateClients: true, skip: POSTGRES_SKIP_REASON },
];

test("packMessages round-trips, including empty encodings", () => {
  const list = [fill(0, 0), fill(70_000, 9), Uint8Array.of(1)];
  assert.deepEqual(unpackMessages(packMessages(list)), list);
});

for (const b of backends) {
  describe(`gateway store on ${b.name}`, { skip: b.skip ?? false }, () => {
    test("migrations apply once", async () => {
      const db = await b.open();
      try {
        assert.deepEqual(await migrate(db), [], "openSql already applied everything");
      } finally {
        await db.close();
      }
    });

    test("partials: new, duplicate, equivocation with evidence, late and mismatching ones", async () => {
      const store = new GatewayStore(await b.open());
      try {
        const h = header(0n, 1n, 1);
        assert.equal((await store.recordPartial(partial(h, 0))).status, "new");
        assert.equal((await store.recordPartial(partial(h, 0))).status, "duplicate");
        assert.equal((await store.recordPartial(partial(h, 1))).status, "new");
        // Member 2 signs root 1, then root 2 for the same range: evidence, and its partial no longer counts.
        assert.equal((await store.recordPartial(partial(h, 2))).status, "new");
        const eq = await store.recordPartial(partial(header(0n, 1n, 2), 2, 50));
        assert.equal(eq.status, "equivocation");
        const ev = await store.equivocations();
        assert.equal(ev.length, 1);
        assert.equal(ev[0]!.memberId, "m2");
        assert.deepEqual(ev[0]!.rootA, fill(32, 1));
        assert.deepEqual(ev[0]!.rootB, fill(32, 2));
        assert.deepEqual(ev[0]!.signatureB, fill(96, 50));
        assert.deepEqual(
          (await store.partialsFor(h, 0n)).map((p) => p.memberIndex),
          [0, 1],
        );

        const { created, logIndex } = await store.commitAttestation(h, att(3), () => fill(32, 0xaa));
        assert.equal(created, true);
        assert.equal(logIndex, 0n);
        assert.equal((await store.recordPartial(partial(h, 3))).status, "attested");
        const other = await store.recordPartial(partial(header(0n, 1n, 9), 4));
        assert.equal(other.status, "mismatch");
        const overlap = await store.recordPartial(partial(header(1n, 2n, 1), 0));
        assert.equal(overlap.status, "mismatch", "a range overlapping an attested one differently is refused");

        const s = await store.attestationForNonce(1001n, 18446744073709551615n, 1n);
        assert.ok(s);
        assert.equal(s.header.destinationChainId, 18446744073709551615n);
        assert.deepEqual(s.messages, [fill(3, 1), fill(5, 2)]);
        assert.deepEqual(s.attestation.signature, fill(96, 3));
        assert.equal(s.published, false);
        assert.equal((await store.unpublished(10)).length, 1);
        await store.markPublished(h);
        assert.equal((await store.unpublished(10)).length, 0);
        const stats = await store.laneStats();
        assert.equal(stats.length, 1);
        assert.equal(stats[0]!.lastAttestedNonce, 1n);
        assert.equal(stats[0]!.attestedBatches, 1);
        assert.equal(stats[0]!.pendingBatches, 0);
      } finally {
        await store.close();
      }
    });

    test("one attestation per range and one log order, with several clients committing at once", async () => {
      let clients: SqlClient[];
      if (b.separateClients) clients = await Promise.all([b.open(), b.open(), b.open()]);
      else {
        const one = await b.open();
        clients = [one, one, one];
      }
      const stores = clients.map((c) => new GatewayStore(c));
      try {
        const base = await stores[0]!.logSize();
        const ranges = [0n, 10n, 20n, 30n].map((f) => header(100n + f, 100n + f + 9n, 5));
        for (const h of ranges) await stores[0]!.recordPartial(partial(h, 0));
        // Every client tries to commit every range, with its own (different) aggregate.
        const results = await Promise.all(
          ranges.flatMap((h, r) => stores.map((s, i) => s.commitAttestation(h, att(10 * r + i), (ix) => fill(32, Number(ix % 256n))))),
        );
        assert.equal(results.filter((x) => x.created).length, ranges.length, "exactly one commit per range wins");
        assert.equal(await stores[1]!.logSize(), base + 4n);
        const indices = (await stores[2]!.attestedFrom(base, 100)).map((s) => s.logIndex);
        assert.deepEqual(indices, [base, base + 1n, base + 2n, base + 3n]);
        const leaves = await stores[0]!.leafHashes(base);
        assert.equal(leaves.length, 4);
        for (const h of ranges) {
          const seen = new Set<string>();
          for (const s of stores) seen.add(Buffer.from((await s.attestation(h))!.attestation.signature).toString("hex"));
          assert.equal(seen.size, 1, "every client reads the same attestation for a range");
        }
      } finally {
        await Promise.all([...new Set(clients)].map((c) => c.close()));
      }
    });
  });
}
