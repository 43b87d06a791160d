/**
 * The read-only HTTP/JSON API over a real socket, with a fake GatewayApi behind it: every route, the
 * JSON forms (0x hex, decimal u64), error bodies and statuses from the gateway table, 404/405, health
 * as 200/503, Prometheus metrics, and no stack traces in answers.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Committee } from "@shandu/proofs";
import type { AttestedBatch, GatewayApi, HealthStatus, LaneStatus, SignedTreeHead } from "../api.ts";
import { GatewayError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { createGatewayMetrics, createRelayerMetrics, laneLabel } from "../metrics.ts";
import { attestedBatchFromJson } from "../wire.ts";
import type { RunningServer } from "./grpcServer.ts";
import { parseListen, startHttpServer } from "./httpServer.ts";

const U64_MAX = 18446744073709551615n;
const fill = (n: number, b: number) => new Uint8Array(n).fill(b);
const hex = (n: number, b: number) => `0x${b.toString(16).padStart(2, "0").repeat(n)}`;

const committee: Committee = {
  epoch: 0n,
  members: [{ id: "m1", group: "g", weight: 1, blsPublicKey: fill(48, 1), proofOfPossession: fill(96, 2), nativeKeys: [] }],
  policy: { threshold: { numerator: 2, denominator: 3 }, groups: [] },
};
const BATCH: AttestedBatch = {
  header: { sourceChainId: 1n, destinationChainId: U64_MAX, firstNonce: 4n, lastNonce: 5n, root: fill(32, 9) },
  attestation: { epoch: 0n, committeeSetHash: fill(32, 4), signers: Uint8Array.of(1), signature: fill(96, 5) },
  messages: [fill(3, 1), fill(4, 2)],
  committees: { genesis: committee, rotations: [] },
  logIndex: 17n,
};
const LANES: LaneStatus[] = [
  { sourceChainId: 1n, destinationChainId: U64_MAX, lastAttestedNonce: 5n, attestedBatches: 2, pendingBatches: 1, terminated: 0 },
  { sourceChainId: 2n, destinationChainId: 1n, lastAttestedNonce: null, attestedBatches: 0, pendingBatches: 0, terminated: 3 },
];
const HEAD: SignedTreeHead = {
  treeSize: 18n,
  rootHash: fill(32, 1),
  timestampMs: 1_700_000_000_123n,
  signature: fill(64, 2),
  publicKey: fill(32, 3),
};
const SECRET = "password=hunter2";

/** A test double of the gateway for the read-only routes. */
function fakeGatewayApi(): GatewayApi & { healthy: boolean } {
  const fake = {
    healthy: true,
    async submitPartial(): Promise<never> {
      throw new GatewayError("INVALID_REQUEST", "not over HTTP");
    },
    async getAttestation(ref: { firstNonce: bigint; lastNonce: bigint }) {
      if (ref.firstNonce !== BATCH.header.firstNonce || ref.lastNonce !== BATCH.header.lastNonce) {
        throw new GatewayError("NOT_FOUND", "batch is not attested", { facts: { firstNonce: ref.firstNonce, lastNonce: ref.lastNonce } });
      }
      return BATCH;
    },
    async getProofBundle(ref: { sourceChainId: bigint; nonce: bigint }) {
      if (ref.nonce === 500n) {
        const e = new TypeError(SECRET);
        e.stack = `TypeError: ${SECRET}\n    at x (/srv/gateway/store.ts:1:1)`;
        throw e;
      }
      if (ref.nonce === 409n)
        throw new GatewayError("EQUIVOCATION", "member signed two roots", { facts: { memberId: "m1", nonce: U64_MAX } });
      return { format: "shandu-proof-bundle", version: 1, source: ref.sourceChainId.toString(), nonce: ref.nonce.toString() };
    },
    async *streamAttestedBatches(): AsyncGenerator<AttestedBatch> {},
    async listLanes() {
      return LANES;
    },
    async treeHead() {
      return HEAD;
    },
    async inclusionProof(index: bigint, treeSize: bigint) {
      if (index >= treeSize) throw new GatewayError("INVALID_REQUEST", "index beyond the tree", { facts: { field: "index" } });
      return { leaf: fill(5, 7), path: [fill(32, 1), fill(32, 2)] };
    },
    async consistencyProof(_from: bigint, _to: bigint) {
      return [fill(32, 3)];
    },
    async health(): Promise<HealthStatus> {
      return { ok: fake.healthy, store: fake.healthy ? "ok" : "unavailable", queue: "ok", queueKind: "jetstream", version: "0.1.0" };
    },
  };
  return fake;
}

