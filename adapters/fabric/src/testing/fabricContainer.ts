/**
 * A Hyperledger Fabric 2.5 network in the official images, started with `testcontainers` — real
 * peers and a real orderer, for the suites that run wherever a container runtime exists. It is laid out
 * as Fabric's own `test-network` lays out its two-organisation network:
 *
 * - `hyperledger/fabric-tools` makes the crypto material with `cryptogen` (an orderer organisation
 *   `example.com`; `org1.example.com` and `org2.example.com` with NodeOUs, one peer and one user each) and
 *   the channel's genesis block with `configtxgen` (no system channel; etcdraft with one consenter; both
 *   organisations' anchor peers in the genesis block, so gossip and discovery find both peers without a
 *   channel update); it then runs `osnadmin channel join`, `peer channel join` and the chaincode lifecycle
 *   as each organisation's admin;
 * - one `hyperledger/fabric-orderer` with the channel participation API (TLS everywhere; admin endpoint
 *   with mutual TLS, the orderer's TLS certificate as the admin client, as test-network does);
 * - `peer0.org1.example.com` and `peer0.org2.example.com` in `hyperledger/fabric-peer`, with the Gateway
 *   service and no Docker endpoint: chaincode runs only as a service, through the `ccaas_builder` the
 *   peer image carries (`CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG` names each peer for the address template);
 * - the Shandu chaincode (`deploy/chaincode`) **as a service**, one `node:24` container per peer, as
 *   docs/fabric.md *Packaging* says: Fabric's `fabric-nodeenv` images ship a Node too old to load the
 *   TypeScript sources, so the chaincode is not deployed as a Node chaincode. Each container gets
 *   `deploy/chaincode`, `proofs/` (the `@shandu/proofs` workspace package, as source outside
 *   `node_modules`, so Node strips its types) and the production dependency closure of both, copied from
 *   this repository's `node_modules` (without `@chainsafe/blst`: the chaincode verifies with the pure-JS
 *   backend, and a native module built for this host might not load there), and runs
 *   `fabric-chaincode-node server`. The package (`metadata.json` type `ccaas`, `connection.json`) is
 *   installed on both peers, approved by both organisations and committed with the channel's default
 *   endorsement policy, `MAJORITY Endorsement`: both organisations. It is committed **without**
 *   `--init-required` (unlike production, docs/fabric.md): the Fabric Gateway client cannot send an
 *   `isInit` transaction, and `ShanduInbox:initialise` guards itself.
 *
 * Keys and certificates come from `cryptogen`; the host needs the `tar` command to unpack them. Image tags
 * can be replaced with `SHANDU_FABRIC_PEER_IMAGE`, `SHANDU_FABRIC_ORDERER_IMAGE`,
 * `SHANDU_FABRIC_TOOLS_IMAGE` and `SHANDU_CHAINCODE_NODE_IMAGE`. `testcontainers` is loaded only when a
 * function here needs it, so importing this module costs nothing where no container is started.
 *
 * NOT YET RUN: this harness was written on a machine without a container runtime, so only its skip path
 * has run. Expect to adjust details (log lines waited for, timings) on the first run against Docker.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type ContainerRuntime, probeContainerRuntime as probeWith } from "@shandu/adapter-core/testing";
import type { StartedNetwork, StartedTestContainer } from "testcontainers";

export const FABRIC_PEER_IMAGE: string = process.env.SHANDU_FABRIC_PEER_IMAGE || "hyperledger/fabric-peer:2.5";
export const FABRIC_ORDERER_IMAGE: string = process.env.SHANDU_FABRIC_ORDERER_IMAGE || "hyperledger/fabric-orderer:2.5";
export const FABRIC_TOOLS_IMAGE: string = process.env.SHANDU_FABRIC_TOOLS_IMAGE || "hyperledger/fabric-tools:2.5";
/** Node 24: the chaincode's TypeScript sources need its type stripping and `require` of ES modules. */
export const CHAINCODE_NODE_IMAGE: string = process.env.SHANDU_CHAINCODE_NODE_IMAGE || "node:24-bookworm-slim";

