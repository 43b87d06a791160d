/**
 * FISCO BCOS nodes in the official `fiscoorg/fiscobcos` images, started with `testcontainers` — real nodes,
 * for the suites that run wherever a container runtime exists. Everything a one-node chain needs is made
 * here, in the layout FISCO's own `build_chain.sh` writes:
 *
 * - 3.x ("air", `tools/BcosAirBuilder/build_chain.sh` of FISCO-BCOS v3.12.1): the node directory holds
 *   `config.ini`, `config.genesis`, `nodes.json` and `conf/` with `node.pem` (the secp256k1 node key, whose
 *   64-byte public key is the node id and the only sealer of the genesis), `ca.crt`, `ssl.crt`, `ssl.key`
 *   (RSA-2048, as `gen_rsa_node_cert` issues them); the SDK's `ca.crt`, `sdk.crt`, `sdk.key` come from the
 *   same CA. The image's entrypoint is the `fisco-bcos` binary (`tools/.ci/Dockerfile`) and docker mode
 *   starts it in the node directory mounted at `/data` with `-c config.ini -g config.genesis`
 *   (`generate_node_scripts`). RPC on 20200 with mutual TLS unless `[rpc] enable_ssl=false` (keys read by
 *   `bcos-tool/bcos-tool/NodeConfig.cpp` `loadRpcConfig`; both spellings are written so older nodes agree).
 *   The genesis enables `feature_evm_cancun` (FISCO ≥ 3.10, `bcos-framework/.../ledger/Features.h`;
 *   `bcos-executor/src/executive/BlockContext.cpp` `setVMSchedule`), without which the node executes at
 *   most Paris and refuses the `PUSH0`/`MCOPY` of code compiled for a newer EVM.
 * - 2.x (`tools/build_chain.sh` of FISCO-BCOS v2.9.1): `config.ini` and `conf/` with `node.key`
 *   (secp256k1), `node.crt` (node ‖ agency ‖ chain certificates, all secp256k1), `ca.crt`,
 *   `group.1.genesis`, `group.1.ini`; started with `-c config.ini`; JSON-RPC over plain HTTP on 8545. The
 *   repository has no 2.x client yet: only the raw JSON-RPC is used against it.
 *
 * Keys come from Node's crypto; certificates from the `openssl` command, which must be installed. The
 * image tags are pinned below and can be replaced with `SHANDU_FISCO3_IMAGE` / `SHANDU_FISCO2_IMAGE`
 * (tags of the form `…:vX.Y.Z`: the genesis names that version). `testcontainers` is loaded only when a
 * function here needs it, so importing this module costs nothing where no container is started.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ContainerRuntime, probeContainerRuntime as probeWith } from "@shandu/adapter-core/testing";
import { concatBytes, toHex } from "@shandu/proofs";
import type { StartedTestContainer } from "testcontainers";
import { FiscoRpcClient } from "../rpc.ts";

/**
 * FISCO BCOS 3.x. It must be 3.10 or later (for `feature_evm_cancun`). v3.12.1 is the newest tag with
 * evidence of a published image (docker-mode deployments of that release pulling it); the image build of
 * v3.16.3 was cancelled upstream (FISCO-BCOS Actions run 19784679576) and that tag was reported missing.
 */
export const FISCO3_IMAGE: string = process.env.SHANDU_FISCO3_IMAGE || "fiscoorg/fiscobcos:v3.12.1";
/** FISCO BCOS 2.x, the last 2.9 release. */
export const FISCO2_IMAGE: string = process.env.SHANDU_FISCO2_IMAGE || "fiscoorg/fiscobcos:v2.9.1";
/** The images are built for linux/amd64 only (FISCO-BCOS `.github/workflows/docker.yml`). */
const PLATFORM = "linux/amd64";

export const FISCO3_RPC_PORT = 20200;
export const FISCO2_JSONRPC_PORT = 8545;
export const FISCO3_GROUP = "group0";
export const FISCO3_CHAIN_ID = "chain0";

export { type ContainerRuntime, skipWithoutRuntime } from "@shandu/adapter-core/testing";

/** Whether a container runtime answers (`@shandu/adapter-core/testing`), with this package's `testcontainers`. */
export const probeContainerRuntime = (timeoutMs = 20_000): Promise<ContainerRuntime> =>
  probeWith(import.meta.resolve("testcontainers"), timeoutMs);

/** The SDK's certificate files (the chain CA, the client certificate and its key). */
export interface SdkCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** A started node: stop it (and remove its files) with `stop`; `logs` is the tail of its output. */
export interface FiscoContainer {
  readonly image: string;
  logs(): string;
  stop(): Promise<void>;
}

