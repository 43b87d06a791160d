/**
 * The running system, end to end, on real parts: two anvil chains (Prague), a real `nats-server -js`
 * started on a free port, and the real PostgreSQL on 127.0.0.1:5432 (each run in its own database;
 * where no server answers, the embedded store is used and the test title says so). The gateway,
 * attesters and relayers are the same assemblies the `shandu` commands run; the relayer that gets
 * SIGKILLed is a real `shandu relayer` process.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { evmAdapterModule } from "@shandu/adapter-evm";
import { type Alliance, type DevnetChain, startAlliance, startDevnet } from "@shandu/cli/devnet";
import {
  type AttesterHandle,
  type BatchQueue,
  connectGateway,
  GatewayError,
  type GatewayHandle,
  loadConfig,
  openQueue,
  type ShanduConfig,
  startAttester,
  startGateway,
} from "@shandu/gateway";
import { createTestDatabase, natsServerBinary, type TestDatabase } from "@shandu/gateway/testing";
import {
  type Bls,
  batchSigningRoot,
  buildBatch,
  committeeSetHash,
  encodeMessage,
  loadBls,
  type Message,
  MessageKind,
  readBitfield,
  verifyConsistency,
} from "@shandu/proofs";
import { type RelayerHandle, relayerDurable, startRelayer } from "@shandu/relayers";
import { getBytes } from "ethers";
import { sleep, until } from "./wait.ts";

const modules = { evm: evmAdapterModule };
const shandu = join(dirname(fileURLToPath(import.meta.url)), "../../cli/bin/shandu.js");
const NATS = natsServerBinary();

async function send(src: DevnetChain, dst: DevnetChain, count: number, tag: string): Promise<void> {
  const outbox = src.outbox.connect(src.node.wallet(1)) as typeof src.outbox;
  const recipient = getBytes(await dst.ledger.getAddress());
  for (let i = 0; i < count; i++) {
    await (await outbox.getFunction("send")(dst.chainId, recipient, new TextEncoder().encode(`${tag} #${i}`))).wait();
  }
}

/** Every nonce below `count` executed exactly once on `dst`'s ledger. */
async function assertExactlyOnce(src: DevnetChain, dst: DevnetChain, count: number): Promise<void> {
  assert.equal(Number(await dst.ledger.getFunction("fromChain")(src.chainId)), count, `${src.name} → ${dst.name}: executions`);
  for (let n = 0; n < count; n++) {
    assert.equal(Number(await dst.ledger.getFunction("timesReceived")(src.chainId, n)), 1, `${src.name} → ${dst.name} nonce ${n}`);
  }
}

let bls: Bls;
let pg: TestDatabase | null = null;
const dirs: string[] = [];
async function tempDir(name: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `shandu-${name}-`));
  dirs.push(d);
  return d;
}

