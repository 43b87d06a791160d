/**
 * The proto conversions: every request and response survives toPb → protobuf bytes → fromPb unchanged
 * (u64 extremes included), and every malformed field is refused as INVALID_REQUEST naming the field.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BundleError, type Committee, ShanduError } from "@shandu/proofs";
import type { AttestedBatch, SubmitPartialRequest } from "../api.ts";
import { GatewayError } from "../errors.ts";
import {
  factsFromJson,
  factsToJson,
  type GatewayMethod,
  gatewayErrorOf,
  gatewayServiceDefinition,
  getAttestationRequestCodec,
  getAttestationResponseCodec,
  getConsistencyProofRequestCodec,
  getConsistencyProofResponseCodec,
  getInclusionProofRequestCodec,
  getInclusionProofResponseCodec,
  getProofBundleRequestCodec,
  getProofBundleResponseCodec,
  getTreeHeadResponseCodec,
  healthResponseCodec,
  listLanesResponseCodec,
  type PbCodec,
  streamAttestedBatchesRequestCodec,
  streamAttestedBatchesResponseCodec,
  submitPartialRequestCodec,
  submitPartialResponseCodec,
} from "./convert.ts";

const U64_MAX = 18446744073709551615n;
const fill = (n: number, b: number) => new Uint8Array(n).fill(b);

const committee = (epoch: bigint): Committee => ({
  epoch,
  members: [
    {
      id: "上海-member-1",
      group: "alliance-a",
      weight: 3,
      blsPublicKey: fill(48, 1),
      proofOfPossession: fill(96, 2),
      nativeKeys: [{ scheme: "secp256k1", publicKey: fill(33, 3) }],
    },
  ],
  policy: { threshold: { numerator: 2, denominator: 3 }, groups: [{ group: "alliance-a", minSigners: 1 }] },
});

const batch: AttestedBatch = {
  header: { sourceChainId: U64_MAX, destinationChainId: 0n, firstNonce: 7n, lastNonce: 8n, root: fill(32, 9) },
  attestation: { epoch: 1n, committeeSetHash: fill(32, 4), signers: Uint8Array.of(1), signature: fill(96, 5) },
  messages: [fill(10, 6), new Uint8Array(0)],
  committees: {
    genesis: committee(0n),
    rotations: [
      {
        fromEpoch: 0n,
        fromCommitteeSetHash: fill(32, 8),
        to: committee(1n),
        activatesAtSeconds: U64_MAX,
        graceSeconds: 600,
        attestation: { epoch: 0n, committeeSetHash: fill(32, 8), signers: Uint8Array.of(1), signature: fill(96, 7) },
      },
    ],
  },
  logIndex: 42n,
};

const partial: SubmitPartialRequest = {
  header: batch.header,
  epoch: U64_MAX,
  memberId: "上海-member-1",
  signature: fill(96, 1),
  messages: batch.messages,
};

/** toPb, encode to protobuf bytes, decode as the peer would, fromPb. */
function viaWire<T, P>(method: GatewayMethod, side: "request" | "response", codec: PbCodec<T, P>, v: T): T {
  const def = gatewayServiceDefinition()[method];
  const bytes = side === "request" ? def.requestSerialize(codec.toPb(v)) : def.responseSerialize(codec.toPb(v));
  return codec.fromPb(side === "request" ? def.requestDeserialize(bytes) : def.responseDeserialize(bytes));
}

/** Decodes a hand-made (possibly malformed) proto object as the peer would, then reads it. */
function expectInvalid(read: () => unknown, field: string): void {
  assert.throws(read, (e: unknown) => {
    assert.ok(e instanceof GatewayError, `expected GatewayError, got ${String(e)}`);
    assert.equal(e.code, "INVALID_REQUEST");
    assert.equal(e.facts.field, field);
    return true;
  });
}

