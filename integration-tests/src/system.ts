/**
 * The running system as the `shandu` commands assemble it, for the end-to-end tests between chain kinds:
 * the shared part of their `shandu.yaml` (committee, lanes, batching, embedded store and queue, gateway,
 * one attester per member, a relayer), and the gateway, attesters and relayer started from it on one
 * queue and closed in reverse order.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AdapterModules } from "@shandu/adapter-core";
import {
  type AttesterHandle,
  type BatchQueue,
  type GatewayHandle,
  openQueue,
  type ShanduConfig,
  startAttester,
  startGateway,
} from "@shandu/gateway";
import { type Bls, committeeToJson, sha256, toHex } from "@shandu/proofs";
import type { TestCommittee } from "@shandu/proofs/testing";
import { type RelayerHandle, startRelayer } from "@shandu/relayers";

/** Writes a key file under `dir/keys` (mode 0600): bytes as hex, text as it is. */
export type WriteSecret = (name: string, key: Uint8Array | string) => Promise<void>;

/**
 * Prepares `dir` for {@link systemConfig}: `keys/` (0700) and `data/`, the genesis committee, each member's
 * BLS key (`keys/<id>.bls`) and the transparency log's key (`keys/log`, from `logSeed`). Returns the
 * writer for the other key files.
 */
export async function prepareSystemDir(dir: string, tc: TestCommittee, logSeed: string): Promise<WriteSecret> {
  await mkdir(join(dir, "keys"), { recursive: true, mode: 0o700 });
  await mkdir(join(dir, "data"), { recursive: true });
  const secret: WriteSecret = (name, key) =>
    writeFile(join(dir, "keys", name), typeof key === "string" ? key : toHex(key), { mode: 0o600 });
  for (const [i, m] of tc.committee.members.entries()) await secret(`${m.id}.bls`, tc.secretKeys[i]!);
  await secret("log", sha256(new TextEncoder().encode(logSeed)));
  await writeFile(join(dir, "genesis.json"), JSON.stringify(committeeToJson(tc.committee)));
  return secret;
}

/** The section of an anvil chain: its outbox and inbox, final at once, delivered to with `./keys/<keyName>`. */
export function evmChainSection(o: {
  chainId: bigint;
  anvil: { rpcUrl: string; chainId: number };
  outbox: string;
  inbox: string;
  keyName: string;
}): Record<string, unknown> {
  return {
    kind: "evm",
    chainId: o.chainId.toString(),
    rpcUrl: o.anvil.rpcUrl,
    evmChainId: o.anvil.chainId,
    outbox: o.outbox,
    inbox: o.inbox,
    finalityDepthBlocks: 0,
    pollIntervalMs: 100,
    signer: { keyFile: `./keys/${o.keyName}` },
  };
}

export interface SystemConfigOptions {
  /** The `chains` section: one adapter section per chain name. */
  chains: Record<string, unknown>;
  /** Lanes as `[from, to]` chain names. */
  lanes: readonly (readonly [string, string])[];
  grpcPort: number;
  /** Committee member ids; each gets an attester with `./keys/<id>.bls`. */
  members: readonly string[];
  /** More fields of a member's attester section (e.g. a native key file). */
  attesterExtra?: (member: string) => Record<string, unknown>;
}

/** A `shandu.yaml` (as an object) whose paths are relative to the directory it is written to. */
export function systemConfig(o: SystemConfigOptions): Record<string, unknown> {
  return {
    chains: o.chains,
    committee: { genesisFile: "./genesis.json" },
    lanes: o.lanes.map(([from, to]) => ({ from, to })),
    policy: { batch: { windowBlocks: 1, maxMessages: 64 } },
    store: { dataDir: "./data/gateway" },
    nats: { embedded: true },
    gateway: { grpc: { listen: `127.0.0.1:${o.grpcPort}` }, logKeyFile: "./keys/log" },
    attesters: o.members.map((id) => ({
      member: id,
      blsKeyFile: `./keys/${id}.bls`,
      ...o.attesterExtra?.(id),
      stateDir: `./data/attester-${id}`,
      gateway: { address: `127.0.0.1:${o.grpcPort}` },
    })),
    relayer: { name: "relayer-0", backoffMs: 200 },
  };
}

export interface RunningSystem {
  gateway: GatewayHandle;
  attesters: AttesterHandle[];
  relayer: RelayerHandle;
  close(): Promise<void>;
}

/** Starts the gateway, an attester per member and the relayer from `config`; on failure closes what started. */
export async function startSystem(
  config: ShanduConfig,
  members: readonly string[],
  o: { modules: AdapterModules; bls: Bls },
): Promise<RunningSystem> {
  const queue: BatchQueue = await openQueue(config, "test");
  let gateway: GatewayHandle | undefined;
  const attesters: AttesterHandle[] = [];
  let relayer: RelayerHandle | undefined;
  const close = async () => {
    await relayer?.close();
    for (const a of attesters) await a.close();
    await gateway?.close();
    await queue.close();
  };
  try {
    gateway = await startGateway(config, { modules: o.modules, bls: o.bls, queue });
    for (const id of members) attesters.push(await startAttester(config, id, { modules: o.modules, bls: o.bls }));
    relayer = await startRelayer(config, { modules: o.modules, bls: o.bls, queue });
    return { gateway, attesters, relayer, close };
  } catch (e) {
    await close();
    throw e;
  }
}