export const FABRIC_CHANNEL = "shandu";
export const FABRIC_CHAINCODE = "shandu";
const PEER_PORT = 7051;
const CHAINCODE_PORT = 9999;
const ORDERER = "orderer.example.com";

export { type ContainerRuntime, skipWithoutRuntime } from "@shandu/adapter-core/testing";

/** Whether a container runtime answers (`@shandu/adapter-core/testing`), with this package's `testcontainers`. */
export const probeContainerRuntime = (timeoutMs = 20_000): Promise<ContainerRuntime> =>
  probeWith(import.meta.resolve("testcontainers"), timeoutMs);

/** One organisation of the network, as a client and a verifier need it (files on the host). */
export interface FabricOrg {
  mspId: string;
  /** The organisation's root CA certificate (PEM), which issued its peer's and user's signing certificates. */
  caPem: string;
  /** `User1@<domain>`: its signing certificate and P-256 key (PEM). */
  user: { certFile: string; keyFile: string };
}

/** A started network: stop it (and remove its files) with `stop`; `logs` is the tail of every container's output. */
export interface FabricNetwork {
  readonly channel: string;
  readonly chaincode: string;
  /** `host:port` of peer0.org1's Gateway service (TLS). */
  readonly peerEndpoint: string;
  /** The CA of the peers' TLS certificates, for Org1's peer (PEM file). */
  readonly tlsCaFile: string;
  /** The name in peer0.org1's TLS certificate. */
  readonly tlsServerName: string;
  /** Org1MSP (the initialiser MSP) and Org2MSP. */
  readonly orgs: readonly [FabricOrg, FabricOrg];
  logs(): string;
  stop(): Promise<void>;
}

export interface FabricNetworkOptions {
  /** `SHANDU_INITIALISER_MSP` of the chaincode; default Org1MSP. */
  initialiserMsp?: string;
  /** Image pulls and container starts, each; default 5 min. */
  startTimeoutMs?: number;
  /** Each setup step (channel joins, lifecycle), retried until it succeeds; default 2 min. */
  stepTimeoutMs?: number;
}

const ORGS = [
  { name: "Org1", mspId: "Org1MSP", domain: "org1.example.com", peerName: "peer0org1" },
  { name: "Org2", mspId: "Org2MSP", domain: "org2.example.com", peerName: "peer0org2" },
] as const;
type Org = (typeof ORGS)[number];

const peerHost = (o: Org) => `peer0.${o.domain}`;

const CRYPTO_CONFIG = `OrdererOrgs:
  - Name: Orderer
    Domain: example.com
    EnableNodeOUs: true
    Specs:
      - Hostname: orderer
        SANS: [localhost]
PeerOrgs:
${ORGS.map(
  (o) => `  - Name: ${o.name}
    Domain: ${o.domain}
    EnableNodeOUs: true
    Template:
      Count: 1
      SANS: [localhost]
    Users:
      Count: 1
`,
).join("")}`;

const ORDERER_TLS = `organizations/ordererOrganizations/example.com/orderers/${ORDERER}/tls`;

/** Paths are relative to the directory of configtx.yaml (`configtxgen -configPath`). */
const CONFIGTX = `Organizations:
  - &OrdererOrg
    Name: OrdererOrg
    ID: OrdererMSP
    MSPDir: organizations/ordererOrganizations/example.com/msp
    Policies:
      Readers: { Type: Signature, Rule: "OR('OrdererMSP.member')" }
      Writers: { Type: Signature, Rule: "OR('OrdererMSP.member')" }
      Admins: { Type: Signature, Rule: "OR('OrdererMSP.admin')" }
    OrdererEndpoints: [${ORDERER}:7050]
${ORGS.map(
  (o) => `  - &${o.name}
    Name: ${o.mspId}
    ID: ${o.mspId}
    MSPDir: organizations/peerOrganizations/${o.domain}/msp
    Policies:
      Readers: { Type: Signature, Rule: "OR('${o.mspId}.admin', '${o.mspId}.peer', '${o.mspId}.client')" }
      Writers: { Type: Signature, Rule: "OR('${o.mspId}.admin', '${o.mspId}.client')" }
      Admins: { Type: Signature, Rule: "OR('${o.mspId}.admin')" }
      Endorsement: { Type: Signature, Rule: "OR('${o.mspId}.peer')" }
    AnchorPeers:
      - { Host: ${peerHost(o)}, Port: ${PEER_PORT} }