describe("HTTP API", () => {
  const fake = fakeGatewayApi();
  const metrics = createGatewayMetrics();
  const logLines: string[] = [];
  let server: RunningServer;
  let base: string;

  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(base + path, init);
    const text = await res.text();
    return { res, text, body: res.headers.get("content-type")?.startsWith("application/json") ? JSON.parse(text) : undefined };
  };

  before(async () => {
    server = await startHttpServer(fake, {
      listen: "127.0.0.1:0",
      metrics: () => metrics.render(),
      log: createLogger({ component: "test", sink: (l) => logLines.push(l) }),
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.close());

  test("GET /v1/lanes", async () => {
    const { res, body } = await get("/v1/lanes");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
    assert.deepEqual(body, {
      lanes: [
        {
          sourceChainId: "1",
          destinationChainId: "18446744073709551615",
          lastAttestedNonce: "5",
          attestedBatches: 2,
          pendingBatches: 1,
          terminated: 0,
        },
        { sourceChainId: "2", destinationChainId: "1", lastAttestedNonce: null, attestedBatches: 0, pendingBatches: 0, terminated: 3 },
      ],
    });
  });

  test("GET a message's bundle", async () => {
    const { res, body } = await get("/v1/lanes/1/18446744073709551615/messages/7/bundle");
    assert.equal(res.status, 200);
    assert.deepEqual(body, { format: "shandu-proof-bundle", version: 1, source: "1", nonce: "7" });
  });

  test("GET an attested batch: the wire JSON, which reads back to the same batch", async () => {
    const { res, body } = await get("/v1/lanes/1/18446744073709551615/batches/4/5");
    assert.equal(res.status, 200);
    assert.equal(body.batch.destinationChainId, "18446744073709551615");
    assert.equal(body.attestation.signature, hex(96, 5));
    assert.deepEqual(attestedBatchFromJson(body), BATCH);
  });

  test("GET the log head and proofs", async () => {
    assert.deepEqual((await get("/v1/log/head")).body, {
      treeSize: "18",
      rootHash: hex(32, 1),
      timestampMs: "1700000000123",
      signature: hex(64, 2),
      publicKey: hex(32, 3),
    });
    assert.deepEqual((await get("/v1/log/inclusion?index=3&treeSize=18")).body, {
      index: "3",
      treeSize: "18",
      leaf: hex(5, 7),
      path: [hex(32, 1), hex(32, 2)],
    });
    assert.deepEqual((await get("/v1/log/consistency?from=2&to=18")).body, { from: "2", to: "18", proof: [hex(32, 3)] });
  });

  test("GET /healthz is 200 when ok and 503 when not", async () => {
    const ok = await get("/healthz");
    assert.equal(ok.res.status, 200);
    assert.deepEqual(ok.body, { ok: true, store: "ok", queue: "ok", queueKind: "jetstream", version: "0.1.0" });
    fake.healthy = false;
    try {
      const down = await get("/healthz");
      assert.equal(down.res.status, 503);
      assert.equal(down.body.store, "unavailable");
    } finally {
      fake.healthy = true;
    }
  });

  test("GET /metrics is Prometheus text", async () => {
    metrics.observe({ type: "partial", result: "accepted" });
    metrics.observe({ type: "partial", result: "rejected", code: "BAD_SIGNATURE" });
    metrics.observe({ type: "attested", lane: laneLabel(1n, 2n), latencyMs: 1500 });
    metrics.equivocations.inc();
    const { res, text } = await get("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    assert.match(text, /^shandu_gateway_partials_received_total\{result="accepted"\} 1$/m);
    assert.match(text, /^shandu_gateway_partials_received_total\{result="bad_signature"\} 1$/m);
    assert.match(text, /^shandu_gateway_batches_attested_total\{lane="1:2"\} 1$/m);
    assert.match(text, /^shandu_gateway_attestation_latency_seconds_bucket\{le="2.5"\} 1$/m);
    assert.match(text, /^shandu_gateway_equivocations_total 1$/m);
    assert.match(text, /^# TYPE shandu_gateway_queue_publish_total counter$/m);
  });

  test("gateway errors: status from the table, code, message and facts in the body", async () => {
    const nf = await get("/v1/lanes/1/2/batches/6/9");
    assert.equal(nf.res.status, 404);
    assert.deepEqual(nf.body, {
      error: { code: "NOT_FOUND", message: "batch is not attested", facts: { firstNonce: "6", lastNonce: "9" } },
    });
    const eq = await get("/v1/lanes/1/2/messages/409/bundle");
    assert.equal(eq.res.status, 409);
    assert.deepEqual(eq.body.error, {
      code: "EQUIVOCATION",
      message: "member signed two roots",
      facts: { memberId: "m1", nonce: "18446744073709551615" },
    });
  });

  test("malformed parameters are 400 INVALID_REQUEST naming the field", async () => {
    const cases: [string, string][] = [
      ["/v1/lanes/x/2/messages/1/bundle", "sourceChainId"],
      ["/v1/lanes/1/-2/messages/1/bundle", "destinationChainId"],
      ["/v1/lanes/1/2/messages/18446744073709551616/bundle", "nonce"],
      ["/v1/lanes/1/2/batches/01/2", "firstNonce"],
      ["/v1/lanes/1/2/batches/1/0x2", "lastNonce"],
      ["/v1/log/inclusion?index=1", "treeSize"],
      ["/v1/log/inclusion?index=&treeSize=3", "index"],
      ["/v1/log/consistency?from=1&to=1.5", "to"],
      ["/v1/log/inclusion?index=5&treeSize=3", "index"],
    ];
    for (const [path, field] of cases) {
      const { res, body } = await get(path);
      assert.equal(res.status, 400, path);
      assert.equal(body.error.code, "INVALID_REQUEST", path);
      assert.equal(body.error.facts.field, field, path);
    }
  });

  test("unknown routes are 404, other methods than GET 405", async () => {
    for (const path of ["/", "/v1", "/v1/lanes/", "/v1/lanes/1/2/messages/3", "/v2/lanes", "/healthz/x"]) {
      const { res, body } = await get(path);
      assert.equal(res.status, 404, path);
      assert.equal(body.error.code, "NO_ROUTE");
    }
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const { res, body } = await get("/v1/lanes", { method, body: method === "DELETE" ? null : "{}" });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get("allow"), "GET");
      assert.equal(body.error.code, "METHOD_NOT_ALLOWED");
    }
    assert.equal((await get("/nowhere", { method: "POST", body: "{}" })).res.status, 404);
  });

  test("an unexpected error is 500 INTERNAL with nothing of the error in the answer", async () => {
    const { res, text, body } = await get("/v1/lanes/1/2/messages/500/bundle");
    assert.equal(res.status, 500);
    assert.deepEqual(body, { error: { code: "INTERNAL", message: "internal error", facts: {} } });
    assert.ok(!text.includes("hunter2") && !text.includes("/srv/") && !text.includes("TypeError"));
    assert.ok(logLines.some((l) => l.includes("http.internal_error") && l.includes("hunter2")));
  });
});

describe("HTTP server options", () => {
  test("without a metrics renderer /metrics is 404", async () => {
    const server = await startHttpServer(fakeGatewayApi(), { listen: "127.0.0.1:0" });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      assert.equal(res.status, 404);
      await res.body?.cancel();
    } finally {
      await server.close();
    }
  });

  test("a failing health check is 503 with the error", async () => {
    const api: GatewayApi = {
      ...fakeGatewayApi(),
      health: async () => {
        throw new GatewayError("UNAVAILABLE", "store unreachable", { facts: { store: "postgres" } });
      },
    };
    const server = await startHttpServer(api, { listen: "127.0.0.1:0" });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      assert.equal(res.status, 503);
      assert.deepEqual(await res.json(), { error: { code: "UNAVAILABLE", message: "store unreachable", facts: { store: "postgres" } } });
    } finally {
      await server.close();
    }
  });

  test("close() returns while a keep-alive connection is open", async () => {
    const server = await startHttpServer(fakeGatewayApi(), { listen: "127.0.0.1:0" });
    const res = await fetch(`http://127.0.0.1:${server.port}/v1/lanes`);
    await res.text();
    await server.close();
    await assert.rejects(fetch(`http://127.0.0.1:${server.port}/v1/lanes`));
  });

  test("listen addresses", async () => {
    assert.deepEqual(parseListen("0.0.0.0:8080"), { host: "0.0.0.0", port: 8080 });
    assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0 });
    assert.deepEqual(parseListen(":9000"), { host: undefined, port: 9000 });
    for (const bad of ["8080", "host:", "host:99999", "a:b:1"]) {
      assert.throws(
        () => parseListen(bad),
        (e: unknown) => e instanceof GatewayError && e.code === "INVALID_REQUEST",
      );
    }
    const server = await startHttpServer(fakeGatewayApi(), { listen: "127.0.0.1:0" });
    try {
      await assert.rejects(
        startHttpServer(fakeGatewayApi(), { listen: `127.0.0.1:${server.port}` }),
        (e: unknown) => e instanceof GatewayError && e.code === "UNAVAILABLE",
      );
    } finally {
      await server.close();
    }
  });
});

describe("relayer metrics", () => {
  test("count deliveries by lane and result, messages and latency", async () => {
    const m = createRelayerMetrics();
    m.observe({ type: "delivered", lane: "a:b", executed: 3, ms: 250 });
    m.observe({ type: "retry", lane: "a:b" });
    const text = await m.render();
    assert.match(text, /^shandu_relayer_deliveries_total\{lane="a:b",result="delivered"\} 1$/m);
    assert.match(text, /^shandu_relayer_deliveries_total\{lane="a:b",result="retry"\} 1$/m);
    assert.match(text, /^shandu_relayer_messages_delivered_total\{lane="a:b"\} 3$/m);
    assert.match(text, /^shandu_relayer_delivery_latency_seconds_count 1$/m);
  });
});
