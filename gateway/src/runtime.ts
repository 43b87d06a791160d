/**
 * Composition roots: turn a parsed {@link ShanduConfig} into running components. Each `start…` function
 * returns a handle whose `close()` stops what it started, in reverse order, so a command, the devnet and
 * the tests all run the very same assembly.
 */
import { readFile } from "node:fs/promises";
import { ed25519 } from "@noble/curves/ed25519.js";
import type { AdapterModules, ChainAdapter, Lane } from "@shandu/adapter-core";
import {
  type Bls,
  type Committee,
  committeeFromJson,
  type NativeKeySchemeName,
  type RotationRecord,
  rotationFromJson,
  verifyCommitteeChain,
} from "@shandu/proofs";
import { Attester, type AttesterEvent } from "./attester/attester.ts";
import type { ShanduConfig } from "./config.ts";
import { GatewayError } from "./errors.ts";
import { readKeyFile } from "./keys.ts";
import { type Logger, silentLogger } from "./log.ts";
import { createGatewayMetrics } from "./metrics.ts";
import { EmbeddedQueue } from "./queue/embedded.ts";
import type { BatchQueue } from "./queue/interface.ts";
import { connectJetStreamQueue } from "./queue/jetstream.ts";
import { connectGateway } from "./rpc/grpcClient.ts";
import { startGrpcServer } from "./rpc/grpcServer.ts";
import { startHttpServer } from "./rpc/httpServer.ts";
import { type GatewayEvent, GatewayService } from "./service.ts";
import { openSql } from "./store/sql.ts";
import { GatewayStore } from "./store/store.ts";

export interface Closable {
  close(): Promise<void>;
}

/** Closes in reverse order, never stopping at a failure. */
export async function closeAll(items: readonly (Closable | null | undefined)[]): Promise<void> {
  for (const c of [...items].reverse()) {
    if (c) await c.close().catch(() => {});
  }
}

async function readJson(path: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch (cause) {
    throw new GatewayError("INVALID_REQUEST", `${what} ${path} is missing or not JSON`, { cause, facts: { field: what, path } });
  }
}

/** Reads the genesis committee and rotations named by the config and verifies the chain from genesis. */
export async function loadCommittees(config: ShanduConfig, bls: Bls) {
  const genesis: Committee = committeeFromJson(await readJson(config.committee.genesisFile, "committee.genesisFile"));
  const rotations: RotationRecord[] = [];
  for (const f of config.committee.rotationFiles) rotations.push(rotationFromJson(await readJson(f, "committee.rotationFiles")));
  const chain = verifyCommitteeChain(genesis, rotations, bls);
  return { genesis, rotations, chain };
}

/** The configured queue: JetStream at `nats.servers`, or the in-process one. */
export async function openQueue(config: ShanduConfig, name: string): Promise<BatchQueue> {
  const q: BatchQueue = config.nats.embedded
    ? new EmbeddedQueue()
    : await connectJetStreamQueue({ servers: config.nats.servers ?? [], name });
  await q.ensureStreams();
  return q;
}

export async function createAdapters(
  config: ShanduConfig,
  modules: AdapterModules,
  bls: Bls,
  names?: Iterable<string>,
): Promise<Map<bigint, ChainAdapter>> {
  const out = new Map<bigint, ChainAdapter>();
  const wanted = names ? new Set(names) : new Set(config.chains.keys());
  try {
    for (const [name, c] of config.chains) {
      if (!wanted.has(name)) continue;
      // `c.adapter` was parsed by its module when the config was loaded; parsing it again would see
      // transformed values (bytes, bigints) instead of the file's text.
      const module = modules[c.adapter.kind];
      if (!module)
        throw new GatewayError("INVALID_REQUEST", `no adapter for kind "${c.adapter.kind}"`, { facts: { field: `chains.${name}.kind` } });
      out.set(c.chainId, await module.create(c.adapter, { bls }));
    }
  } catch (e) {
    await closeAll([...out.values()]);
    throw e;
  }
  return out;
}

/** Destination chain ids whose inboxes verify native co-signatures, with their scheme. */
export function nativeSchemesOf(config: ShanduConfig): Map<bigint, NativeKeySchemeName> {
  const out = new Map<bigint, NativeKeySchemeName>();
  for (const c of config.chains.values()) if (c.nativeScheme) out.set(c.chainId, c.nativeScheme);
  return out;
}

const lanesOf = (config: ShanduConfig): Lane[] =>
  config.lanes.map((l) => ({ sourceChainId: l.sourceChainId, destinationChainId: l.destinationChainId }));

export interface GatewayHandle extends Closable {
  service: GatewayService;
  grpcPort: number;
  httpPort: number | null;
  logPublicKey: Uint8Array;
}

export interface StartOptions {
  modules: AdapterModules;
  bls: Bls;
  log?: Logger;
  /** A queue to use instead of the configured one (one-process setups share one embedded queue). */
  queue?: BatchQueue;
  onEvent?: (e: GatewayEvent) => void;
}

