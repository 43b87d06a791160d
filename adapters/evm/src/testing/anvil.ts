/**
 * A real anvil node (Foundry's local EVM) for integration tests, spawned from the platform binary that the
 * `@foundry-rs/anvil` npm package installs. Each node listens on its own free port on 127.0.0.1, is funded
 * with the ten accounts of anvil's public development mnemonic, and must be closed by the test
 * (`after(() => node.close())`); a node still running when the test process exits is killed then.
 *
 * The keys are public: never use them, or anything this module starts, for real value.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { ShanduError } from "@shandu/proofs";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, Network, Wallet } from "ethers";

/** anvil's default development mnemonic; its accounts are public knowledge. */
export const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";
/** Number of funded accounts a node starts with. */
export const ANVIL_ACCOUNT_COUNT = 10;
export const ANVIL_DEFAULT_CHAIN_ID = 31337;

export type AnvilHardfork = "prague" | "cancun";

export type AnvilErrorCode =
  /** No anvil binary for this platform: `@foundry-rs/anvil` (and its platform package) is not installed. */
  | "ANVIL_NOT_INSTALLED"
  /** The process could not be spawned or exited before it answered; `facts.stderr` has its output. */
  | "ANVIL_START_FAILED"
  /** The node did not answer JSON-RPC within `startTimeoutMs`; `facts.stderr` has its output. */
  | "ANVIL_START_TIMEOUT"
  /** The caller's AbortSignal fired while the node was starting. */
  | "CANCELLED";

/** Failure to start a test node. `reject`: retrying the same call on the same machine will fail again. */
export class AnvilError extends ShanduError<AnvilErrorCode> {
  override readonly name = "AnvilError";
}

export interface StartAnvilOptions {
  /** EVM rules; default "prague" (EIP-2537 BLS precompiles). "cancun" has no BLS precompiles. */
  hardfork?: AnvilHardfork;
  /** Default 31337. */
  chainId?: number;
  /** Mine a block every so many seconds instead of one block per transaction (the default). */
  blockTimeSeconds?: number;
  /** Aborting while starting fails the start with `CANCELLED`; aborting later closes the node. */
  signal?: AbortSignal;
  /** How long to wait for the first JSON-RPC answer; default 30,000 ms. */
  startTimeoutMs?: number;
}

export interface AnvilNode {
  /** `http://127.0.0.1:<port>` */
  readonly rpcUrl: string;
  readonly port: number;
  /** Process id of the anvil process. */
  readonly pid: number;
  readonly chainId: number;
  readonly hardfork: AnvilHardfork;
  /** Private keys (0x hex) of the funded accounts, in the mnemonic's order (m/44'/60'/0'/0/i). */
  readonly accounts: readonly string[];
  /** Connected to this node, with its network fixed (no chain-id probing) and fast polling. */
  readonly provider: JsonRpcProvider;
  /** A signer for account `index` (default 0) connected to `provider`; the same object on every call. */
  wallet(index?: number): Wallet;
  /** Kills the process and resolves once it has exited. Safe to call more than once. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const PLATFORM_PACKAGES: Readonly<Record<string, string>> = {
  "linux-x64": "@foundry-rs/anvil-linux-amd64",
  "linux-arm64": "@foundry-rs/anvil-linux-arm64",
  "darwin-x64": "@foundry-rs/anvil-darwin-amd64",
  "darwin-arm64": "@foundry-rs/anvil-darwin-arm64",
  "win32-x64": "@foundry-rs/anvil-win32-amd64",
};

/** Path of the anvil executable for this platform. Throws `AnvilError` `ANVIL_NOT_INSTALLED`. */
export function anvilBinary(): string {
  const key = `${process.platform}-${process.arch}`;
  const pkg = PLATFORM_PACKAGES[key];
  if (!pkg) {
    throw new AnvilError("ANVIL_NOT_INSTALLED", "@foundry-rs/anvil has no binary for this platform", { facts: { platform: key } });
  }
  let bin: string;
  try {
    const manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    bin = join(dirname(manifest), "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
    accessSync(bin, constants.X_OK);
  } catch (cause) {
    throw new AnvilError("ANVIL_NOT_INSTALLED", `${pkg} is not installed or has no executable anvil; run npm install`, {
      facts: { package: pkg },
      cause,
    });
  }
  return bin;
}

let derivedKeys: readonly string[] | undefined;

/** The private keys of anvil's default accounts, derived from {@link ANVIL_MNEMONIC} (BIP-32/39/44). */
export function anvilAccounts(): readonly string[] {
  if (!derivedKeys) {
    const root = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(ANVIL_MNEMONIC), "m/44'/60'/0'/0");
    derivedKeys = Object.freeze(Array.from({ length: ANVIL_ACCOUNT_COUNT }, (_, i) => root.deriveChild(i).privateKey));
  }
  return derivedKeys;
}

// Every node still running when the test process exits is killed then, so none outlives a crashed test.
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function track(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const c of running) c.kill("SIGKILL");
    });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}