describe("round trips through protobuf bytes", () => {
  test("SubmitPartial", () => {
    assert.deepEqual(viaWire("SubmitPartial", "request", submitPartialRequestCodec, partial), partial);
    for (const status of ["accepted", "duplicate", "attested"] as const) {
      assert.deepEqual(viaWire("SubmitPartial", "response", submitPartialResponseCodec, { status }), { status });
    }
  });

  test("GetAttestation", () => {
    const ref = { sourceChainId: U64_MAX, destinationChainId: 0n, firstNonce: 1n, lastNonce: U64_MAX };
    assert.deepEqual(viaWire("GetAttestation", "request", getAttestationRequestCodec, ref), ref);
    assert.deepEqual(viaWire("GetAttestation", "response", getAttestationResponseCodec, batch), batch);
  });

  test("GetProofBundle", () => {
    const ref = { sourceChainId: 1n, destinationChainId: U64_MAX, nonce: 0n };
    assert.deepEqual(viaWire("GetProofBundle", "request", getProofBundleRequestCodec, ref), ref);
    const bundle = { format: "shandu-proof-bundle", version: 1, message: { nonce: "18446744073709551615" }, note: "善度" };
    assert.deepEqual(viaWire("GetProofBundle", "response", getProofBundleResponseCodec, bundle), bundle);
  });

  test("StreamAttestedBatches, with and without the destination filter", () => {
    for (const r of [
      { fromLogIndex: 0n },
      { fromLogIndex: U64_MAX, destinationChainId: 0n },
      { fromLogIndex: 3n, destinationChainId: 5n },
    ]) {
      assert.deepEqual(viaWire("StreamAttestedBatches", "request", streamAttestedBatchesRequestCodec, r), r);
    }
    assert.deepEqual(viaWire("StreamAttestedBatches", "response", streamAttestedBatchesResponseCodec, batch), batch);
  });

  test("ListLanes, with a null and a zero last nonce", () => {
    const lanes = [
      { sourceChainId: 1n, destinationChainId: 2n, lastAttestedNonce: null, attestedBatches: 0, pendingBatches: 0, terminated: 0 },
      { sourceChainId: 2n, destinationChainId: 1n, lastAttestedNonce: 0n, attestedBatches: 1, pendingBatches: 2, terminated: 3 },
      {
        sourceChainId: U64_MAX,
        destinationChainId: 1n,
        lastAttestedNonce: U64_MAX,
        attestedBatches: 2 ** 40,
        pendingBatches: 0,
        terminated: 0,
      },
    ];
    assert.deepEqual(viaWire("ListLanes", "response", listLanesResponseCodec, lanes), lanes);
    assert.deepEqual(viaWire("ListLanes", "response", listLanesResponseCodec, []), []);
  });

  test("GetTreeHead", () => {
    const head = {
      treeSize: U64_MAX,
      rootHash: fill(32, 1),
      timestampMs: 1_700_000_000_000n,
      signature: fill(64, 2),
      publicKey: fill(32, 3),
    };
    assert.deepEqual(viaWire("GetTreeHead", "response", getTreeHeadResponseCodec, head), head);
  });

  test("GetInclusionProof and GetConsistencyProof", () => {
    const req = { index: 5n, treeSize: U64_MAX };
    assert.deepEqual(viaWire("GetInclusionProof", "request", getInclusionProofRequestCodec, req), req);
    const proof = { leaf: fill(77, 1), path: [fill(32, 2), fill(32, 3)] };
    assert.deepEqual(viaWire("GetInclusionProof", "response", getInclusionProofResponseCodec, proof), proof);
    const creq = { fromSize: 0n, toSize: U64_MAX };
    assert.deepEqual(viaWire("GetConsistencyProof", "request", getConsistencyProofRequestCodec, creq), creq);
    assert.deepEqual(viaWire("GetConsistencyProof", "response", getConsistencyProofResponseCodec, [fill(32, 9)]), [fill(32, 9)]);
    assert.deepEqual(viaWire("GetConsistencyProof", "response", getConsistencyProofResponseCodec, []), []);
  });

  test("Health", () => {
    for (const h of [
      { ok: true, store: "ok" as const, queue: "ok" as const, queueKind: "jetstream", version: "0.1.0" },
      { ok: false, store: "unavailable" as const, queue: "ok" as const, queueKind: "embedded", version: "" },
    ]) {
      assert.deepEqual(viaWire("Health", "response", healthResponseCodec, h), h);
    }
  });

  test("decoded bytes are plain copies, not views of a pooled Buffer", () => {
    const out = viaWire("SubmitPartial", "request", submitPartialRequestCodec, partial);
    assert.equal(Object.getPrototypeOf(out.signature), Uint8Array.prototype);
    assert.equal(out.signature.byteOffset, 0);
    assert.equal(out.signature.buffer.byteLength, 96);
  });
});