/** Store, queue, evidence adapters, the service, and its gRPC and HTTP listeners. */
export async function startGateway(config: ShanduConfig, o: StartOptions): Promise<GatewayHandle> {
  const g = config.gateway;
  if (!g) throw new GatewayError("INVALID_REQUEST", "the config has no gateway section", { facts: { field: "gateway" } });
  const log = o.log ?? silentLogger;
  const opened: Closable[] = [];
  try {
    const committees = await loadCommittees(config, o.bls);
    const logSecretKey = await readKeyFile(g.logKeyFile, 32, "transparency-log key");
    const logPublicKey = ed25519.getPublicKey(logSecretKey);
    const sql = await openSql(config.store);
    const store = new GatewayStore(sql);
    opened.push(store);
    const queue = o.queue ?? (await openQueue(config, "shandu-gateway"));
    if (!o.queue) opened.push(queue);
    const adapters = await createAdapters(config, o.modules, o.bls, g.evidenceChains);
    opened.push(...adapters.values());
    const metrics = createGatewayMetrics();
    const service = await GatewayService.start({
      store,
      queue,
      bls: o.bls,
      chain: committees.chain,
      committees: { genesis: committees.genesis, rotations: committees.rotations },
      lanes: lanesOf(config),
      nativeSchemes: nativeSchemesOf(config),
      adapters,
      logSecretKey,
      logPublicKey,
      log: log.child("gateway"),
      onEvent: (e) => {
        metrics.observe(e);
        o.onEvent?.(e);
      },
    });
    opened.push(service);
    const grpc = await startGrpcServer(service, { listen: g.grpc.listen, ...(g.grpc.tls ? { tls: g.grpc.tls } : {}) });
    opened.push(grpc);
    const http = g.http ? await startHttpServer(service, { listen: g.http.listen, metrics: () => metrics.render() }) : null;
    if (http) opened.push(http);
    log.info("gateway started", { grpcPort: grpc.port, httpPort: http?.port ?? null, store: sql.kind, queue: queue.kind });
    return { service, grpcPort: grpc.port, httpPort: http?.port ?? null, logPublicKey, close: () => closeAll(opened) };
  } catch (e) {
    await closeAll(opened);
    throw e;
  }
}

export interface AttesterHandle extends Closable {
  attester: Attester;
}

/** One member's attester: its key, its journal, source adapters and a gRPC client of the gateway. */
export async function startAttester(
  config: ShanduConfig,
  member: string,
  o: StartOptions & { onAttesterEvent?: (e: AttesterEvent) => void; gatewayAddress?: string },
): Promise<AttesterHandle> {
  const a = config.attesters.find((x) => x.member === member);
  if (!a) {
    throw new GatewayError(
      "INVALID_REQUEST",
      `no attester "${member}" in the config (attesters: ${config.attesters.map((x) => x.member).join(", ")})`,
      {
        facts: { field: "attesters" },
      },
    );
  }
  const opened: Closable[] = [];
  try {
    const committees = await loadCommittees(config, o.bls);
    const secretKey = await readKeyFile(a.blsKeyFile, 32, "BLS key");
    // Native keys for the schemes this member's lanes need, checked now rather than at the first batch.
    const nativeSchemes = nativeSchemesOf(config);
    const nativeKeys: Partial<Record<NativeKeySchemeName, Uint8Array>> = {};
    for (const l of config.lanes) {
      const scheme = nativeSchemes.get(l.destinationChainId);
      if (!scheme || nativeKeys[scheme]) continue;
      const file = scheme === "secp256k1" ? a.secp256k1KeyFile : a.sm2KeyFile;
      if (!file) {
        throw new GatewayError(
          "INVALID_REQUEST",
          `chain ${l.to} verifies ${scheme} co-signatures: set ${scheme}KeyFile for attester ${member}`,
          {
            facts: { field: `attesters.${member}.${scheme}KeyFile` },
          },
        );
      }
      nativeKeys[scheme] = await readKeyFile(file, 32, `${scheme} key`);
    }
    const sourceNames = new Set(config.lanes.map((l) => l.from));
    const adapters = await createAdapters(config, o.modules, o.bls, sourceNames);
    opened.push(...adapters.values());
    const client = connectGateway({
      address: o.gatewayAddress ?? a.gateway.address,
      deadlineMs: a.gateway.deadlineMs,
      ...(a.gateway.tls ? { tls: a.gateway.tls } : {}),
    });
    opened.push(client);
    const attester = new Attester({
      memberId: member,
      secretKey,
      nativeSchemes,
      nativeKeys,
      bls: o.bls,
      chain: committees.chain,
      sources: [...adapters.values()].map((adapter) => ({
        adapter,
        destinations: config.lanes.filter((l) => l.sourceChainId === adapter.chainId).map((l) => l.destinationChainId),
      })),
      gateway: client,
      stateDir: a.stateDir,
      policy: config.policy.batch,
      log: (o.log ?? silentLogger).child(`attester.${member}`),
      ...(o.onAttesterEvent ? { onEvent: o.onAttesterEvent } : {}),
    });
    await attester.start();
    opened.push(attester);
    return { attester, close: () => closeAll(opened) };
  } catch (e) {
    await closeAll(opened);
    throw e;
  }
}
