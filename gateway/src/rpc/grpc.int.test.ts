/**
 * The gRPC server and client against each other over real sockets, with a fake GatewayApi behind the
 * server: every method round-trips, errors keep their code and facts both ways, unexpected errors leak
 * nothing, streams stop when the client cancels and end with CLOSED when the server shuts down, and TLS
 * and mutual TLS admit exactly the clients they should.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { BundleError, type Committee } from "@shandu/proofs";
import type { AttestedBatch, GatewayApi, HealthStatus, LaneStatus, SignedTreeHead, SubmitPartialRequest } from "../api.ts";
import { GatewayError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { connectGateway, type GatewayClient } from "./grpcClient.ts";
import { type RunningServer, startGrpcServer } from "./grpcServer.ts";

const U64_MAX = 18446744073709551615n;
const fill = (n: number, b: number) => new Uint8Array(n).fill(b);

const committee = (epoch: bigint): Committee => ({
  epoch,
  members: [{ id: "m1", group: "g", weight: 1, blsPublicKey: fill(48, 1), proofOfPossession: fill(96, 2), nativeKeys: [] }],
  policy: { threshold: { numerator: 2, denominator: 3 }, groups: [] },
});

const batchAt = (logIndex: bigint, destinationChainId: bigint): AttestedBatch => ({
  header: { sourceChainId: 1n, destinationChainId, firstNonce: logIndex, lastNonce: logIndex, root: fill(32, Number(logIndex)) },
  attestation: { epoch: 0n, committeeSetHash: fill(32, 4), signers: Uint8Array.of(1), signature: fill(96, 5) },
  messages: [fill(20, Number(logIndex))],
  committees: { genesis: committee(0n), rotations: [] },
  logIndex,
});

const LANES: LaneStatus[] = [
  { sourceChainId: 1n, destinationChainId: 2n, lastAttestedNonce: 9n, attestedBatches: 3, pendingBatches: 1, terminated: 0 },
  { sourceChainId: 2n, destinationChainId: U64_MAX, lastAttestedNonce: null, attestedBatches: 0, pendingBatches: 0, terminated: 2 },
];
const HEAD: SignedTreeHead = {
  treeSize: 10n,
  rootHash: fill(32, 1),
  timestampMs: 1_700_000_000_123n,
  signature: fill(64, 2),
  publicKey: fill(32, 3),
};
const HEALTH: HealthStatus = { ok: true, store: "ok", queue: "unavailable", queueKind: "embedded", version: "0.1.0-test" };
const SECRET = "password=hunter2 at /srv/secret/db.conf";

/** A test double of the gateway: canned answers, recorded arguments, scripted failures. */
interface FakeGatewayApi extends GatewayApi {
  submitted: SubmitPartialRequest[];
  /** Signals of the streams the fake served, in order. */
  streamSignals: AbortSignal[];
  /** How many batches the stream sends before it waits for new ones (forever). */
  streamLength: number;
}

function fakeGatewayApi(): FakeGatewayApi {
  const fake: FakeGatewayApi = {
    submitted: [],
    streamSignals: [],
    streamLength: 5,
    async submitPartial(req) {
      fake.submitted.push(req);
      if (req.memberId === "equivocator") {
        throw new GatewayError("EQUIVOCATION", "member signed two roots", { facts: { memberId: req.memberId, firstNonce: U64_MAX } });
      }
      return { status: fake.submitted.length === 1 ? "accepted" : "attested" };
    },
    async getAttestation(ref) {
      if (ref.firstNonce === 404n) throw new GatewayError("NOT_FOUND", "batch is not attested", { facts: { firstNonce: ref.firstNonce } });
      const b = batchAt(ref.firstNonce, ref.destinationChainId);
      return { ...b, header: { ...b.header, lastNonce: ref.lastNonce } };
    },
    async getProofBundle(ref) {
      if (ref.nonce === 500n) {
        const e = new Error(SECRET);
        e.stack = `Error: ${SECRET}\n    at query (/srv/gateway/store.ts:1:1)`;
        throw e;
      }
      if (ref.nonce === 400n) throw new BundleError("SCHEMA", "message.kind: expected a kind", { facts: { path: "message.kind" } });
      return { format: "shandu-proof-bundle", version: 1, nonce: ref.nonce.toString(), note: "善度" };
    },
    async *streamAttestedBatches(opts) {
      fake.streamSignals.push(opts.signal);
      let sent = 0;
      for (let i = opts.fromLogIndex; sent < fake.streamLength; i++) {
        const dst = i % 2n === 0n ? 2n : 3n;
        if (opts.destinationChainId !== undefined && dst !== opts.destinationChainId) continue;
        yield batchAt(i, dst);
        sent++;
      }
      // No new attestations: wait until the caller goes away, as the real service does.
      await new Promise<void>((resolve) => opts.signal.addEventListener("abort", () => resolve(), { once: true }));
    },
    async listLanes() {
      return LANES;
    },
    async treeHead() {
      return HEAD;
    },
    async inclusionProof(index, treeSize) {
      if (index >= treeSize) throw new GatewayError("INVALID_REQUEST", "index beyond tree", { facts: { field: "index" } });
      return { leaf: fill(40, Number(index)), path: [fill(32, 1), fill(32, Number(treeSize % 256n))] };
    },
    async consistencyProof(fromSize, toSize) {
      return fromSize === toSize ? [] : [fill(32, 7), fill(32, 8), fill(32, 9)];
    },
    async health() {
      return HEALTH;
    },
  };
  return fake;
}