export interface FiscoNode3 extends FiscoContainer {
  /** `https://host:port` (mutual TLS) or `http://…`. */
  readonly url: string;
  /** The node's id (64-byte secp256k1 public key): the chain's only sealer. */
  readonly nodeId: Uint8Array;
  /** The SDK certificate files, for `FiscoTlsOptions` or the adapter's `tls` config; absent without TLS. */
  readonly tls: SdkCertificates | undefined;
  /** A client for `group0` at `url`. */
  readonly client: FiscoRpcClient;
}

export interface FiscoNode3Options {
  /** `[executor] auth_admin_account` (20 bytes): required by the genesis from 3.3 on. */
  adminAccount: Uint8Array;
  image?: string;
  /** Mutual TLS on the RPC (the node's default); default true. */
  tls?: boolean;
  /** Image pull and container start together; default 5 min. */
  startTimeoutMs?: number;
  /** Until `getBlockNumber` answers; default 2 min. */
  readyTimeoutMs?: number;
}

export interface FiscoNode2 extends FiscoContainer {
  /** `http://host:port` of the 2.x JSON-RPC. */
  readonly url: string;
  readonly nodeId: Uint8Array;
  /** A raw 2.x JSON-RPC call (`params` as the 2.x API takes them, the group first). */
  request(method: string, params: unknown[]): Promise<unknown>;
}

export interface FiscoNode2Options {
  image?: string;
  startTimeoutMs?: number;
  readyTimeoutMs?: number;
}

const versionOf = (image: string): string => {
  const m = /:v(\d+\.\d+\.\d+)$/.exec(image);
  if (!m) throw new Error(`the FISCO image ${image} has no :vX.Y.Z tag to name the genesis version after`);
  return m[1]!;
};

const b64url = (s: string | undefined) => Uint8Array.from(Buffer.from(s ?? "", "base64url"));

/** A secp256k1 key as a PKCS#8 PEM and its 64-byte public key (x ‖ y): a FISCO node id. */
function secp256k1Key(): { pem: string; nodeId: Uint8Array } {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
  const jwk = privateKey.export({ format: "jwk" });
  const nodeId = concatBytes(b64url(jwk.x), b64url(jwk.y));
  if (nodeId.length !== 64) throw new Error("a secp256k1 public key is 64 bytes");
  return { pem: privateKey.export({ format: "pem", type: "pkcs8" }) as string, nodeId };
}

const hexNo0x = (b: Uint8Array) => toHex(b).slice(2);

const subject = (unit: string) => ["-subj", `/CN=${unit}/O=fisco-bcos/OU=${unit}`];

/** A certificate authority in `dir`, issuing with the `openssl` command. */
class TestCa {
  readonly #dir: string;
  readonly #algorithm: "rsa" | "secp256k1";

