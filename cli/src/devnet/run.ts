/**
 * The devnet run: start the alliance, the gateway, four attesters and a relayer from its `shandu.yaml`,
 * send good-deed messages both ways, show progress, and end with a summary and a folder of proof
 * bundles that `shandu verify` checks. Everything runs in this process except the chains and NATS.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { AdapterError, type AdapterModules } from "@shandu/adapter-core";
import {
  type AttesterHandle,
  type BatchQueue,
  type Closable,
  closeAll,
  type GatewayHandle,
  loadConfig,
  openQueue,
  startAttester,
  startGateway,
} from "@shandu/gateway";
import type { Bls } from "@shandu/proofs";
import { type RelayerHandle, startRelayer } from "@shandu/relayers";
import { getBytes, NonceManager } from "ethers";
import type { Output } from "../command.ts";
import { type Alliance, DEVNET_MEMBERS, type DevnetChain, startAlliance } from "./alliance.ts";

export interface DevnetOptions {
  dir: string;
  bls: Bls;
  modules: AdapterModules;
  /** Messages sent in each direction. */
  messagesPerLane: number;
  /** Messages per second per direction (0: as fast as the chain takes them). */
  ratePerSecond: number;
  blockTimeSeconds?: number;
  storeUrl?: string;
  embeddedQueue?: boolean;
  maxMessages?: number;
  /** Give up waiting for deliveries after this long. */
  timeoutMs?: number;
  signal: AbortSignal;
  out: Output;
}

export interface LaneSummary {
  from: string;
  to: string;
  sent: number;
  attested: number;
  delivered: number;
  /** Executions the destination's example application counted (exactly `sent` when nothing ran twice). */
  executedOnChain: number;
  batches: number;
}

export interface DevnetSummary {
  lanes: LaneSummary[];
  /** Source inclusion → destination execution, milliseconds. */
  latencyMs: { p50: number; p95: number; max: number; count: number };
  /** Attested / delivered messages per second over the traffic phase. */
  throughput: { attestedPerSecond: number; deliveredPerSecond: number };
  durationMs: number;
  bundlesDir: string;
  bundles: number;
  natsMode: string;
  store: string;
  complete: boolean;
}

