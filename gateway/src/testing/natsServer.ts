/**
 * A real `nats-server` with JetStream for integration tests (Debian package `nats-server`). Each server
 * listens on its own free port on 127.0.0.1 and keeps its JetStream store in its own temporary directory.
 * `stop()` and `kill()` end the process but keep the store and the port, so `restart()` brings back the
 * same server with the same data; `close()` stops it and deletes the store. Servers still running when the
 * test process exits are killed then, and their stores deleted.
 *
 * Never point this at, or reuse the port of, a server that is not a test server.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { ShanduError } from "@shandu/proofs";

export type NatsServerErrorCode =
  /** No `nats-server` binary on PATH, in /usr/sbin or /usr/bin: `apt-get install -y nats-server`. */
  | "NATS_SERVER_NOT_INSTALLED"
  /** The process could not be spawned or exited before it was ready; `facts.output` has its log. */
  | "NATS_SERVER_START_FAILED"
  /** The server was not ready within `startTimeoutMs`; `facts.output` has its log. */
  | "NATS_SERVER_START_TIMEOUT";

/** Failure to start a test server. `reject`: retrying the same call on the same machine will fail again. */
export class NatsServerError extends ShanduError<NatsServerErrorCode> {
  override readonly name = "NatsServerError";
}

export interface StartNatsServerOptions {
  /** Path of the `nats-server` executable; default {@link natsServerBinary}. */
  binary?: string;
  /** How long to wait for the server to be ready; default 15,000 ms. */
  startTimeoutMs?: number;
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The JetStream store directory (`-sd`), kept across `stop()` / `restart()`. */
  readonly storeDir: string;
  /** Process id of the current server process, or -1 once it has exited. */
  readonly pid: number;
  /** Graceful stop (SIGTERM, SIGKILL after 5 s); resolves once the process has exited. Keeps the store. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL: a crash) to the process without waiting; `stop()` then waits for the exit. Keeps the store. */
  kill(signal?: NodeJS.Signals): void;
  /** Stops the server if it runs, then starts it again on the same port with the same store. */
  restart(): Promise<void>;
  /** Stops the server and deletes its store. Safe to call more than once. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const SEARCH_DIRS = ["/usr/sbin", "/usr/bin", "/usr/local/bin"];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Path of the `nats-server` executable (PATH first, then /usr/sbin, /usr/bin, /usr/local/bin), or null. */
export function natsServerBinary(): string | null {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...SEARCH_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, "nats-server");
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

// Servers still running when the test process exits are killed then, and their stores deleted.
const running = new Set<ChildProcess>();
const stores = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
    for (const dir of stores) rmSync(dir, { recursive: true, force: true });
  });
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

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  child.kill("SIGTERM");
  if (await waitForExit(child, 5_000)) return;
  child.kill("SIGKILL");
  await waitForExit(child, 5_000);
}

const OUTPUT_LIMIT = 16_384;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Launch = { child: ChildProcess } | { addressInUse: true };

/** Spawns the server and waits until its log says it is ready (JetStream included) and it accepts connections. */
async function launch(bin: string, port: number, storeDir: string, timeoutMs: number): Promise<Launch> {
  const args = ["-js", "-sd", storeDir, "-a", "127.0.0.1", "-p", String(port)];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  child.once("exit", () => running.delete(child));
  let spawnError: Error | undefined;
  child.once("error", (e) => {
    spawnError = e;
  });
  // nats-server logs to stderr; both streams must be drained or it blocks.
  let output = "";
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      output = (output + chunk).slice(-OUTPUT_LIMIT);
    });
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (spawnError) {
      throw new NatsServerError("NATS_SERVER_START_FAILED", `could not run nats-server: ${spawnError.message}`, {
        facts: { bin },
        cause: spawnError,
      });
    }
    if (exited(child)) {
      if (/address already in use/i.test(output)) return { addressInUse: true };
      throw new NatsServerError("NATS_SERVER_START_FAILED", "nats-server exited before it was ready", {
        facts: { bin, exitCode: child.exitCode, signal: child.signalCode, output: output.trim() },
      });
    }
    if (/Server is ready/.test(output) && (await accepts(port))) return { child };
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new NatsServerError("NATS_SERVER_START_TIMEOUT", "nats-server was not ready in time", {
        facts: { port, timeoutMs, output: output.trim() },
      });
    }
    await sleep(20);
  }
}

/**
 * Starts `nats-server -js -sd <tmpdir> -a 127.0.0.1 -p <free port>` and resolves once it is ready.
 * Throws {@link NatsServerError}: `NATS_SERVER_NOT_INSTALLED` (install with `apt-get install -y nats-server`),
 * `NATS_SERVER_START_FAILED` or `NATS_SERVER_START_TIMEOUT` (both with the server's log).
 */
export async function startNatsServer(opts: StartNatsServerOptions = {}): Promise<NatsServer> {
  const bin = opts.binary ?? natsServerBinary();
  if (bin === null || !isExecutable(bin)) {
    throw new NatsServerError("NATS_SERVER_NOT_INSTALLED", "nats-server binary not found: apt-get install -y nats-server", {
      facts: { bin: bin ?? undefined },
    });
  }
  const timeoutMs = opts.startTimeoutMs ?? 15_000;
  installExitHook();
  const storeDir = mkdtempSync(join(tmpdir(), "shandu-nats-"));
  stores.add(storeDir);

  let started: { child: ChildProcess; port: number } | undefined;
  try {
    for (let attempt = 0; attempt < 5 && !started; attempt++) {
      // The port is free now; another process may take it before the server binds it, hence the retry.
      const port = await freePort();
      const result = await launch(bin, port, storeDir, timeoutMs);
      if ("child" in result) started = { child: result.child, port };
    }
  } catch (e) {
    rmSync(storeDir, { recursive: true, force: true });
    stores.delete(storeDir);
    throw e;
  }
  if (!started) throw new NatsServerError("NATS_SERVER_START_FAILED", "no free port for nats-server after 5 attempts");

  const port = started.port;
  let child: ChildProcess | undefined = started.child;
  let closing: Promise<void> | undefined;

  const stop = async () => {
    if (child) await stopProcess(child);
    child = undefined;
  };
  const close = () => {
    closing ??= (async () => {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
      stores.delete(storeDir);
    })();
    return closing;
  };

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    get pid() {
      return child && !exited(child) ? (child.pid ?? -1) : -1;
    },
    stop,
    kill(signal: NodeJS.Signals = "SIGKILL") {
      if (child && !exited(child)) child.kill(signal);
    },
    async restart() {
      if (closing) throw new NatsServerError("NATS_SERVER_START_FAILED", "nats-server was closed; its store is gone");
      await stop();
      const result = await launch(bin, port, storeDir, timeoutMs);
      if (!("child" in result)) {
        throw new NatsServerError("NATS_SERVER_START_FAILED", "the port of the stopped nats-server was taken by another process", {
          facts: { port },
        });
      }
      child = result.child;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