describe("malformed requests are INVALID_REQUEST naming the field", () => {
  const good = () => structuredClone(submitPartialRequestCodec.toPb(partial)) as unknown as Record<string, unknown>;
  const headerOf = (o: Record<string, unknown>) => o.header as Record<string, unknown>;
  const read = (o: unknown) => () => submitPartialRequestCodec.fromPb(o);

  test("not a message at all", () => {
    expectInvalid(read(null), "request");
    expectInvalid(read("x"), "request");
    expectInvalid(read([]), "request");
  });

  test("missing fields", () => {
    for (const field of ["header", "epoch", "member_id", "signature", "messages"]) {
      const o = good();
      delete o[field];
      expectInvalid(read(o), field);
    }
    const o = good();
    delete headerOf(o).root;
    expectInvalid(read(o), "header.root");
    const n = good();
    n.header = null;
    expectInvalid(read(n), "header");
  });

  test("wrong-length bytes", () => {
    const o = good();
    o.signature = fill(95, 1);
    expectInvalid(read(o), "signature");
    const h = good();
    headerOf(h).root = fill(33, 1);
    expectInvalid(read(h), "header.root");
    const s = good();
    s.signature = "0x00";
    expectInvalid(read(s), "signature");
  });

  test("non-numeric and out-of-range uint64", () => {
    for (const bad of ["abc", "", "-1", "01", "1e3", " 1", "18446744073709551616", 1.5, -1, true, {}]) {
      const o = good();
      o.epoch = bad;
      expectInvalid(read(o), "epoch");
      const h = good();
      headerOf(h).last_nonce = bad;
      expectInvalid(read(h), "header.last_nonce");
    }
    const r = getAttestationRequestCodec.toPb({
      sourceChainId: 1n,
      destinationChainId: 2n,
      firstNonce: 3n,
      lastNonce: 4n,
    }) as unknown as Record<string, unknown>;
    expectInvalid(() => getAttestationRequestCodec.fromPb({ ...r, first_nonce: "x" }), "first_nonce");
    expectInvalid(() => getProofBundleRequestCodec.fromPb({ source_chain_id: "1", destination_chain_id: "2", nonce: "0x1" }), "nonce");
    expectInvalid(() => getInclusionProofRequestCodec.fromPb({ index: "1", tree_size: null }), "tree_size");
    expectInvalid(() => getConsistencyProofRequestCodec.fromPb({ from_size: "x", to_size: "1" }), "from_size");
    expectInvalid(
      () => streamAttestedBatchesRequestCodec.fromPb({ from_log_index: "0", destination_chain_id: "x" }),
      "destination_chain_id",
    );
  });

  test("member id: empty, too long in UTF-8, not a string", () => {
    for (const bad of ["", "善".repeat(22), 7]) {
      const o = good();
      o.member_id = bad;
      expectInvalid(read(o), "member_id");
    }
  });

  test("messages: not a list, an entry not bytes", () => {
    const o = good();
    o.messages = fill(3, 1);
    expectInvalid(read(o), "messages");
    const e = good();
    e.messages = [fill(3, 1), "zz"];
    expectInvalid(read(e), "messages[1]");
  });
});