export interface RunningDevnet {
  close(): Promise<void>;
  alliance: Alliance;
  gateway: GatewayHandle;
  attesters: AttesterHandle[];
  relayer: RelayerHandle;
  /** Sends the traffic and waits for it; resolves with the summary. */
  traffic(): Promise<DevnetSummary>;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const deeds = [
  { deed: "low-carbon trip", unit: "km", amount: 12.4 },
  { deed: "charity donation", unit: "credits", amount: 50 },
  { deed: "volunteering", unit: "hours", amount: 3 },
  { deed: "healthy living: 10,000 steps", unit: "days", amount: 1 },
];

export async function startDevnet(o: DevnetOptions): Promise<RunningDevnet> {
  const say = (line: string) => o.out.write(`${line}\n`);
  const opened: Closable[] = [];
  try {
    say(
      `Starting two anvil chains (${o.blockTimeSeconds ? `${o.blockTimeSeconds} s blocks` : "a block per transaction"}) and deploying the Shandu contracts…`,
    );
    const alliance = await startAlliance({
      dir: o.dir,
      bls: o.bls,
      ...(o.blockTimeSeconds !== undefined ? { blockTimeSeconds: o.blockTimeSeconds } : {}),
      ...(o.storeUrl ? { storeUrl: o.storeUrl } : {}),
      ...(o.embeddedQueue ? { embeddedQueue: true } : {}),
      ...(o.maxMessages ? { maxMessages: o.maxMessages } : {}),
    });
    opened.push(alliance);
    for (const c of alliance.chains) {
      say(`  ${c.name.padEnd(19)} Shandu chain ${c.chainId}, ${c.node.rpcUrl}, inbox ${await c.inbox.getAddress()}`);
    }
    if (alliance.natsMode === "embedded") {
      say(
        "NATS: the nats-server binary was not found, so the in-process queue stands in for JetStream (install it with: apt-get install -y nats-server).",
      );
    } else {
      say(`NATS: nats-server with JetStream at ${alliance.nats!.url}`);
    }
    const config = await loadConfig(alliance.configPath, o.modules);
    const sharedQueue: BatchQueue | undefined = config.nats.embedded ? await openQueue(config, "devnet") : undefined;
    if (sharedQueue) opened.push(sharedQueue);

    const t = {
      sentAt: new Map<string, number>(),
      attested: new Map<string, number>(),
      delivered: new Map<string, number>(),
      batches: new Map<string, number>(),
    };
    const key = (src: bigint, dst: bigint, nonce: bigint) => `${src}:${dst}:${nonce}`;
    const gateway = await startGateway(config, {
      modules: o.modules,
      bls: o.bls,
      ...(sharedQueue ? { queue: sharedQueue } : {}),
      onEvent: (e) => {
        if (e.type !== "attested") return;
        const now = Date.now();
        for (let n = e.firstNonce; n <= e.lastNonce; n++) t.attested.set(key(e.sourceChainId, e.destinationChainId, n), now);
        const lane = `${e.sourceChainId}:${e.destinationChainId}`;
        t.batches.set(lane, (t.batches.get(lane) ?? 0) + 1);
      },
    });
    opened.push(gateway);
    say(
      `Gateway: gRPC 127.0.0.1:${gateway.grpcPort}, HTTP http://127.0.0.1:${gateway.httpPort}/v1/lanes (store: ${config.store.url ? "PostgreSQL" : "embedded"})`,
    );
    const attesters: AttesterHandle[] = [];
    for (const m of DEVNET_MEMBERS) {
      const a = await startAttester(config, m.id, { modules: o.modules, bls: o.bls });
      attesters.push(a);
      opened.push(a);
    }
    say(`Committee: ${DEVNET_MEMBERS.map((m) => m.id).join(", ")} (quorum: 2/3 of weight, both alliances and the regulator)`);
    const relayer = await startRelayer(config, {
      modules: o.modules,
      bls: o.bls,
      ...(sharedQueue ? { queue: sharedQueue } : {}),
      onEvent: (e) => {
        if (e.type !== "delivered" && e.type !== "skipped") return;
        const now = Date.now();
        for (let n = e.firstNonce; n <= e.lastNonce; n++) {
          const k = key(e.sourceChainId, e.destinationChainId, n);
          if (!t.delivered.has(k)) t.delivered.set(k, now);
        }
      },
    });
    opened.push(relayer);
    say(`Relayer: ${relayer.httpPort ? `metrics on http://127.0.0.1:${relayer.httpPort}/metrics` : "running"}`);

    const traffic = async (): Promise<DevnetSummary> => {
      const started = Date.now();
      const [a, b] = alliance.chains;
      const lanes: [DevnetChain, DevnetChain][] = [
        [a, b],
        [b, a],
      ];
      const total = o.messagesPerLane * lanes.length;
      say(`Sending ${o.messagesPerLane} good-deed messages each way…`);
      const progress = setInterval(() => {
        const line = `  sent ${t.sentAt.size}/${total} · attested ${t.attested.size}/${total} · delivered ${t.delivered.size}/${total}`;
        if (o.out.isTTY) o.out.write(`\r${line}\u001b[K`);
        else say(line);
      }, 1000);
      try {
        await Promise.all(
          lanes.map(([src, dst]) => sendLane(src, dst, o, (nonce, at) => t.sentAt.set(key(src.chainId, dst.chainId, nonce), at))),
        );
        const deadline = Date.now() + (o.timeoutMs ?? 120_000);
        while (t.delivered.size < total && Date.now() < deadline && !o.signal.aborted) await sleep(100);
      } finally {
        clearInterval(progress);
        if (o.out.isTTY) o.out.write("\n");
      }
      const trafficMs = Date.now() - started;
      const latencies: number[] = [];
      for (const [k, at] of t.sentAt) {
        const d = t.delivered.get(k);
        if (d !== undefined) latencies.push(d - at);
      }
      latencies.sort((x, y) => x - y);
      const laneSummaries: LaneSummary[] = [];
      for (const [src, dst] of lanes) {
        const prefix = `${src.chainId}:${dst.chainId}:`;
        const count = (m: Map<string, number>) => [...m.keys()].filter((k) => k.startsWith(prefix)).length;
        laneSummaries.push({
          from: src.name,
          to: dst.name,
          sent: count(t.sentAt),
          attested: count(t.attested),
          delivered: count(t.delivered),
          executedOnChain: Number(await dst.ledger.getFunction("fromChain")(src.chainId)),
          batches: t.batches.get(`${src.chainId}:${dst.chainId}`) ?? 0,
        });
      }
      // Proof bundles for every delivered message, with evidence from both chains.
      const bundlesDir = join(o.dir, "bundles");
      await mkdir(bundlesDir, { recursive: true });
      let bundles = 0;
      for (const [src, dst] of lanes) {
        for (const k of t.delivered.keys()) {
          if (!k.startsWith(`${src.chainId}:${dst.chainId}:`)) continue;
          const nonce = BigInt(k.split(":")[2]!);
          const bundle = await gateway.service.getProofBundle({ sourceChainId: src.chainId, destinationChainId: dst.chainId, nonce });
          await writeFile(join(bundlesDir, `${src.name}-to-${dst.name}-${nonce}.json`), `${JSON.stringify(bundle, null, 2)}\n`);
          bundles++;
        }
      }
      return {
        lanes: laneSummaries,
        latencyMs: {
          p50: percentile(latencies, 50),
          p95: percentile(latencies, 95),
          max: latencies.at(-1) ?? Number.NaN,
          count: latencies.length,
        },
        throughput: { attestedPerSecond: (t.attested.size * 1000) / trafficMs, deliveredPerSecond: (t.delivered.size * 1000) / trafficMs },
        durationMs: trafficMs,
        bundlesDir,
        bundles,
        natsMode: alliance.natsMode,
        store: config.store.url ? "PostgreSQL" : "embedded (PGlite)",
        complete: t.delivered.size === total && laneSummaries.every((l) => l.executedOnChain === l.sent),
      };
    };
    return { alliance, gateway, attesters, relayer, traffic, close: () => closeAll(opened) };
  } catch (e) {
    await closeAll(opened);
    throw e;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sends `messagesPerLane` messages from `src` to `dst`'s ledger and reports each one's inclusion time. */
async function sendLane(
  src: DevnetChain,
  dst: DevnetChain,
  o: DevnetOptions,
  included: (nonce: bigint, atMs: number) => void,
): Promise<void> {
  const sender = new NonceManager(src.node.wallet(1));
  const outbox = src.outbox.connect(sender) as typeof src.outbox;
  const recipient = getBytes(await dst.ledger.getAddress());
  const first = BigInt(await src.outbox.getFunction("nextNonce")(dst.chainId));
  const gapMs = o.ratePerSecond > 0 ? 1000 / o.ratePerSecond : 0;
  const waits: Promise<void>[] = [];
  const t0 = Date.now();
  for (let i = 0; i < o.messagesPerLane && !o.signal.aborted; i++) {
    const d = deeds[i % deeds.length]!;
    const payload = new TextEncoder().encode(JSON.stringify({ ...d, ref: `${src.name}/${i}`, consent: `consent-${i}` }));
    let tx: { wait(): Promise<unknown> };
    try {
      tx = await outbox.getFunction("send")(dst.chainId, recipient, payload);
    } catch (cause) {
      throw new AdapterError("RPC_UNAVAILABLE", `could not send a message on ${src.name}`, { cause });
    }
    const nonce = first + BigInt(i);
    waits.push(tx.wait().then(() => included(nonce, Date.now())));
    if (gapMs > 0) {
      const due = t0 + (i + 1) * gapMs;
      if (due > Date.now()) await sleep(due - Date.now());
    }
  }
  await Promise.all(waits);
}

export function renderSummary(s: DevnetSummary, dir: string, cwd: string): string {
  const rows = s.lanes.map(
    (l) =>
      `  ${`${l.from} → ${l.to}`.padEnd(40)} sent ${l.sent}, attested ${l.attested} in ${l.batches} batches, delivered ${l.delivered}, executed on chain ${l.executedOnChain}`,
  );
  const ms = (v: number) => (Number.isNaN(v) ? "–" : `${(v / 1000).toFixed(2)} s`);
  const rel = relative(cwd, s.bundlesDir) || ".";
  return [
    "",
    "Summary",
    ...rows,
    `  latency (source inclusion → destination execution): p50 ${ms(s.latencyMs.p50)}, p95 ${ms(s.latencyMs.p95)}, max ${ms(s.latencyMs.max)} over ${s.latencyMs.count} messages`,
    `  throughput: ${s.throughput.attestedPerSecond.toFixed(1)} messages/s attested, ${s.throughput.deliveredPerSecond.toFixed(1)} delivered`,
    `  queue: ${s.natsMode}; store: ${s.store}`,
    `  ${s.bundles} proof bundles in ${rel}/ — check them offline with:`,
    `    shandu verify ${rel} --genesis ${relative(cwd, join(dir, "genesis.json")) || "genesis.json"} --strict`,
    "",
  ].join("\n");
}
