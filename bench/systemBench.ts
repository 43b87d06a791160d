/**
 * Section 8: the running system.
 *
 * 8a — the gateway alone: how many messages per second it attests when four members submit their
 * partials over gRPC for batches of 128 messages (signatures made beforehand, so the figure is the
 * gateway's: request decoding, message decoding and re-hashing, per-partial BLS verification, store
 * transactions, aggregation, the transparency log and the queue publish). Run with the embedded store
 * and, where a server answers, PostgreSQL; the queue is JetStream on a real nats-server when installed.
 *
 * 8b — end to end on the devnet with 1-second blocks and 0 confirmations: messages sent both ways at a
 * fixed rate; latency from source inclusion (the send's receipt) to destination execution (the
 * relayer's confirmed delivery), and messages per second attested and delivered.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evmAdapterModule } from "@shandu/adapter-evm";
import { startDevnet } from "@shandu/cli/devnet";
import { connectGateway, loadConfig, type ShanduConfig, startGateway } from "@shandu/gateway";
import { createTestDatabase, natsServerBinary, startNatsServer } from "@shandu/gateway/testing";
import {
  type Bls,
  batchSigningRoot,
  buildBatch,
  committeeSetHash,
  committeeToJson,
  encodeMessage,
  type Message,
  MessageKind,
  toHex,
} from "@shandu/proofs";
import { pilotCommittee } from "@shandu/proofs/testing";
import { stringify } from "yaml";
import { heading, table } from "./table.ts";

export const SYSTEM_TARGETS = { gatewayMessagesPerSecond: 2000, e2eLatencyP50Seconds: 1.5 } as const;

export interface GatewayRow {
  store: string;
  queue: string;
  messages: number;
  seconds: number;
  messagesPerSecond: number;
}

export interface SystemResults {
  gateway: GatewayRow[];
  /** The slowest store's figure, which the target judges. */
  gatewayMessagesPerSecond: number;
  e2e: {
    latencyP50Seconds: number;
    latencyP95Seconds: number;
    attestedPerSecond: number;
    deliveredPerSecond: number;
    messages: number;
    complete: boolean;
  };
}

const SRC = 86021n;
const DST = 86755n;
const BATCH = 128;
const BATCHES = 64;