  constructor(dir: string, algorithm: "rsa" | "secp256k1") {
    this.#dir = dir;
    this.#algorithm = algorithm;
    mkdirSync(dir, { recursive: true });
    const config = [
      "[req]",
      "distinguished_name = dn",
      "[dn]",
      "[ca_ext]",
      "basicConstraints = critical,CA:TRUE",
      "keyUsage = critical,keyCertSign,cRLSign",
      "subjectKeyIdentifier = hash",
      "[leaf_ext]",
      "basicConstraints = CA:FALSE",
      "keyUsage = digitalSignature,keyEncipherment",
    ];
    writeFileSync(join(dir, "x509.cnf"), `${config.join("\n")}\n`);
    this.key("ca.key");
    this.#openssl(
      ["req", "-new", "-x509", "-config", "x509.cnf", "-extensions", "ca_ext", "-key", "ca.key", "-days", "30", ...subject("chain")],
      "ca.crt",
    );
  }

  #openssl(args: string[], out: string): void {
    try {
      execFileSync("openssl", [...args, "-sha256", "-out", out], { cwd: this.#dir, stdio: "pipe" });
    } catch (e) {
      const stderr = String((e as { stderr?: unknown }).stderr ?? "").trim();
      throw new Error(`openssl ${args[0]} failed (the node's certificates are issued with openssl): ${stderr || String(e)}`);
    }
  }

  /** Writes a new key of the CA's algorithm to `name` (PKCS#8 PEM) and returns it. */
  key(name: string, pem?: string): string {
    const text =
      pem ??
      (this.#algorithm === "rsa"
        ? (generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "pem", type: "pkcs8" }) as string)
        : secp256k1Key().pem);
    writeFileSync(join(this.#dir, name), text);
    return text;
  }

  /** Issues `<unit>.crt` for the key in `<unit>.key`, signed by `issuer` (a CA itself when `ca`); returns it. */
  issue(unit: string, o: { issuer?: string; ca?: boolean } = {}): string {
    const issuer = o.issuer ?? "ca";
    this.#openssl(["req", "-new", "-config", "x509.cnf", "-key", `${unit}.key`, ...subject(unit)], `${unit}.csr`);
    const signer = ["-CA", `${issuer}.crt`, "-CAkey", `${issuer}.key`, "-CAcreateserial", "-days", "30"];
    const extensions = ["-extfile", "x509.cnf", "-extensions", o.ca ? "ca_ext" : "leaf_ext"];
    this.#openssl(["x509", "-req", "-in", `${unit}.csr`, ...signer, ...extensions], `${unit}.crt`);
    return this.read(`${unit}.crt`);
  }

  read(name: string): string {
    return readFileSync(join(this.#dir, name), "utf8");
  }
}

/** The 3.x node directory (`build_chain.sh` `generate_config_ini` / `generate_genesis_config`). */
function fisco3Files(dir: string, o: { version: string; nodeId: Uint8Array; adminAccount: Uint8Array; tls: boolean }) {
  const configIni = `[p2p]
    listen_ip=0.0.0.0
    listen_port=30300
    sm_ssl=false
    nodes_path=./
    nodes_file=nodes.json
[rpc]
    listen_ip=0.0.0.0
    listen_port=${FISCO3_RPC_PORT}
    thread_count=4
    sm_ssl=false
    disable_ssl=${!o.tls}
    enable_ssl=${o.tls}
[web3_rpc]
    enable=false
[cert]
    ca_path=./conf
    ca_cert=ca.crt
    node_key=ssl.key
    node_cert=ssl.crt
    multi_ca_path=multiCaPath
[security]
    private_key_path=conf/node.pem
    enable_hsm=false
[storage_security]
    enable=false
[consensus]
    min_seal_time=500
[executor]
    enable_dag=true
    baseline_scheduler=false
    baseline_scheduler_parallel=false
[storage]
    data_path=data
    enable_cache=true
    key_page_size=10240
[txpool]
    limit=15000
    notify_worker_num=2
    txs_expiration_time=600
[log]
    enable=true
    enable_console_output=true
    log_path=./log
    level=info
    max_log_file_size=1024
`;
  const genesis = `[chain]
    sm_crypto=false
    group_id=${FISCO3_GROUP}
    chain_id=${FISCO3_CHAIN_ID}
[web3]
    chain_id=20200
[consensus]
    consensus_type=pbft
    block_tx_count_limit=1000
    consensus_timeout=3000
    leader_period=1
    node.0=${hexNo0x(o.nodeId)}:1
[version]
    compatibility_version=${o.version}
[tx]
    gas_limit=3000000000
[executor]
    is_wasm=false
    is_auth_check=false
    auth_admin_account=${toHex(o.adminAccount)}
    is_serial_execute=true
[features]
    feature_evm_cancun=true
`;
  writeFileSync(join(dir, "config.ini"), configIni);
  writeFileSync(join(dir, "config.genesis"), genesis);
  // The node's own P2P address, as build_chain.sh lists every node of the chain.
  writeFileSync(join(dir, "nodes.json"), `{"nodes":["127.0.0.1:30300"]}\n`);
}

/** The 2.x node directory (`tools/build_chain.sh` `generate_config_ini` / `generate_group_genesis` / `generate_group_ini`). */
function fisco2Files(dir: string, o: { version: string; nodeId: Uint8Array }) {
  const configIni = `[rpc]
    channel_listen_ip=0.0.0.0
    channel_listen_port=20200
    jsonrpc_listen_ip=0.0.0.0
    jsonrpc_listen_port=${FISCO2_JSONRPC_PORT}
    disable_dynamic_group=false
[p2p]
    listen_ip=0.0.0.0
    listen_port=30300
    node.0=127.0.0.1:30300
[group]
    group_data_path=data/
    group_config_path=conf/
[network_security]
    data_path=conf/
    key=node.key
    cert=node.crt
    ca_cert=ca.crt
[storage_security]
    enable=false
[chain]
    id=1
    sm_crypto=false
    sm_crypto_channel=false
    rsa_crypto_channel=false
[compatibility]
    supported_version=${o.version}
[log]
    enable=true
    log_path=./log
    enable_statistic=false
    level=info
    max_log_file_size=200
    flush=true
`;
  const genesis = `[consensus]
    consensus_type=pbft
    max_trans_num=1000
    consensus_timeout=3
    epoch_sealer_num=1
    epoch_block_num=1000
    node.0=${hexNo0x(o.nodeId)}
[state]
    type=storage
[tx]
    gas_limit=300000000
[group]
    id=1
    timestamp=${Date.now()}
[evm]
    enable_free_storage=false
`;
  const groupIni = `[consensus]
    ttl=2
    min_block_generation_time=500
[storage]
    type=rocksdb
    binary_log=false
    cached_storage=true
    max_capacity=32
[tx_pool]
    limit=150000
    memory_limit=512
    notify_worker_num=2
    txs_expiration_time=600
[sync]
    max_block_sync_memory_size=512
    idle_wait_ms=200
`;
  writeFileSync(join(dir, "config.ini"), configIni);
  writeFileSync(join(dir, "conf", "group.1.genesis"), genesis);
  writeFileSync(join(dir, "conf", "group.1.ini"), groupIni);
}

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

/** Polls `ask` until it resolves, for at most `ms`; the last error is in the message. */
async function until<T>(ask: () => Promise<T>, ms: number, what: string, logs: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await ask();
    } catch (e) {
      last = e;
      await sleep(1000);
    }
  }
  throw new Error(`${what} within ${ms} ms; last error: ${String(last)}\n--- node output (tail) ---\n${logs()}`);
}

