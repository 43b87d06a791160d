/**
 * A local alliance on one machine: two anvil chains named after the low-carbon pilot, the Shandu
 * contracts and an example application deployed on each, a four-member committee with fresh keys, NATS
 * (the real `nats-server` when installed, otherwise the in-process queue), and one `shandu.yaml` that
 * every role reads. `shandu devnet`, the end-to-end tests and the benchmark all start from here.
 *
 * The keys are generated on the spot and written with mode 0600 into the devnet directory; they guard
 * nothing but this throwaway network.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { type AnvilNode, deployContract, startAnvil } from "@shandu/adapter-evm/testing";
import { committeeInput } from "@shandu/deploy";
import { type NatsServer, natsServerBinary, startNatsServer } from "@shandu/gateway/testing";
import { type Bls, type Committee, committeeToJson, keyGen, type QuorumPolicy, toHex } from "@shandu/proofs";
import { PILOT_POLICY } from "@shandu/proofs/testing";
import type { Contract } from "ethers";
import { stringify } from "yaml";

/** The pilot's quorum: two thirds of the weight, each alliance and the regulator among the signers. */
export const DEVNET_POLICY: QuorumPolicy = PILOT_POLICY;

export const DEVNET_MEMBERS = [
  { id: "shanghai-alliance", group: "shanghai-alliance" },
  { id: "shenzhen-alliance", group: "shenzhen-alliance" },
  { id: "clearing-bank", group: "clearing" },
  { id: "regulator", group: "regulator" },
] as const;

export interface DevnetChain {
  name: string;
  /** Shandu chain id. */
  chainId: bigint;
  node: AnvilNode;
  outbox: Contract;
  inbox: Contract;
  /** The example application (GoodDeedLedger) messages are sent to. */
  ledger: Contract;
}

export interface Alliance {
  dir: string;
  configPath: string;
  /** A second config whose chains use other delivery accounts (for a second relayer process). */
  configPathFor(relayerIndex: number): Promise<string>;
  chains: [DevnetChain, DevnetChain];
  committee: Committee;
  /** BLS secret keys by member index (the attesters read them from their key files). */
  secretKeys: Uint8Array[];
  nats: NatsServer | null;
  natsMode: "nats-server" | "embedded";
  ports: { grpc: number; http: number; relayerHttp: number };
  genesisPath: string;
  close(): Promise<void>;
}

