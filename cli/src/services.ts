/**
 * What the long-running commands (`gateway`, `attester`, `relayer`) share: the adapter map they pick
 * chain adapters from, loading the config, and running a component until Ctrl-C / SIGTERM, then closing
 * it cleanly. Configuration and start-up errors become one line saying what to fix, exit code 2.
 */
import { AdapterError, type AdapterModules } from "@shandu/adapter-core";
import { evmAdapterModule } from "@shandu/adapter-evm";
import { fabricAdapterModule } from "@shandu/adapter-fabric";
import { fiscoAdapterModule } from "@shandu/adapter-fisco-bcos";
import { type Closable, createLogger, GatewayError, type Logger, loadConfig, type ShanduConfig } from "@shandu/gateway";
import { ShanduError } from "@shandu/proofs";
import type { CommandContext } from "./command.ts";
import { CliError, EXIT } from "./errors.ts";

/** Every adapter kind the services can run, by kind. Adding a chain kind means adding it here. */
export const ADAPTER_MODULES: AdapterModules = {
  evm: evmAdapterModule,
  "fisco-bcos": fiscoAdapterModule,
  fabric: fabricAdapterModule,
};

export async function readConfig(path: string | undefined, command: string): Promise<ShanduConfig> {
  if (!path) {
    throw new CliError("MISSING_ARGUMENT", `\`shandu ${command}\` needs --config <shandu.yaml>`, {
      hint: "Examples are under deploy/configs/; `shandu devnet` writes a working one into its directory.",
    });
  }
  return loadConfig(path, ADAPTER_MODULES);
}

export function serviceLogger(ctx: CommandContext, component: string, level: string | undefined): Logger {
  const l = level === "debug" || level === "warn" || level === "error" ? level : "info";
  return createLogger({ component, level: l, sink: (line) => ctx.stderr.write(`${line}\n`) });
}

/**
 * Starts `start()`, reports `ready`, waits for Ctrl-C, closes. Known errors (bad config, unreachable
 * node or server) are printed as one line with the code and exit 2.
 */
export async function runUntilStopped(
  ctx: CommandContext,
  what: string,
  start: () => Promise<Closable>,
  ready: () => string,
): Promise<number> {
  let handle: Closable;
  try {
    handle = await start();
  } catch (e) {
    if (e instanceof GatewayError || e instanceof AdapterError || e instanceof ShanduError) {
      ctx.stderr.write(`shandu ${what}: ${e.code}: ${e.message}\n`);
      return EXIT.usage;
    }
    throw e;
  }
  ctx.stderr.write(`${ready()}\n`);
  if (!ctx.signal.aborted) await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
  ctx.stderr.write(`shandu ${what}: stopping…\n`);
  await handle.close();
  ctx.stderr.write(`shandu ${what}: stopped\n`);
  return EXIT.ok;
}