/** Starts `image` with `nodeDir` at /data and `command`, keeping the last 64 KiB of its output. */
async function startNode(
  image: string,
  nodeDir: string,
  command: string[],
  port: number,
  timeoutMs: number,
): Promise<{ container: StartedTestContainer; logs: () => string }> {
  const { GenericContainer } = await import("testcontainers");
  let tail = "";
  const logs = () => tail;
  const container = new GenericContainer(image)
    .withPlatform(PLATFORM)
    .withCopyDirectoriesToContainer([{ source: nodeDir, target: "/data" }])
    .withWorkingDir("/data")
    .withCommand(command)
    .withExposedPorts(port)
    .withStartupTimeout(timeoutMs)
    .withLogConsumer((stream) => {
      stream.on("data", (chunk: Buffer | string) => {
        tail = (tail + chunk.toString()).slice(-64 * 1024);
      });
      stream.on("error", () => {});
    });
  const started = await within(container.start(), timeoutMs, `pulling ${image} and starting it`, (c) => c.stop());
  return { container: started, logs };
}

function handle(image: string, dir: string, container: StartedTestContainer, logs: () => string): FiscoContainer {
  let stopped: Promise<void> | undefined;
  return {
    image,
    logs,
    stop: () => {
      stopped ??= container
        .stop({ timeout: 10_000 })
        .then(() => undefined)
        .finally(() => rmSync(dir, { recursive: true, force: true }));
      return stopped;
    },
  };
}

/**
 * Writes a 3.x node directory (`<dir>/node0`) and its SDK certificates (`<dir>/sdk`) for a one-node chain
 * in `image`'s version; the node id is the sealer the genesis names.
 */
export function writeFiscoNode3Dir(
  dir: string,
  o: { image: string; adminAccount: Uint8Array; tls: boolean },
): { nodeDir: string; nodeId: Uint8Array; sdk: SdkCertificates } {
  const nodeDir = join(dir, "node0");
  const conf = join(nodeDir, "conf");
  mkdirSync(conf, { recursive: true });
  const nodeKey = secp256k1Key();
  writeFileSync(join(conf, "node.pem"), nodeKey.pem);
  writeFileSync(join(conf, "node.nodeid"), hexNo0x(nodeKey.nodeId));
  // The chain CA issues the node's certificate (P2P, and the RPC unless TLS is off) and the SDK's.
  const ca = new TestCa(join(dir, "ca"), "rsa");
  writeFileSync(join(conf, "ssl.key"), ca.key("ssl.key"));
  writeFileSync(join(conf, "ssl.crt"), ca.issue("ssl"));
  writeFileSync(join(conf, "ca.crt"), ca.read("ca.crt"));
  const sdkDir = join(dir, "sdk");
  mkdirSync(sdkDir, { recursive: true });
  const sdk = { caFile: join(sdkDir, "ca.crt"), certFile: join(sdkDir, "sdk.crt"), keyFile: join(sdkDir, "sdk.key") };
  writeFileSync(sdk.keyFile, ca.key("sdk.key"));
  writeFileSync(sdk.certFile, ca.issue("sdk"));
  writeFileSync(sdk.caFile, ca.read("ca.crt"));
  fisco3Files(nodeDir, { version: versionOf(o.image), nodeId: nodeKey.nodeId, adminAccount: o.adminAccount, tls: o.tls });
  return { nodeDir, nodeId: nodeKey.nodeId, sdk };
}