`,
).join("")}
Capabilities:
  Channel: &ChannelCapabilities { V2_0: true }
  Orderer: &OrdererCapabilities { V2_0: true }
  Application: &ApplicationCapabilities { V2_5: true }

Application: &ApplicationDefaults
  Organizations:
  Policies:
    Readers: { Type: ImplicitMeta, Rule: "ANY Readers" }
    Writers: { Type: ImplicitMeta, Rule: "ANY Writers" }
    Admins: { Type: ImplicitMeta, Rule: "MAJORITY Admins" }
    LifecycleEndorsement: { Type: ImplicitMeta, Rule: "MAJORITY Endorsement" }
    Endorsement: { Type: ImplicitMeta, Rule: "MAJORITY Endorsement" }
  Capabilities: *ApplicationCapabilities

Orderer: &OrdererDefaults
  OrdererType: etcdraft
  EtcdRaft:
    Consenters:
      - Host: ${ORDERER}
        Port: 7050
        ClientTLSCert: ${ORDERER_TLS}/server.crt
        ServerTLSCert: ${ORDERER_TLS}/server.crt
  BatchTimeout: 1s
  BatchSize: { MaxMessageCount: 10, AbsoluteMaxBytes: 99 MB, PreferredMaxBytes: 512 KB }
  Organizations:
  Policies:
    Readers: { Type: ImplicitMeta, Rule: "ANY Readers" }
    Writers: { Type: ImplicitMeta, Rule: "ANY Writers" }
    Admins: { Type: ImplicitMeta, Rule: "MAJORITY Admins" }
    BlockValidation: { Type: ImplicitMeta, Rule: "ANY Writers" }

Channel: &ChannelDefaults
  Policies:
    Readers: { Type: ImplicitMeta, Rule: "ANY Readers" }
    Writers: { Type: ImplicitMeta, Rule: "ANY Writers" }
    Admins: { Type: ImplicitMeta, Rule: "MAJORITY Admins" }
  Capabilities: *ChannelCapabilities

Profiles:
  ShanduChannel:
    <<: *ChannelDefaults
    Orderer:
      <<: *OrdererDefaults
      Organizations: [*OrdererOrg]
      Capabilities: *OrdererCapabilities
    Application:
      <<: *ApplicationDefaults
      Organizations: [${ORGS.map((o) => `*${o.name}`).join(", ")}]
      Capabilities: *ApplicationCapabilities
`;