before(async () => {
  bls = await loadBls();
  pg = await createTestDatabase("shandu_system");
});
after(async () => {
  await pg?.drop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const storeName = () => (pg ? "PostgreSQL" : "embedded store: no PostgreSQL server answered");

describe("the running system", {
  timeout: 600_000,
  skip: NATS ? false : "skipped: nats-server binary not found (apt-get install -y nats-server)",
}, () => {
  test("messages both ways are batched, attested, delivered once, and their bundles verify offline", async (t) => {
    t.diagnostic(`store: ${storeName()}`);
    const dir = await tempDir("both-ways");
    const devnet = await startDevnet({
      dir,
      bls,
      modules,
      messagesPerLane: 24,
      ratePerSecond: 0,
      blockTimeSeconds: 1,
      ...(pg ? { storeUrl: pg.url } : {}),
      signal: new AbortController().signal,
      out: { write: () => {}, isTTY: false },
    });
    try {
      assert.equal(devnet.alliance.natsMode, "nats-server");
      const s = await devnet.traffic();
      assert.ok(s.complete, JSON.stringify(s.lanes));
      for (const l of s.lanes) {
        assert.equal(l.sent, 24);
        assert.equal(l.delivered, 24);
        assert.equal(l.executedOnChain, 24);
        assert.ok(l.batches < l.sent, `${l.from} → ${l.to}: ${l.batches} batches for ${l.sent} messages — batched`);
      }
      const [a, b] = devnet.alliance.chains;
      await assertExactlyOnce(a, b, 24);
      await assertExactlyOnce(b, a, 24);
      assert.equal(s.bundles, 48);
      const v = spawnSync(process.execPath, [shandu, "verify", s.bundlesDir, "--genesis", devnet.alliance.genesisPath, "--strict"], {
        encoding: "utf8",
      });
      assert.equal(v.status, 0, v.stdout + v.stderr);

      // The auditors' HTTP API: lanes, a bundle, the log, metrics.
      const http = `http://127.0.0.1:${devnet.gateway.httpPort}`;
      const { lanes } = (await (await fetch(`${http}/v1/lanes`)).json()) as { lanes: { lastAttestedNonce: string | null }[] };
      assert.equal(lanes.length, 2);
      assert.deepEqual(
        lanes.map((l) => l.lastAttestedNonce),
        ["23", "23"],
      );
      const bundle = await fetch(`${http}/v1/lanes/${a.chainId}/${b.chainId}/messages/3/bundle`);
      assert.equal(bundle.status, 200);
      const metrics = await (await fetch(`${http}/metrics`)).text();
      assert.match(metrics, /shandu_gateway_batches_attested_total\{lane="86021->86755"\} \d+/);
      const head = await devnet.gateway.service.treeHead();
      assert.equal(head.treeSize, BigInt(s.lanes.reduce((n, l) => n + l.batches, 0)));
    } finally {
      await devnet.close();
    }
  });

  describe("a malicious committee member", () => {
    let alliance: Alliance;
    let config: ShanduConfig;
    let gateway: GatewayHandle;
    const attesters: AttesterHandle[] = [];
    let relayer: RelayerHandle;
    let queue: BatchQueue;

    before(async () => {
      alliance = await startAlliance({ dir: await tempDir("malicious"), bls });
      config = await loadConfig(alliance.configPath, modules);
      queue = await openQueue(config, "test");
      gateway = await startGateway(config, { modules, bls, queue });
      // Three honest members; the clearing bank (index 2) is the malicious one, driven by the test.
      for (const m of ["shanghai-alliance", "shenzhen-alliance", "regulator"])
        attesters.push(await startAttester(config, m, { modules, bls }));
      relayer = await startRelayer(config, { modules, bls, queue });
    });
    after(async () => {
      await relayer?.close();
      for (const a of attesters) await a.close();
      await gateway?.close();
      await queue?.close();
      await alliance?.close();
    });

    test("its bad partials are refused, its equivocation recorded, and the batch still reaches quorum", async () => {
      const [a, b] = alliance.chains;
      const client = connectGateway({ address: `127.0.0.1:${alliance.ports.grpc}` });
      const bank = 2;
      const csh = committeeSetHash(alliance.committee);
      const nonce = BigInt(await a.outbox.getFunction("nextNonce")(b.chainId));
      const ref = { sourceChainId: a.chainId, destinationChainId: b.chainId, firstNonce: nonce, lastNonce: nonce };
      // Before the real message exists, the bank signs a made-up one for the same nonce.
      const forged: Message = {
        version: 1,
        sourceChainId: a.chainId,
        destinationChainId: b.chainId,
        nonce,
        kind: MessageKind.app,
        sender: new Uint8Array(20).fill(0xee),
        recipient: getBytes(await b.ledger.getAddress()),
        payload: new TextEncoder().encode("1,000,000 credits to mallory"),
        source: { blockNumber: 1n, txHash: new Uint8Array(32).fill(1), logIndex: 0 },
      };
      const fake = buildBatch([forged]);
      /** The bank's signature over a header of this range with `root`. */
      const sign = (root: Uint8Array) => bls.sign(alliance.secretKeys[bank]!, batchSigningRoot(csh, 0n, { ...fake.header, root }));
      const forgedReq = {
        header: fake.header,
        epoch: 0n,
        memberId: "clearing-bank",
        signature: sign(fake.header.root),
        messages: [encodeMessage(forged)],
      };
      assert.equal((await client.submitPartial(forgedReq)).status, "accepted", "one member alone cannot attest");

      await send(a, b, 1, "real deed");
      const attested = await until("the real batch to be attested", () => gateway.service.getAttestation(ref).catch(() => null));
      const real = { header: attested.header, epoch: 0n, memberId: "clearing-bank", messages: attested.messages };
      const signers = readBitfield(attested.attestation.signers, 4);
      assert.deepEqual(signers, [0, 1, 3], "attested by the three honest members");

      const code = async (req: Parameters<typeof client.submitPartial>[0]) => {
        try {
          await client.submitPartial(req);
          return "accepted";
        } catch (e) {
          assert.ok(e instanceof GatewayError, String(e));
          return e.code;
        }
      };
      // A signature by another key, an unknown member, an epoch the gateway does not accept.
      assert.equal(
        await code({ ...real, signature: bls.sign(alliance.secretKeys[0]!, batchSigningRoot(csh, 0n, attested.header)) }),
        "BAD_SIGNATURE",
      );
      assert.equal(await code({ ...real, memberId: "mallory", signature: sign(attested.header.root) }), "UNKNOWN_MEMBER");
      assert.equal(await code({ ...real, epoch: 7n, signature: sign(attested.header.root) }), "WRONG_EPOCH");
      assert.equal(await code({ ...real, messages: [encodeMessage(forged)], signature: sign(attested.header.root) }), "BATCH_MISMATCH");
      // Its valid signature over the real batch, after it signed the forged one: equivocation.
      assert.equal(
        await code({ ...real, signature: bls.sign(alliance.secretKeys[bank]!, batchSigningRoot(csh, 0n, attested.header)) }),
        "EQUIVOCATION",
      );
      const evidence = await gateway.service.equivocations();
      assert.equal(evidence.length, 1);
      assert.equal(evidence[0]!.memberId, "clearing-bank");
      assert.deepEqual(evidence[0]!.rootA, fake.header.root);
      assert.deepEqual(evidence[0]!.rootB, attested.header.root);
      // The evidence convicts on its own: both signatures verify under the bank's registered key.
      const key = bls.publicKey(alliance.committee.members[bank]!.blsPublicKey);
      assert.ok(bls.verify(key, batchSigningRoot(csh, 0n, { ...attested.header, root: evidence[0]!.rootA }), evidence[0]!.signatureA));
      assert.ok(bls.verify(key, batchSigningRoot(csh, 0n, attested.header), evidence[0]!.signatureB));

      await until("the real message to be delivered", async () => Number(await b.ledger.getFunction("fromChain")(a.chainId)) === 1);
      await assertExactlyOnce(a, b, 1);
      client.close();
    });
  });

  test("a relayer killed with SIGKILL mid-delivery loses nothing and duplicates nothing once another takes over", async (t) => {
    const alliance = await startAlliance({
      dir: await tempDir("sigkill"),
      bls,
      blockTimeSeconds: 1,
      relayerAckWaitMs: 2000,
      maxMessages: 4,
    });
    const config = await loadConfig(alliance.configPath, modules);
    const gateway = await startGateway(config, { modules, bls });
    const attesters: AttesterHandle[] = [];
    const children: ChildProcess[] = [];
    const spawnRelayer = (configPath: string, name: string) => {
      const c = spawn(process.execPath, [shandu, "relayer", "--config", configPath, "--name", name], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      children.push(c);
      let log = "";
      c.stderr?.on("data", (d: Buffer) => {
        log += d.toString();
      });
      return { child: c, log: () => log };
    };
    try {
      for (const m of ["shanghai-alliance", "shenzhen-alliance", "clearing-bank", "regulator"])
        attesters.push(await startAttester(config, m, { modules, bls }));
      const [a, b] = alliance.chains;
      const first = spawnRelayer(alliance.configPath, "relayer-0");
      await until("relayer 0 to start", async () => first.log().includes("ready"), 60_000);
      const sending = send(a, b, 24, "deed");
      // Kill it while it is delivering: some messages executed, not all.
      await until("relayer 0 to be mid-way", async () => {
        const n = Number(await b.ledger.getFunction("fromChain")(a.chainId));
        return n > 0 && n < 24;
      });
      first.child.kill("SIGKILL");
      const killedAt = Number(await b.ledger.getFunction("fromChain")(a.chainId));
      t.diagnostic(`relayer 0 killed after ${killedAt} of 24 executions`);
      await sending;
      const second = spawnRelayer(await alliance.configPathFor(1), "relayer-1");
      await until("every message delivered", async () => Number(await b.ledger.getFunction("fromChain")(a.chainId)) >= 24, 120_000);
      await sleep(3000); // redeliveries after the ack wait must not execute anything again
      await assertExactlyOnce(a, b, 24);
      const queue = await openQueue(config, "check");
      try {
        await until(
          "the lane's consumer to be drained",
          async () =>
            (await queue.pending(
              relayerDurable({ sourceChainId: a.chainId, destinationChainId: b.chainId }),
              `shandu.batches.${b.chainId}.${a.chainId}`,
            )) === 0,
        );
      } finally {
        await queue.close();
      }
      second.child.kill("SIGTERM");
    } finally {
      for (const c of children) c.kill("SIGKILL");
      for (const at of attesters) await at.close();
      await gateway.close();
      await alliance.close();
    }
  });

  test("two gateway instances over one store and one NATS attest each batch once, identically", async (t) => {
    const db = await createTestDatabase("shandu_two_gateways");
    t.diagnostic(`store: ${db ? "PostgreSQL" : "skipped part: no PostgreSQL server answered"}`);
    if (!db) {
      t.skip("no PostgreSQL server: the embedded store serves one process only");
      return;
    }
    const alliance = await startAlliance({
      dir: await tempDir("two-gateways"),
      bls,
      blockTimeSeconds: 1,
      maxMessages: 4,
      storeUrl: db.url,
    });
    const config = await loadConfig(alliance.configPath, modules);
    const g1 = await startGateway(config, { modules, bls });
    const g2 = await startGateway(
      { ...config, gateway: { ...config.gateway!, grpc: { listen: "127.0.0.1:0" }, http: { listen: "127.0.0.1:0" } } },
      { modules, bls },
    );
    const attesters: AttesterHandle[] = [];
    const relayer = await startRelayer(config, { modules, bls });
    try {
      // Two members talk to each instance: no instance sees a quorum of partials by itself.
      const members = ["shanghai-alliance", "shenzhen-alliance", "clearing-bank", "regulator"];
      for (const [i, m] of members.entries()) {
        const gatewayAddress = `127.0.0.1:${i < 2 ? g1.grpcPort : g2.grpcPort}`;
        attesters.push(await startAttester(config, m, { modules, bls, gatewayAddress }));
      }
      const [a, b] = alliance.chains;
      await Promise.all([send(a, b, 12, "there"), send(b, a, 12, "back")]);
      await until(
        "every message delivered",
        async () =>
          Number(await b.ledger.getFunction("fromChain")(a.chainId)) >= 12 &&
          Number(await a.ledger.getFunction("fromChain")(b.chainId)) >= 12,
        120_000,
      );
      await assertExactlyOnce(a, b, 12);
      await assertExactlyOnce(b, a, 12);
      const [h1, h2] = [await g1.service.treeHead(), await g2.service.treeHead()];
      assert.equal(h1.treeSize, h2.treeSize);
      assert.deepEqual(h1.rootHash, h2.rootHash, "one log, seen the same from both instances");
      let batches = 0;
      for await (const x of g1.service.streamAttestedBatches({ fromLogIndex: 0n, signal: AbortSignal.timeout(2000) })) {
        const other = await g2.service.getAttestation(x.header);
        assert.deepEqual(other.attestation, x.attestation, "the same attestation from both instances");
        batches++;
      }
      assert.equal(BigInt(batches), h1.treeSize);
      // The stream holds each batch once, however many instances published it.
      const queue = await openQueue(config, "check");
      try {
        const stored =
          (await queue.pending("never-created-a", `shandu.batches.${b.chainId}.${a.chainId}`)) +
          (await queue.pending("never-created-b", `shandu.batches.${a.chainId}.${b.chainId}`));
        assert.equal(stored, batches);
      } finally {
        await queue.close();
      }
    } finally {
      await relayer.close();
      for (const at of attesters) await at.close();
      await g2.close();
      await g1.close();
      await alliance.close();
      await db.drop();
    }
  });

  test("a gateway restarted mid-stream resumes from its store; its log stays consistent", async (t) => {
    // A database of its own: chain ids repeat across tests, and the store refuses a second batch for a range.
    const db = await createTestDatabase("shandu_restart");
    t.diagnostic(`store: ${db ? "PostgreSQL" : "embedded store: no PostgreSQL server answered"}`);
    const alliance = await startAlliance({
      dir: await tempDir("restart"),
      bls,
      blockTimeSeconds: 1,
      maxMessages: 3,
      ...(db ? { storeUrl: db.url } : {}),
    });
    const config = await loadConfig(alliance.configPath, modules);
    let gateway = await startGateway(config, { modules, bls });
    const attesters: AttesterHandle[] = [];
    const relayer = await startRelayer(config, { modules, bls });
    try {
      for (const m of ["shanghai-alliance", "shenzhen-alliance", "clearing-bank", "regulator"])
        attesters.push(await startAttester(config, m, { modules, bls }));
      const [a, b] = alliance.chains;
      const before = (await gateway.service.treeHead()).treeSize;
      const sending = Promise.all([send(a, b, 15, "there"), send(b, a, 15, "back")]);
      const head1 = await until("some batches attested", async () => {
        const h = await gateway.service.treeHead();
        return h.treeSize >= before + 3n ? h : null;
      });
      await gateway.close();
      await sleep(1500);
      gateway = await startGateway(config, { modules, bls });
      await sending;
      await until(
        "every message delivered",
        async () =>
          Number(await b.ledger.getFunction("fromChain")(a.chainId)) >= 15 &&
          Number(await a.ledger.getFunction("fromChain")(b.chainId)) >= 15,
        120_000,
      );
      await assertExactlyOnce(a, b, 15);
      await assertExactlyOnce(b, a, 15);
      const head2 = await gateway.service.treeHead();
      assert.ok(head2.treeSize > head1.treeSize);
      verifyConsistency(
        head1.treeSize,
        head2.treeSize,
        head1.rootHash,
        head2.rootHash,
        await gateway.service.consistencyProof(head1.treeSize, head2.treeSize),
      );
    } finally {
      await relayer.close();
      for (const at of attesters) await at.close();
      await gateway.close();
      await alliance.close();
      await db?.drop();
    }
  });
});

test("`shandu devnet --once` runs on the embedded queue and store and ends with verified bundles", { timeout: 300_000 }, async () => {
  const cwd = await tempDir("devnet-cli");
  const r = spawnSync(process.execPath, [shandu, "devnet", "--once", "--messages", "4", "--block-time", "0", "--embedded-queue"], {
    cwd,
    encoding: "utf8",
    timeout: 240_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stderr, /in-process queue stands in for JetStream/);
  assert.match(r.stderr, /store: embedded/);
  assert.match(r.stderr, /sent 4, attested 4 in \d+ batches?, delivered 4, executed on chain 4/);
  assert.match(r.stderr, /All 8 bundles verified offline/);
  const again = spawnSync(
    process.execPath,
    [shandu, "verify", join(cwd, "devnet", "bundles"), "--genesis", join(cwd, "devnet", "genesis.json"), "--strict"],
    {
      encoding: "utf8",
    },
  );
  assert.equal(again.status, 0, again.stdout + again.stderr);
});