describe("malformed responses are refused the same way", () => {
  const goodBatch = () => structuredClone(getAttestationResponseCodec.toPb(batch)) as unknown as { batch: Record<string, unknown> };

  test("attestation fields", () => {
    const o = goodBatch();
    (o.batch.attestation as Record<string, unknown>).signature = fill(48, 1);
    expectInvalid(() => getAttestationResponseCodec.fromPb(o), "batch.attestation.signature");
    const e = goodBatch();
    (e.batch.attestation as Record<string, unknown>).signers = new Uint8Array(0);
    expectInvalid(() => getAttestationResponseCodec.fromPb(e), "batch.attestation.signers");
    const m = goodBatch();
    m.batch.attestation = undefined;
    expectInvalid(() => getAttestationResponseCodec.fromPb(m), "batch.attestation");
  });

  test("committees_json: not JSON, wrong shape, a bad committee field", () => {
    for (const bad of ["{", "[]", '{"genesis":{}}', "7"]) {
      const o = goodBatch();
      o.batch.committees_json = bad;
      assert.throws(
        () => getAttestationResponseCodec.fromPb(o),
        (e: unknown) =>
          e instanceof GatewayError && e.code === "INVALID_REQUEST" && String(e.facts.field).startsWith("batch.committees_json"),
      );
    }
    const o = goodBatch();
    const json = JSON.parse(o.batch.committees_json as string);
    json.genesis.members[0].blsPublicKey = "0x00";
    o.batch.committees_json = JSON.stringify(json);
    assert.throws(
      () => getAttestationResponseCodec.fromPb(o),
      (e: unknown) =>
        e instanceof GatewayError &&
        e.facts.field === "batch.committees_json" &&
        e.facts.path === "genesis.members[0].blsPublicKey" &&
        e.cause instanceof BundleError,
    );
  });

  test("bundle_json must be a JSON object", () => {
    for (const bad of ["", "nope", "[1]", "null", 3]) {
      expectInvalid(() => getProofBundleResponseCodec.fromPb({ bundle_json: bad }), "bundle_json");
    }
  });

  test("proof nodes are 32 bytes; enums are known; counts fit a number", () => {
    expectInvalid(() => getInclusionProofResponseCodec.fromPb({ leaf: fill(1, 1), path: [fill(31, 1)] }), "path[0]");
    expectInvalid(() => getConsistencyProofResponseCodec.fromPb({ proof: [fill(32, 1), fill(64, 1)] }), "proof[1]");
    expectInvalid(() => submitPartialResponseCodec.fromPb({ status: "SUBMIT_PARTIAL_STATUS_UNSPECIFIED" }), "status");
    expectInvalid(
      () => healthResponseCodec.fromPb({ ok: true, store: 7, queue: "COMPONENT_STATUS_OK", queue_kind: "", version: "" }),
      "store",
    );
    expectInvalid(
      () =>
        listLanesResponseCodec.fromPb({
          lanes: [
            {
              source_chain_id: "1",
              destination_chain_id: "2",
              attested_batches: "9007199254740993",
              pending_batches: "0",
              terminated: "0",
            },
          ],
        }),
      "lanes[0].attested_batches",
    );
    expectInvalid(
      () =>
        getTreeHeadResponseCodec.fromPb({
          tree_head: {
            ...getTreeHeadResponseCodec.toPb({
              treeSize: 1n,
              rootHash: fill(32, 1),
              timestampMs: 1n,
              signature: fill(64, 1),
              publicKey: fill(32, 1),
            }).tree_head,
            public_key: fill(33, 1),
          },
        }),
      "tree_head.public_key",
    );
  });
});

describe("errors", () => {
  test("a GatewayError is reported as itself", () => {
    const e = new GatewayError("EQUIVOCATION", "member signed two roots", { facts: { memberId: "m1", firstNonce: 5n } });
    assert.equal(gatewayErrorOf(e), e);
  });

  test("other ShanduErrors: own code when it is a gateway code, else by disposition", () => {
    const schema = gatewayErrorOf(new BundleError("SCHEMA", "bad", { facts: { path: "x.y" } }));
    assert.equal(schema?.code, "INVALID_REQUEST");
    assert.deepEqual(schema?.facts, { path: "x.y", cause: "BundleError.SCHEMA" });
    assert.equal(gatewayErrorOf(new ShanduError("DB_DOWN", "store unreachable", { disposition: "retry" }))?.code, "UNAVAILABLE");
    const nf = gatewayErrorOf(new ShanduError("NOT_FOUND", "nothing", { facts: { nonce: 3n }, disposition: "retry" }));
    assert.equal(nf?.code, "NOT_FOUND");
    assert.deepEqual(nf?.facts, { nonce: 3n });
  });

  test("anything else is unexpected", () => {
    assert.equal(gatewayErrorOf(new Error("boom")), undefined);
    assert.equal(gatewayErrorOf("boom"), undefined);
  });

  test("facts travel as printable-ASCII JSON and come back", () => {
    const text = factsToJson({ memberId: "上海-1", firstNonce: U64_MAX, ok: true, n: 3, none: null, gone: undefined });
    assert.match(text, /^[\x20-\x7e]*$/);
    assert.deepEqual(factsFromJson(text), { memberId: "上海-1", firstNonce: "18446744073709551615", ok: true, n: 3, none: null });
  });

  test("unreadable facts yield none", () => {
    for (const bad of [undefined, 7, "{", "[1]", "null", "x".repeat(5000)]) assert.deepEqual(factsFromJson(bad), {});
    assert.deepEqual(factsFromJson('{"a":{"b":1},"c":"d"}'), { c: "d" });
    assert.equal(factsToJson({ big: "x".repeat(5000) }), '{"truncated":true}');
  });
});