async function gatewayRun(bls: Bls, store: { url?: string; label: string }, log: (s: string) => void): Promise<GatewayRow> {
  const dir = await mkdtemp(join(tmpdir(), "shandu-bench-gw-"));
  const nats = natsServerBinary() ? await startNatsServer() : null;
  try {
    const tc = pilotCommittee(bls, "bench-gateway");
    await writeFile(join(dir, "genesis.json"), JSON.stringify(committeeToJson(tc.committee)));
    await writeFile(join(dir, "log.key"), toHex(new Uint8Array(32).fill(7)), { mode: 0o600 });
    const raw = {
      chains: {
        a: {
          kind: "evm",
          chainId: SRC.toString(),
          rpcUrl: "http://127.0.0.1:1",
          evmChainId: 1,
          outbox: `0x${"11".repeat(20)}`,
          finalityDepthBlocks: 0,
        },
        b: {
          kind: "evm",
          chainId: DST.toString(),
          rpcUrl: "http://127.0.0.1:1",
          evmChainId: 2,
          inbox: `0x${"22".repeat(20)}`,
          finalityDepthBlocks: 0,
        },
      },
      committee: { genesisFile: "./genesis.json" },
      lanes: [{ from: "a", to: "b" }],
      store: store.url ? { url: store.url } : {},
      nats: nats ? { servers: [nats.url] } : { embedded: true },
      gateway: { grpc: { listen: "127.0.0.1:0" }, logKeyFile: "./log.key", evidenceChains: [] },
    };
    await writeFile(join(dir, "shandu.yaml"), stringify(raw));
    const config: ShanduConfig = await loadConfig(join(dir, "shandu.yaml"), { evm: evmAdapterModule });
    const gateway = await startGateway(config, { modules: { evm: evmAdapterModule }, bls });
    const clients = [0, 1, 2, 3].map(() => connectGateway({ address: `127.0.0.1:${gateway.grpcPort}`, deadlineMs: 60_000 }));
    try {
      // Prepare every batch and every member's signature before the clock starts.
      const csh = committeeSetHash(tc.committee);
      const work = Array.from({ length: BATCHES }, (_, b) => {
        const messages: Message[] = Array.from({ length: BATCH }, (_, i) => ({
          version: 1,
          sourceChainId: SRC,
          destinationChainId: DST,
          nonce: BigInt(b * BATCH + i),
          kind: MessageKind.app,
          sender: new Uint8Array(20).fill(1),
          recipient: new Uint8Array(20).fill(2),
          payload: new TextEncoder().encode(JSON.stringify({ deed: "low-carbon trip", km: 3 + (i % 17), ref: `${b}/${i}` })),
          source: { blockNumber: BigInt(100 + b), txHash: new Uint8Array(32).fill(i % 256), logIndex: 0 },
        }));
        const batch = buildBatch(messages);
        const root = batchSigningRoot(csh, 0n, batch.header);
        return {
          header: batch.header,
          encodings: messages.map(encodeMessage),
          signatures: tc.secretKeys.map((k) => bls.sign(k, root)),
        };
      });
      const t0 = performance.now();
      // Four members, each submitting its partials in order, concurrently with the others.
      await Promise.all(
        clients.map(async (client, m) => {
          for (const w of work) {
            await client.submitPartial({
              header: w.header,
              epoch: 0n,
              memberId: tc.committee.members[m]!.id,
              signature: w.signatures[m]!,
              messages: w.encodings,
            });
          }
        }),
      );
      const seconds = (performance.now() - t0) / 1000;
      const lanes = await gateway.service.listLanes();
      const attested = Number(lanes[0]?.lastAttestedNonce ?? -1n) + 1;
      if (attested !== BATCH * BATCHES) throw new Error(`only ${attested} messages attested`);
      const row = {
        store: store.label,
        queue: nats ? "JetStream" : "embedded",
        messages: attested,
        seconds,
        messagesPerSecond: attested / seconds,
      };
      log(`  ${row.store}: ${row.messages} messages in ${seconds.toFixed(2)} s`);
      return row;
    } finally {
      for (const c of clients) await c.close();
      await gateway.close();
    }
  } finally {
    await nats?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runSystemBench(bls: Bls, log: (s: string) => void): Promise<SystemResults> {
  log(heading("8. The running system"));
  log(`8a. Gateway throughput: 4 members × ${BATCHES} batches of ${BATCH} messages over gRPC, signatures prepared beforehand`);
  const rows: GatewayRow[] = [await gatewayRun(bls, { label: "embedded (PGlite)" }, log)];
  const pg = await createTestDatabase("shandu_bench");
  if (pg) {
    try {
      rows.push(await gatewayRun(bls, { url: pg.url, label: "PostgreSQL" }, log));
    } finally {
      await pg.drop();
    }
  } else {
    log("  PostgreSQL: no server answered; only the embedded store was measured");
  }
  log(
    table(
      ["store", "queue", "messages", "seconds", "messages/s"],
      rows.map((r) => [r.store, r.queue, r.messages, r.seconds.toFixed(2), Math.round(r.messagesPerSecond)]),
    ),
  );

  const perLane = 150;
  const rate = 50;
  log(`\n8b. End to end on the devnet: 1 s blocks, 0 confirmations, ${perLane} messages each way at ${rate}/s per direction`);
  const dir = await mkdtemp(join(tmpdir(), "shandu-bench-e2e-"));
  let e2e: SystemResults["e2e"];
  const devnet = await startDevnet({
    dir,
    bls,
    modules: { evm: evmAdapterModule },
    messagesPerLane: perLane,
    ratePerSecond: rate,
    blockTimeSeconds: 1,
    signal: new AbortController().signal,
    out: { write: () => {}, isTTY: false },
  });
  try {
    const s = await devnet.traffic();
    e2e = {
      latencyP50Seconds: s.latencyMs.p50 / 1000,
      latencyP95Seconds: s.latencyMs.p95 / 1000,
      attestedPerSecond: s.throughput.attestedPerSecond,
      deliveredPerSecond: s.throughput.deliveredPerSecond,
      messages: s.latencyMs.count,
      complete: s.complete,
    };
    log(
      table(
        ["messages", "latency p50", "latency p95", "attested/s", "delivered/s", "queue", "all once"],
        [
          [
            e2e.messages,
            `${e2e.latencyP50Seconds.toFixed(2)} s`,
            `${e2e.latencyP95Seconds.toFixed(2)} s`,
            e2e.attestedPerSecond.toFixed(1),
            e2e.deliveredPerSecond.toFixed(1),
            s.natsMode,
            e2e.complete ? "yes" : "NO",
          ],
        ],
      ),
    );
    log("  (throughput here is the send rate: anvil takes one sender's transactions one by one; 8a measures the gateway's ceiling)");
  } finally {
    await devnet.close();
    await rm(dir, { recursive: true, force: true });
  }
  return { gateway: rows, gatewayMessagesPerSecond: Math.min(...rows.map((r) => r.messagesPerSecond)), e2e };
}