export interface AllianceOptions {
  dir: string;
  bls: Bls;
  /** Anvil block time; 0 or undefined mines a block per transaction. */
  blockTimeSeconds?: number;
  /** PostgreSQL URL for the gateway store; default the embedded store under dir/data/gateway. */
  storeUrl?: string;
  /** Use the in-process queue even when nats-server is installed. */
  embeddedQueue?: boolean;
  maxMessages?: number;
  windowBlocks?: number;
  pollIntervalMs?: number;
  relayerAckWaitMs?: number;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function writeSecret(path: string, bytes: Uint8Array | string): Promise<void> {
  await writeFile(path, typeof bytes === "string" ? bytes : toHex(bytes), { mode: 0o600 });
}

export const CHAIN_NAMES = ["shanghai-lowcarbon", "shenzhen-welfare"] as const;
/** Shandu chain ids: 86 + the cities' area codes (021, 0755). */
export const CHAIN_IDS = [86021n, 86755n] as const;

export async function startAlliance(o: AllianceOptions): Promise<Alliance> {
  const cleanup: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  };
  try {
    await mkdir(join(o.dir, "keys"), { recursive: true, mode: 0o700 });
    await mkdir(join(o.dir, "data"), { recursive: true });
    // Committee with fresh keys and proofs of possession.
    const secretKeys = DEVNET_MEMBERS.map(() => keyGen(randomBytes(32)));
    const committee: Committee = {
      epoch: 0n,
      members: DEVNET_MEMBERS.map((m, i) => ({
        id: m.id,
        group: m.group,
        weight: 1,
        blsPublicKey: o.bls.publicKeyOf(secretKeys[i]!),
        proofOfPossession: o.bls.provePossession(secretKeys[i]!),
        nativeKeys: [],
      })),
      policy: DEVNET_POLICY,
    };
    const genesisPath = join(o.dir, "genesis.json");
    await writeFile(genesisPath, `${JSON.stringify(committeeToJson(committee), null, 2)}\n`);
    for (const [i, m] of DEVNET_MEMBERS.entries()) await writeSecret(join(o.dir, "keys", `${m.id}.bls.key`), secretKeys[i]!);
    await writeSecret(join(o.dir, "keys", "log.ed25519.key"), randomBytes(32));

    const nodes = await Promise.all(
      [31401, 31402].map((evmChainId) =>
        startAnvil({ chainId: evmChainId, ...(o.blockTimeSeconds ? { blockTimeSeconds: o.blockTimeSeconds } : {}) }),
      ),
    );
    for (const n of nodes) cleanup.push(() => n.close());
    const chains = [] as unknown as [DevnetChain, DevnetChain];
    for (const [i, node] of nodes.entries()) {
      const chainId = CHAIN_IDS[i]!;
      const deployer = node.wallet(0);
      const outbox = await deployContract(deployer, "ShanduOutbox", [chainId, deployer.address]);
      const inbox = await deployContract(deployer, "ShanduInbox", [chainId, committeeInput(committee), []]);
      const ledger = await deployContract(deployer, "GoodDeedLedger", [await inbox.getAddress()]);
      chains.push({ name: CHAIN_NAMES[i]!, chainId, node, outbox, inbox, ledger });
    }
    // Delivery accounts: account 2 + relayer index, per chain.
    for (const c of chains)
      for (const r of [0, 1, 2]) await writeSecret(join(o.dir, "keys", `${c.name}.relayer${r}.key`), c.node.accounts[2 + r]!);

    const natsBinary = o.embeddedQueue ? null : natsServerBinary();
    const nats = natsBinary ? await startNatsServer() : null;
    if (nats) cleanup.push(() => nats.stop());
    const ports = { grpc: await freePort(), http: await freePort(), relayerHttp: await freePort() };

    const configFor = async (relayerIndex: number) => ({
      chains: Object.fromEntries(
        await Promise.all(
          chains.map(async (c) => [
            c.name,
            {
              kind: "evm",
              chainId: c.chainId.toString(),
              rpcUrl: c.node.rpcUrl,
              evmChainId: c.node.chainId,
              outbox: await c.outbox.getAddress(),
              inbox: await c.inbox.getAddress(),
              finalityDepthBlocks: 0,
              pollIntervalMs: o.pollIntervalMs ?? 100,
              signer: { keyFile: `./keys/${c.name}.relayer${relayerIndex}.key` },
            },
          ]),
        ),
      ),
      committee: { genesisFile: "./genesis.json" },
      lanes: [
        { from: CHAIN_NAMES[0], to: CHAIN_NAMES[1] },
        { from: CHAIN_NAMES[1], to: CHAIN_NAMES[0] },
      ],
      policy: { batch: { windowBlocks: o.windowBlocks ?? 1, maxMessages: o.maxMessages ?? 128 } },
      store: o.storeUrl ? { url: o.storeUrl } : { dataDir: "./data/gateway" },
      nats: nats ? { servers: [nats.url] } : { embedded: true },
      gateway: {
        grpc: { listen: `127.0.0.1:${ports.grpc}` },
        http: { listen: `127.0.0.1:${ports.http}` },
        logKeyFile: "./keys/log.ed25519.key",
      },
      attesters: DEVNET_MEMBERS.map((m) => ({
        member: m.id,
        blsKeyFile: `./keys/${m.id}.bls.key`,
        stateDir: `./data/attester-${m.id}`,
        gateway: { address: `127.0.0.1:${ports.grpc}` },
      })),
      relayer: {
        name: `relayer-${relayerIndex}`,
        ackWaitMs: o.relayerAckWaitMs ?? 30_000,
        backoffMs: 500,
        ...(relayerIndex === 0 ? { http: { listen: `127.0.0.1:${ports.relayerHttp}` } } : {}),
      },
    });
    const writeConfig = async (relayerIndex: number) => {
      const path = join(o.dir, relayerIndex === 0 ? "shandu.yaml" : `shandu.relayer${relayerIndex}.yaml`);
      const header = "# Written by `shandu devnet`: a local alliance of two anvil chains. Paths are relative to this file.\n";
      await writeFile(path, header + stringify(await configFor(relayerIndex)));
      return path;
    };
    const configPath = await writeConfig(0);
    return {
      dir: o.dir,
      configPath,
      configPathFor: writeConfig,
      chains,
      committee,
      secretKeys,
      nats,
      natsMode: nats ? "nats-server" : "embedded",
      ports,
      genesisPath,
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