const PACKAGE_LABEL = "shandu_1";
/** `{{.peername}}` is filled from each peer's `CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`. */
const CONNECTION_JSON = JSON.stringify({ address: `{{.peername}}-shandu:${CHAINCODE_PORT}`, dial_timeout: "10s", tls_required: false });
const METADATA_JSON = JSON.stringify({ type: "ccaas", label: PACKAGE_LABEL });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `p` within `ms`; when late, `late` disposes of what `p` still resolves to. */
async function within<T>(p: Promise<T>, ms: number, what: string, late: (v: T) => unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      p.then(late, () => {});
      reject(new Error(`${what} took longer than ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Retries `step` until it resolves, for at most `ms`; the last error is in the message. */
async function until<T>(step: () => Promise<T>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await step();
    } catch (e) {
      last = e;
      await sleep(2000);
    }
  }
  throw new Error(`${what} within ${ms} ms; last error: ${String(last)}`);
}

/** The repository root (this file is adapters/fabric/src/testing/fabricContainer.ts). */
const REPO = fileURLToPath(new URL("../../../../", import.meta.url));

/**
 * The directories (relative to the repository root) of the packages `deploy/chaincode` and
 * `@shandu/proofs` need at run time, found as Node would resolve them from the repository's `node_modules`.
 */
export function chaincodeDependencyDirs(): string[] {
  const found = new Set<string>();
  const visit = (name: string, from: string) => {
    if (name === "@chainsafe/blst" || name.startsWith("@shandu/")) return;
    for (let dir = from; ; dir = dirname(dir)) {
      const candidate = join(dir, "node_modules", name);
      if (existsSync(join(candidate, "package.json"))) {
        const real = realpathSync(candidate);
        if (found.has(real)) return;
        found.add(real);
        const pkg = JSON.parse(readFileSync(join(real, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
        for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) visit(dep, real);
        return;
      }
      if (dirname(dir) === dir) throw new Error(`${name} (needed from ${from}) is not installed`);
    }
  };
  for (const pkg of ["deploy/chaincode", "proofs"]) {
    const json = JSON.parse(readFileSync(join(REPO, pkg, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(json.dependencies ?? {})) visit(dep, join(REPO, pkg));
  }
  return [...found].map((d) => relative(REPO, d)).sort();
}

/** Unpacks a tar stream into `dir` with the `tar` command. */
function untar(stream: NodeJS.ReadableStream, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const tar = spawn("tar", ["-x", "-C", dir], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    tar.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    tar.on("error", (e) => reject(new Error(`the tar command is needed to unpack the crypto material: ${e.message}`)));
    tar.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`tar -x exited with ${code}: ${stderr}`))));
    stream.pipe(tar.stdin);
  });
}

/** Everything started, for `stop`, and the tails of their output. */
class Started {
  readonly containers: { name: string; container: StartedTestContainer }[] = [];
  readonly tails = new Map<string, string>();
  network: StartedNetwork | undefined;

  consumer(name: string) {
    return (stream: NodeJS.ReadableStream) => {
      stream.on("data", (chunk: Buffer | string) => {
        this.tails.set(name, ((this.tails.get(name) ?? "") + chunk.toString()).slice(-16 * 1024));
      });
      stream.on("error", () => {});
    };
  }

  logs(): string {
    return [...this.tails].map(([name, tail]) => `--- ${name} (tail) ---\n${tail}`).join("\n");
  }

  async stop(): Promise<void> {
    for (const { container } of this.containers.reverse()) await container.stop({ timeout: 10_000 }).catch(() => {});
    await this.network?.stop().catch(() => {});
  }
}

/**
 * Starts the network described in the module comment and deploys the Shandu chaincode on channel
 * `shandu` as chaincode `shandu`. Throws with every container's output when a step fails or is late.
 */
export async function startFabricNetwork(o: FabricNetworkOptions = {}): Promise<FabricNetwork> {
  const { GenericContainer, Network, Wait } = await import("testcontainers");
  const startMs = o.startTimeoutMs ?? 300_000;
  const stepMs = o.stepTimeoutMs ?? 120_000;
  const dir = mkdtempSync(join(tmpdir(), "shandu-fabric-net-"));
  const s = new Started();

  const start = async (name: string, c: InstanceType<typeof GenericContainer>): Promise<StartedTestContainer> => {
    const container = await within(
      c.withStartupTimeout(startMs).withLogConsumer(s.consumer(name)).start(),
      startMs,
      `starting ${name}`,
      (late) => late.stop(),
    );
    s.containers.push({ name, container });
    return container;
  };

  try {
    s.network = await new Network().start();
    const network = s.network;

    // 1. Crypto material, genesis block and chaincode package, in the tools container (kept for the CLI steps).
    const tools = await start(
      "tools",
      new GenericContainer(FABRIC_TOOLS_IMAGE)
        .withNetwork(network)
        .withEntrypoint(["tail", "-f", "/dev/null"])
        .withCopyContentToContainer([
          { content: CRYPTO_CONFIG, target: "/work/crypto-config.yaml" },
          { content: CONFIGTX, target: "/work/configtx.yaml" },
          { content: CONNECTION_JSON, target: "/work/ccaas/connection.json" },
          { content: METADATA_JSON, target: "/work/ccaas/metadata.json" },
        ]),
    );
    const run = async (what: string, command: string[], env: Record<string, string> = {}): Promise<string> => {
      const r = await tools.exec(command, { workingDir: "/work", env });
      if (r.exitCode !== 0) throw new Error(`${what}: ${command.join(" ")} exited with ${r.exitCode}:\n${r.output}`);
      return r.stdout;
    };
    await run("cryptogen", ["cryptogen", "generate", "--config=/work/crypto-config.yaml", "--output=/work/organizations"]);
    await run("configtxgen", [
      "configtxgen",
      "-configPath",
      "/work",
      "-profile",
      "ShanduChannel",
      "-channelID",
      FABRIC_CHANNEL,
      "-outputBlock",
      "/work/shandu.block",
    ]);
    await run("packaging the chaincode", [
      "sh",
      "-c",
      "cd /work/ccaas && tar czf code.tar.gz connection.json && tar czf /work/shandu.tgz metadata.json code.tar.gz",
    ]);
    // Fabric's package id: the label, then the SHA-256 of the package file.
    const packageSha = (await run("hashing the package", ["sha256sum", "/work/shandu.tgz"])).trim().split(/\s+/)[0];
    const packageId = `${PACKAGE_LABEL}:${packageSha}`;
    await untar(await tools.copyArchiveFromContainer("/work/organizations"), dir);
    const orgsDir = join(dir, "organizations");

    // 2. The orderer, then the channel on it.
    const ordererDir = join(orgsDir, "ordererOrganizations/example.com/orderers", ORDERER);
    const tlsCa = "/var/hyperledger/orderer/tls/ca.crt";
    await start(
      ORDERER,
      new GenericContainer(FABRIC_ORDERER_IMAGE)
        .withNetwork(network)
        .withNetworkAliases(ORDERER)
        .withCopyDirectoriesToContainer([
          { source: join(ordererDir, "msp"), target: "/var/hyperledger/orderer/msp" },
          { source: join(ordererDir, "tls"), target: "/var/hyperledger/orderer/tls" },
        ])
        .withEnvironment({
          FABRIC_LOGGING_SPEC: "INFO",
          ORDERER_GENERAL_LISTENADDRESS: "0.0.0.0",
          ORDERER_GENERAL_LISTENPORT: "7050",
          ORDERER_GENERAL_LOCALMSPID: "OrdererMSP",
          ORDERER_GENERAL_LOCALMSPDIR: "/var/hyperledger/orderer/msp",
          ORDERER_GENERAL_TLS_ENABLED: "true",
          ORDERER_GENERAL_TLS_PRIVATEKEY: "/var/hyperledger/orderer/tls/server.key",
          ORDERER_GENERAL_TLS_CERTIFICATE: "/var/hyperledger/orderer/tls/server.crt",
          ORDERER_GENERAL_TLS_ROOTCAS: `[${tlsCa}]`,
          ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE: "/var/hyperledger/orderer/tls/server.crt",
          ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY: "/var/hyperledger/orderer/tls/server.key",
          ORDERER_GENERAL_CLUSTER_ROOTCAS: `[${tlsCa}]`,
          ORDERER_GENERAL_BOOTSTRAPMETHOD: "none",
          ORDERER_CHANNELPARTICIPATION_ENABLED: "true",
          ORDERER_ADMIN_LISTENADDRESS: "0.0.0.0:7053",
          ORDERER_ADMIN_TLS_ENABLED: "true",
          ORDERER_ADMIN_TLS_CERTIFICATE: "/var/hyperledger/orderer/tls/server.crt",
          ORDERER_ADMIN_TLS_PRIVATEKEY: "/var/hyperledger/orderer/tls/server.key",
          ORDERER_ADMIN_TLS_ROOTCAS: `[${tlsCa}]`,
          ORDERER_ADMIN_TLS_CLIENTROOTCAS: `[${tlsCa}]`,
        })
        .withWaitStrategy(Wait.forLogMessage(/Beginning to serve requests/)),
    );
    const ordererTools = `/work/organizations/ordererOrganizations/example.com/orderers/${ORDERER}/tls`;
    const ordererCa = "/work/organizations/ordererOrganizations/example.com/tlsca/tlsca.example.com-cert.pem";
    await until(
      () =>
        run("osnadmin channel join", [
          "osnadmin",
          "channel",
          "join",
          "--channelID",
          FABRIC_CHANNEL,
          "--config-block",
          "/work/shandu.block",
          "-o",
          `${ORDERER}:7053`,
          "--ca-file",
          ordererCa,
          "--client-cert",
          `${ordererTools}/server.crt`,
          "--client-key",
          `${ordererTools}/server.key`,
        ]),
      stepMs,
      "the orderer did not join the channel",
    );

    // 3. The chaincode servers, one per peer, named as the package's connection.json template expects.
    const chaincodeDirs = ["deploy/chaincode", "proofs", ...chaincodeDependencyDirs()].map((d) => ({
      source: join(REPO, d),
      target: `/app/${d}`,
    }));
    for (const org of ORGS) {
      await start(
        `${org.peerName}-shandu`,
        new GenericContainer(CHAINCODE_NODE_IMAGE)
          .withNetwork(network)
          .withNetworkAliases(`${org.peerName}-shandu`)
          .withCopyDirectoriesToContainer(chaincodeDirs)
          .withWorkingDir("/app/deploy/chaincode")
          .withEnvironment({ SHANDU_INITIALISER_MSP: o.initialiserMsp ?? "Org1MSP" })
          .withEntrypoint(["sh", "-c"])
          .withCommand([
            // @shandu/proofs as a workspace link: its real path is outside node_modules, so Node strips its types.
            "mkdir -p /app/node_modules/@shandu && ln -sfn /app/proofs /app/node_modules/@shandu/proofs && " +
              `exec node /app/node_modules/fabric-shim/cli.js server --chaincode-address 0.0.0.0:${CHAINCODE_PORT} --chaincode-id "$0"`,
            packageId,
          ]),
      );
    }

    // 4. The peers, joined to the channel by their admins.
    const orgPath = (org: Org) => `/work/organizations/peerOrganizations/${org.domain}`;
    const peerTlsCa = (org: Org) => `${orgPath(org)}/tlsca/tlsca.${org.domain}-cert.pem`;
    const asAdmin = (org: Org) => ({
      CORE_PEER_LOCALMSPID: org.mspId,
      CORE_PEER_MSPCONFIGPATH: `${orgPath(org)}/users/Admin@${org.domain}/msp`,
      CORE_PEER_ADDRESS: `${peerHost(org)}:${PEER_PORT}`,
      CORE_PEER_TLS_ENABLED: "true",
      CORE_PEER_TLS_ROOTCERT_FILE: peerTlsCa(org),
    });
    const peers: StartedTestContainer[] = [];
    for (const org of ORGS) {
      const peerDir = join(orgsDir, "peerOrganizations", org.domain, "peers", peerHost(org));
      const host = peerHost(org);
      peers.push(
        await start(
          host,
          new GenericContainer(FABRIC_PEER_IMAGE)
            .withNetwork(network)
            .withNetworkAliases(host)
            .withExposedPorts(PEER_PORT)
            .withCopyDirectoriesToContainer([
              { source: join(peerDir, "msp"), target: "/etc/hyperledger/fabric/msp" },
              { source: join(peerDir, "tls"), target: "/etc/hyperledger/fabric/tls" },
            ])
            .withEnvironment({
              FABRIC_LOGGING_SPEC: "INFO",
              CORE_VM_ENDPOINT: "",
              CORE_PEER_ID: host,
              CORE_PEER_ADDRESS: `${host}:${PEER_PORT}`,
              CORE_PEER_LISTENADDRESS: `0.0.0.0:${PEER_PORT}`,
              CORE_PEER_GOSSIP_BOOTSTRAP: `${host}:${PEER_PORT}`,
              CORE_PEER_GOSSIP_EXTERNALENDPOINT: `${host}:${PEER_PORT}`,
              CORE_PEER_LOCALMSPID: org.mspId,
              CORE_PEER_MSPCONFIGPATH: "/etc/hyperledger/fabric/msp",
              CORE_PEER_TLS_ENABLED: "true",
              CORE_PEER_TLS_CERT_FILE: "/etc/hyperledger/fabric/tls/server.crt",
              CORE_PEER_TLS_KEY_FILE: "/etc/hyperledger/fabric/tls/server.key",
              CORE_PEER_TLS_ROOTCERT_FILE: "/etc/hyperledger/fabric/tls/ca.crt",
              CORE_PEER_GATEWAY_ENABLED: "true",
              // Initialisation validates the genesis committee with pure-JS pairings: allow it time.
              CORE_CHAINCODE_EXECUTETIMEOUT: "300s",
              CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG: JSON.stringify({ peername: org.peerName }),
            })
            .withWaitStrategy(Wait.forLogMessage(/Started peer with ID/)),
        ),
      );
      await until(
        () => run(`${host} channel join`, ["peer", "channel", "join", "-b", "/work/shandu.block"], asAdmin(org)),
        stepMs,
        `${host} did not join`,
      );
    }

    // 5. The chaincode lifecycle: install on both peers, approve for both organisations, commit.
    const orderer = ["-o", `${ORDERER}:7050`, "--ordererTLSHostnameOverride", ORDERER, "--tls", "--cafile", ordererCa];
    const definition = ["--channelID", FABRIC_CHANNEL, "--name", FABRIC_CHAINCODE, "--version", "1", "--sequence", "1"];
    for (const org of ORGS) {
      await until(() => run("install", ["peer", "lifecycle", "chaincode", "install", "/work/shandu.tgz"], asAdmin(org)), stepMs, "install");
      await until(
        () =>
          run(
            "approve",
            ["peer", "lifecycle", "chaincode", "approveformyorg", ...orderer, ...definition, "--package-id", packageId],
            asAdmin(org),
          ),
        stepMs,
        `${org.mspId} did not approve`,
      );
    }
    const endorsers = ORGS.flatMap((org) => ["--peerAddresses", `${peerHost(org)}:${PEER_PORT}`, "--tlsRootCertFiles", peerTlsCa(org)]);
    await until(
      () => run("commit", ["peer", "lifecycle", "chaincode", "commit", ...orderer, ...definition, ...endorsers], asAdmin(ORGS[0])),
      stepMs,
      "the chaincode definition was not committed",
    );

    const org1Peer = peers[0]!;
    const orgs = ORGS.map((org): FabricOrg => {
      const base = join(orgsDir, "peerOrganizations", org.domain);
      const user = join(base, "users", `User1@${org.domain}`, "msp");
      return {
        mspId: org.mspId,
        caPem: readFileSync(join(base, "ca", `ca.${org.domain}-cert.pem`), "utf8"),
        user: { certFile: join(user, "signcerts", `User1@${org.domain}-cert.pem`), keyFile: join(user, "keystore", "priv_sk") },
      };
    });
    let stopped: Promise<void> | undefined;
    return {
      channel: FABRIC_CHANNEL,
      chaincode: FABRIC_CHAINCODE,
      peerEndpoint: `${org1Peer.getHost()}:${org1Peer.getMappedPort(PEER_PORT)}`,
      tlsCaFile: join(orgsDir, "peerOrganizations", ORGS[0].domain, "tlsca", `tlsca.${ORGS[0].domain}-cert.pem`),
      tlsServerName: peerHost(ORGS[0]),
      orgs: [orgs[0]!, orgs[1]!],
      logs: () => s.logs(),
      stop: () => {
        stopped ??= s.stop().finally(() => rmSync(dir, { recursive: true, force: true }));
        return stopped;
      },
    };
  } catch (e) {
    const logs = s.logs();
    await s.stop();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the Fabric network did not start: ${e instanceof Error ? e.message : String(e)}\n${logs}`, { cause: e });
  }
}