const partial = (memberId: string, signature = fill(96, 1)): SubmitPartialRequest => ({
  header: { sourceChainId: 1n, destinationChainId: 2n, firstNonce: 0n, lastNonce: 1n, root: fill(32, 9) },
  epoch: U64_MAX,
  memberId,
  signature,
  messages: [fill(10, 1), fill(11, 2)],
});

async function expectGatewayError(p: Promise<unknown>, code: string, check?: (e: GatewayError) => void): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof GatewayError, `expected a GatewayError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    check?.(e);
    return e;
  }
  assert.fail(`expected ${code}`);
}

const grpcCodeOf = (e: GatewayError): number | undefined => (e.cause as Partial<grpc.ServiceError> | undefined)?.code;

async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("gRPC over plaintext", () => {
  const fake = fakeGatewayApi();
  const logLines: string[] = [];
  let server: RunningServer;
  let client: GatewayClient;

  before(async () => {
    server = await startGrpcServer(fake, {
      listen: "127.0.0.1:0",
      log: createLogger({ component: "test", sink: (l) => logLines.push(l) }),
    });
    client = connectGateway({ address: `127.0.0.1:${server.port}`, deadlineMs: 5000 });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  test("binds a free port", () => assert.ok(server.port > 0));

  test("SubmitPartial round-trips the request and the status", async () => {
    const req = partial("上海-member");
    assert.deepEqual(await client.submitPartial(req), { status: "accepted" });
    assert.deepEqual(fake.submitted.at(-1), req);
    assert.deepEqual(await client.submitPartial(req), { status: "attested" });
  });

  test("GetAttestation", async () => {
    const ref = { sourceChainId: 1n, destinationChainId: U64_MAX, firstNonce: 6n, lastNonce: 8n };
    const got = await client.getAttestation(ref);
    assert.deepEqual(got, await fake.getAttestation(ref));
  });

  test("GetProofBundle", async () => {
    assert.deepEqual(await client.getProofBundle({ sourceChainId: 1n, destinationChainId: 2n, nonce: U64_MAX }), {
      format: "shandu-proof-bundle",
      version: 1,
      nonce: "18446744073709551615",
      note: "善度",
    });
  });

  test("ListLanes, GetTreeHead, proofs and Health", async () => {
    assert.deepEqual(await client.listLanes(), LANES);
    assert.deepEqual(await client.treeHead(), HEAD);
    assert.deepEqual(await client.inclusionProof(3n, 300n), await fake.inclusionProof(3n, 300n));
    assert.deepEqual(await client.consistencyProof(2n, 5n), await fake.consistencyProof(2n, 5n));
    assert.deepEqual(await client.consistencyProof(5n, 5n), []);
    assert.deepEqual(await client.health(), HEALTH);
  });

  test("a gateway error keeps its code, status and facts across the wire", async () => {
    const e = await expectGatewayError(client.submitPartial(partial("equivocator")), "EQUIVOCATION");
    assert.equal(grpcCodeOf(e), grpc.status.FAILED_PRECONDITION);
    assert.equal(e.shortMessage, "member signed two roots");
    assert.deepEqual(e.facts, { memberId: "equivocator", firstNonce: "18446744073709551615" });
    assert.equal(e.disposition, "reject");

    const nf = await expectGatewayError(
      client.getAttestation({ sourceChainId: 1n, destinationChainId: 2n, firstNonce: 404n, lastNonce: 404n }),
      "NOT_FOUND",
    );
    assert.equal(grpcCodeOf(nf), grpc.status.NOT_FOUND);
    assert.deepEqual(nf.facts, { firstNonce: "404" });
    assert.equal(nf.disposition, "retry");
  });

  test("another ShanduError is mapped by the table too", async () => {
    const e = await expectGatewayError(
      client.getProofBundle({ sourceChainId: 1n, destinationChainId: 2n, nonce: 400n }),
      "INVALID_REQUEST",
    );
    assert.equal(grpcCodeOf(e), grpc.status.INVALID_ARGUMENT);
    assert.deepEqual(e.facts, { path: "message.kind", cause: "BundleError.SCHEMA" });
  });

  test("a malformed request is refused by the server before the api sees it", async () => {
    const before = fake.submitted.length;
    const e = await expectGatewayError(client.submitPartial(partial("m1", fill(95, 1))), "INVALID_REQUEST");
    assert.equal(grpcCodeOf(e), grpc.status.INVALID_ARGUMENT);
    assert.equal(e.facts.field, "signature");
    assert.equal(fake.submitted.length, before);
    await expectGatewayError(client.submitPartial({ ...partial("m1"), memberId: "" }), "INVALID_REQUEST", (x) =>
      assert.equal(x.facts.field, "member_id"),
    );
  });

  test("an unexpected server error is INTERNAL with no message or stack", async () => {
    const e = await expectGatewayError(client.getProofBundle({ sourceChainId: 1n, destinationChainId: 2n, nonce: 500n }), "UNAVAILABLE");
    const se = e.cause as grpc.ServiceError;
    assert.equal(se.code, grpc.status.INTERNAL);
    assert.equal(se.details, "internal error");
    assert.deepEqual(e.facts, { grpcStatus: "INTERNAL" });
    const everything = JSON.stringify({ m: e.message, d: se.details, md: se.metadata.getMap(), s: e.stack });
    assert.ok(!everything.includes("hunter2") && !everything.includes("/srv/"), everything);
    // The operator still gets the details, in the server's log.
    assert.ok(logLines.some((l) => l.includes("grpc.internal_error") && l.includes("hunter2") && l.includes("store.ts:1:1")));
  });

  test("the raw status carries the code and facts metadata", async () => {
    const raw = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    try {
      const { gatewayServiceDefinition, submitPartialRequestCodec } = await import("./convert.ts");
      const def = gatewayServiceDefinition().SubmitPartial;
      const err = await new Promise<grpc.ServiceError>((resolve) => {
        raw.makeUnaryRequest(
          def.path,
          def.requestSerialize,
          def.responseDeserialize,
          submitPartialRequestCodec.toPb(partial("equivocator")),
          (e) => {
            if (e) resolve(e);
          },
        );
      });
      assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
      assert.deepEqual(err.metadata.get("shandu-error-code"), ["EQUIVOCATION"]);
      assert.deepEqual(JSON.parse(String(err.metadata.get("shandu-error-facts")[0])), {
        memberId: "equivocator",
        firstNonce: "18446744073709551615",
      });
    } finally {
      raw.close();
    }
  });

  test("a stream sends batches in order, filtered, and stops when the client aborts", async () => {
    const ac = new AbortController();
    const got: AttestedBatch[] = [];
    const signalsBefore = fake.streamSignals.length;
    for await (const b of client.streamAttestedBatches({ fromLogIndex: 10n, destinationChainId: 2n, signal: ac.signal })) {
      got.push(b);
      if (got.length === 3) ac.abort();
    }
    assert.deepEqual(
      got.map((b) => b.logIndex),
      [10n, 12n, 14n],
    );
    assert.deepEqual(got[0], batchAt(10n, 2n));
    const serverSignal = fake.streamSignals[signalsBefore];
    assert.ok(serverSignal);
    await waitFor(() => serverSignal.aborted, "the server to abort the api stream");
  });

  test("a stream that waits for new batches is cancelled by an abort, and so is one the consumer leaves", async () => {
    const ac = new AbortController();
    const signalsBefore = fake.streamSignals.length;
    const seen: bigint[] = [];
    const done = (async () => {
      for await (const b of client.streamAttestedBatches({ fromLogIndex: 0n, signal: ac.signal })) seen.push(b.logIndex);
    })();
    await waitFor(() => seen.length === fake.streamLength, "all batches");
    ac.abort();
    await done;
    await waitFor(() => fake.streamSignals[signalsBefore]?.aborted === true, "server-side abort");

    for await (const _ of client.streamAttestedBatches({ fromLogIndex: 0n, signal: new AbortController().signal })) break;
    await waitFor(() => fake.streamSignals[signalsBefore + 1]?.aborted === true, "server-side abort after break");
  });

  test("an already aborted signal yields nothing", async () => {
    const ac = new AbortController();
    ac.abort();
    for await (const _ of client.streamAttestedBatches({ fromLogIndex: 0n, signal: ac.signal })) assert.fail("no batch expected");
  });

  test("deadline exceeded is UNAVAILABLE", async () => {
    const slow: GatewayApi = { ...fake, health: () => new Promise((r) => setTimeout(() => r(HEALTH), 500)) };
    const s = await startGrpcServer(slow, { listen: "127.0.0.1:0" });
    const c = connectGateway({ address: `127.0.0.1:${s.port}`, deadlineMs: 100 });
    try {
      await expectGatewayError(c.health(), "UNAVAILABLE", (e) => assert.equal(e.facts.grpcStatus, "DEADLINE_EXCEEDED"));
    } finally {
      await c.close();
      await s.close();
    }
  });
});

describe("gRPC lifecycle and transport failures", () => {
  test("closing the server ends open streams with CLOSED", async () => {
    const fake = fakeGatewayApi();
    const server = await startGrpcServer(fake, { listen: "127.0.0.1:0" });
    const client = connectGateway({ address: `127.0.0.1:${server.port}` });
    try {
      const seen: bigint[] = [];
      const done = (async () => {
        for await (const b of client.streamAttestedBatches({ fromLogIndex: 0n, signal: new AbortController().signal }))
          seen.push(b.logIndex);
      })();
      await waitFor(() => seen.length === fake.streamLength, "all batches");
      const closed = server.close();
      await expectGatewayError(done, "CLOSED", (e) => assert.equal(grpcCodeOf(e), grpc.status.UNAVAILABLE));
      await closed;
      assert.equal(fake.streamSignals[0]?.aborted, true);
    } finally {
      await client.close();
      await server.close();
    }
  });

  test("nothing listening is UNAVAILABLE", async () => {
    const server = await startGrpcServer(fakeGatewayApi(), { listen: "127.0.0.1:0" });
    const port = server.port;
    await server.close();
    const client = connectGateway({ address: `127.0.0.1:${port}`, deadlineMs: 2000 });
    try {
      await expectGatewayError(client.health(), "UNAVAILABLE", (e) => assert.equal(typeof e.facts.grpcStatus, "string"));
      await expectGatewayError(
        (async () => {
          for await (const _ of client.streamAttestedBatches({ fromLogIndex: 0n, signal: new AbortController().signal })) assert.fail();
        })(),
        "UNAVAILABLE",
      );
    } finally {
      await client.close();
    }
  });

  test("a port in use cannot be bound", async () => {
    const server = await startGrpcServer(fakeGatewayApi(), { listen: "127.0.0.1:0" });
    try {
      await expectGatewayError(startGrpcServer(fakeGatewayApi(), { listen: `127.0.0.1:${server.port}` }), "UNAVAILABLE");
    } finally {
      await server.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// TLS

const OPENSSL_SKIP = spawnSync("openssl", ["version"]).status === 0 ? false : "the openssl CLI is not installed";

/** A throwaway CA, a server certificate for localhost, a client certificate, and a client from another CA. */
function makeCertificates(
  dir: string,
): Record<"ca" | "serverCert" | "serverKey" | "clientCert" | "clientKey" | "rogueCert" | "rogueKey", string> {
  const p = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const newCa = (name: string) => {
    openssl(
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.pem`),
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    );
  };
  const issue = (name: string, ca: string, ext: string) => {
    openssl(
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-subj",
      `/CN=${name}`,
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.csr`),
    );
    writeFileSync(p(`${name}.ext`), ext);
    openssl(
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      "-CA",
      p(`${ca}.pem`),
      "-CAkey",
      p(`${ca}.key`),
      "-CAcreateserial",
      "-days",
      "1",
      "-out",
      p(`${name}.pem`),
      "-extfile",
      p(`${name}.ext`),
    );
  };
  newCa("ca");
  newCa("rogue-ca");
  issue("server", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  issue("client", "ca", "extendedKeyUsage=clientAuth\n");
  issue("rogue", "rogue-ca", "extendedKeyUsage=clientAuth\n");
  return {
    ca: p("ca.pem"),
    serverCert: p("server.pem"),
    serverKey: p("server.key"),
    clientCert: p("client.pem"),
    clientKey: p("client.key"),
    rogueCert: p("rogue.pem"),
    rogueKey: p("rogue.key"),
  };
}

describe("gRPC over TLS", { skip: OPENSSL_SKIP }, () => {
  let dir: string;
  let certs: ReturnType<typeof makeCertificates>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "shandu-grpc-tls-"));
    certs = makeCertificates(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("server TLS: a client trusting the CA connects; a plaintext client does not", async () => {
    const server = await startGrpcServer(fakeGatewayApi(), {
      listen: "127.0.0.1:0",
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey },
    });
    const good = connectGateway({ address: `localhost:${server.port}`, tls: { caFile: certs.ca }, deadlineMs: 5000 });
    const plain = connectGateway({ address: `localhost:${server.port}`, deadlineMs: 2000 });
    const wrongCa = connectGateway({ address: `localhost:${server.port}`, tls: { caFile: join(dir, "rogue-ca.pem") }, deadlineMs: 2000 });
    try {
      assert.deepEqual(await good.health(), HEALTH);
      assert.deepEqual(await good.listLanes(), LANES);
      await expectGatewayError(plain.health(), "UNAVAILABLE");
      await expectGatewayError(wrongCa.health(), "UNAVAILABLE", (e) => assert.match(e.message, /certificate/i));
    } finally {
      await Promise.all([good.close(), plain.close(), wrongCa.close()]);
      await server.close();
    }
  });

  test("mutual TLS: a client with a certificate from the CA connects; without one, or from another CA, it is refused", async () => {
    const server = await startGrpcServer(fakeGatewayApi(), {
      listen: "127.0.0.1:0",
      tls: { certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.ca, requireClientCert: true },
    });
    const address = `localhost:${server.port}`;
    const withCert = connectGateway({
      address,
      tls: { caFile: certs.ca, certFile: certs.clientCert, keyFile: certs.clientKey },
      deadlineMs: 5000,
    });
    const noCert = connectGateway({ address, tls: { caFile: certs.ca }, deadlineMs: 2000 });
    const rogue = connectGateway({
      address,
      tls: { caFile: certs.ca, certFile: certs.rogueCert, keyFile: certs.rogueKey },
      deadlineMs: 2000,
    });
    try {
      assert.deepEqual(await withCert.health(), HEALTH);
      assert.deepEqual(await withCert.submitPartial(partial("m1")), { status: "accepted" });
      await expectGatewayError(noCert.health(), "UNAVAILABLE", (e) => assert.match(e.message, /certificate required/i));
      await expectGatewayError(noCert.submitPartial(partial("m1")), "UNAVAILABLE");
      await expectGatewayError(rogue.health(), "UNAVAILABLE");
    } finally {
      await Promise.all([withCert.close(), noCert.close(), rogue.close()]);
      await server.close();
    }
  });

  test("inconsistent TLS options are refused up front", async () => {
    await expectGatewayError(
      startGrpcServer(fakeGatewayApi(), {
        listen: "127.0.0.1:0",
        tls: { certFile: certs.serverCert, keyFile: certs.serverKey, requireClientCert: true },
      }),
      "INVALID_REQUEST",
      (e) => assert.equal(e.facts.field, "tls.clientCaFile"),
    );
    await expectGatewayError(
      startGrpcServer(fakeGatewayApi(), { listen: "127.0.0.1:0", tls: { certFile: join(dir, "missing.pem"), keyFile: certs.serverKey } }),
      "UNAVAILABLE",
      (e) => assert.equal(e.facts.field, "tls.certFile"),
    );
    assert.throws(
      () => connectGateway({ address: "localhost:1", tls: { caFile: certs.ca, certFile: certs.clientCert } }),
      (e: unknown) => e instanceof GatewayError && e.code === "INVALID_REQUEST" && e.facts.field === "tls.keyFile",
    );
  });
});