const OUTPUT_LIMIT = 16_384;

/** Keeps the last {@link OUTPUT_LIMIT} characters of a stream (it must be drained, or anvil blocks). */
function tail(stream: NodeJS.ReadableStream | null): () => string {
  let text = "";
  stream?.setEncoding("utf8");
  stream?.on("data", (chunk: string) => {
    text = (text + chunk).slice(-OUTPUT_LIMIT);
  });
  return () => text.trim();
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  if (await waitForExit(child, 5_000)) return;
  child.kill("SIGKILL");
  await waitForExit(child, 5_000);
}

async function answers(rpcUrl: string): Promise<boolean> {
  try {
    const res = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    return res.ok && typeof ((await res.json()) as { result?: unknown }).result === "string";
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Attempt = { child: ChildProcess; stderr: () => string } | { addressInUse: true };

async function launch(bin: string, args: string[], rpcUrl: string, deadline: number, signal: AbortSignal | undefined): Promise<Attempt> {
  let spawnError: Error | undefined;
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  track(child);
  child.once("error", (e) => {
    spawnError = e;
  });
  const stdout = tail(child.stdout);
  const stderr = tail(child.stderr);
  const output = () => [stderr(), stdout()].filter(Boolean).join("\n");
  for (;;) {
    if (signal?.aborted) {
      await stop(child);
      throw new AnvilError("CANCELLED", "anvil start was cancelled", { cause: signal.reason });
    }
    if (spawnError) {
      throw new AnvilError("ANVIL_START_FAILED", `could not run anvil: ${spawnError.message}`, { facts: { bin }, cause: spawnError });
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      if (/address already in use|EADDRINUSE/i.test(output())) return { addressInUse: true };
      throw new AnvilError("ANVIL_START_FAILED", "anvil exited before it answered", {
        facts: { exitCode: child.exitCode, signal: child.signalCode, stderr: output() },
      });
    }
    if (await answers(rpcUrl)) return { child, stderr: output };
    if (Date.now() > deadline) {
      await stop(child);
      throw new AnvilError("ANVIL_START_TIMEOUT", "anvil did not answer JSON-RPC in time", {
        facts: { rpcUrl, stderr: output() },
      });
    }
    await sleep(25);
  }
}

/**
 * Starts an anvil node and resolves once it answers JSON-RPC. Throws `AnvilError`: `ANVIL_NOT_INSTALLED`,
 * `ANVIL_START_FAILED` (with anvil's output), `ANVIL_START_TIMEOUT` (with anvil's output), `CANCELLED`.
 */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<AnvilNode> {
  if (options.signal?.aborted) throw new AnvilError("CANCELLED", "anvil start was cancelled", { cause: options.signal.reason });
  const hardfork = options.hardfork ?? "prague";
  const chainId = options.chainId ?? ANVIL_DEFAULT_CHAIN_ID;
  const bin = anvilBinary();
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  const accounts = anvilAccounts();

  let started: { child: ChildProcess; port: number } | undefined;
  for (let attempt = 0; attempt < 5 && !started; attempt++) {
    // The port is free now; another process may take it before anvil binds it, hence the retry.
    const port = await freePort();
    const args = ["--host", "127.0.0.1", "--port", String(port), "--hardfork", hardfork, "--chain-id", String(chainId)];
    args.push("--mnemonic", ANVIL_MNEMONIC, "--accounts", String(ANVIL_ACCOUNT_COUNT), "--silent");
    if (options.blockTimeSeconds !== undefined) args.push("--block-time", String(options.blockTimeSeconds));
    const result = await launch(bin, args, `http://127.0.0.1:${port}`, deadline, options.signal);
    if ("child" in result) started = { child: result.child, port };
  }
  if (!started) throw new AnvilError("ANVIL_START_FAILED", "no free port for anvil after 5 attempts");

  const { child, port } = started;
  const rpcUrl = `http://127.0.0.1:${port}`;
  const network = Network.from(chainId);
  const provider = new JsonRpcProvider(rpcUrl, network, { staticNetwork: network, pollingInterval: 50, cacheTimeout: -1 });
  const wallets = new Map<number, Wallet>();
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
      provider.destroy();
      await stop(child);
    })();
    return closing;
  };
  const onAbort = () => void close();
  options.signal?.addEventListener("abort", onAbort, { once: true });

  return {
    rpcUrl,
    port,
    pid: child.pid ?? -1,
    chainId,
    hardfork,
    accounts,
    provider,
    wallet(index = 0) {
      const key = accounts[index];
      if (key === undefined) throw new RangeError(`anvil has accounts 0..${accounts.length - 1}, not ${index}`);
      let w = wallets.get(index);
      if (!w) {
        w = new Wallet(key, provider);
        wallets.set(index, w);
      }
      return w;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