/** Writes a 2.x node directory (`<dir>/node0`) for a one-node chain in `image`'s version. */
export function writeFiscoNode2Dir(dir: string, o: { image: string }): { nodeDir: string; nodeId: Uint8Array } {
  const nodeDir = join(dir, "node0");
  const conf = join(nodeDir, "conf");
  mkdirSync(conf, { recursive: true });
  // Chain CA → agency (a CA too) → node, all secp256k1; node.crt carries the chain (gen_cert_secp256k1).
  const ca = new TestCa(join(dir, "ca"), "secp256k1");
  ca.key("agency.key");
  const agency = ca.issue("agency", { ca: true });
  const nodeKey = secp256k1Key();
  ca.key("node.key", nodeKey.pem);
  const caCert = ca.read("ca.crt");
  writeFileSync(join(conf, "node.key"), nodeKey.pem);
  writeFileSync(join(conf, "node.crt"), ca.issue("node", { issuer: "agency" }) + agency + caCert);
  writeFileSync(join(conf, "ca.crt"), caCert);
  writeFileSync(join(conf, "node.nodeid"), hexNo0x(nodeKey.nodeId));
  fisco2Files(nodeDir, { version: versionOf(o.image), nodeId: nodeKey.nodeId });
  return { nodeDir, nodeId: nodeKey.nodeId };
}

/**
 * A one-node FISCO BCOS 3.x chain (`group0`, `chain0`, ECDSA) in `image`, answering `getBlockNumber`.
 * Throws with the node's output when it does not come up in time.
 */
export async function startFiscoNode3(o: FiscoNode3Options): Promise<FiscoNode3> {
  const image = o.image ?? FISCO3_IMAGE;
  const tls = o.tls ?? true;
  const dir = mkdtempSync(join(tmpdir(), "shandu-fisco3-"));
  try {
    const { nodeDir, nodeId, sdk } = writeFiscoNode3Dir(dir, { image, adminAccount: o.adminAccount, tls });
    const command = ["-c", "config.ini", "-g", "config.genesis"];
    const { container, logs } = await startNode(image, nodeDir, command, FISCO3_RPC_PORT, o.startTimeoutMs ?? 300_000);
    const node = handle(image, dir, container, logs);
    try {
      const url = `${tls ? "https" : "http"}://${container.getHost()}:${container.getMappedPort(FISCO3_RPC_PORT)}`;
      const client = new FiscoRpcClient({
        url,
        group: FISCO3_GROUP,
        timeoutMs: 30_000,
        ...(tls && { tls: { ca: sdk.caFile, cert: sdk.certFile, key: sdk.keyFile } }),
      });
      await until(() => client.getBlockNumber(), o.readyTimeoutMs ?? 120_000, `${image} did not answer getBlockNumber`, logs);
      return { ...node, url, nodeId, tls: tls ? sdk : undefined, client };
    } catch (e) {
      await node.stop().catch(() => {});
      throw e;
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A one-node FISCO BCOS 2.x chain (group 1) in `image`, answering `getBlockNumber` on its JSON-RPC. */
export async function startFiscoNode2(o: FiscoNode2Options = {}): Promise<FiscoNode2> {
  const image = o.image ?? FISCO2_IMAGE;
  const dir = mkdtempSync(join(tmpdir(), "shandu-fisco2-"));
  try {
    const { nodeDir, nodeId } = writeFiscoNode2Dir(dir, { image });
    const { container, logs } = await startNode(image, nodeDir, ["-c", "config.ini"], FISCO2_JSONRPC_PORT, o.startTimeoutMs ?? 300_000);
    const node = handle(image, dir, container, logs);
    try {
      const url = `http://${container.getHost()}:${container.getMappedPort(FISCO2_JSONRPC_PORT)}`;
      let id = 0;
      const request = async (method: string, params: unknown[]) => {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", method, params, id: ++id }),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
        if (body.error) throw new Error(`${method}: ${body.error.code} ${body.error.message}`);
        if (!("result" in body)) throw new Error(`${method}: HTTP ${res.status} without a result`);
        return body.result;
      };
      await until(() => request("getBlockNumber", [1]), o.readyTimeoutMs ?? 120_000, `${image} did not answer getBlockNumber`, logs);
      return { ...node, url, nodeId, request };
    } catch (e) {
      await node.stop().catch(() => {});
      throw e;
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
