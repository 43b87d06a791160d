/**
 * `shandu devnet`: one command to a running local alliance (see `src/devnet/`). Waits for Ctrl-C after
 * the summary unless `--once`.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { loadBls } from "@shandu/proofs";
import type { Command, CommandContext, Output } from "../command.ts";
import { renderSummary, startDevnet } from "../devnet/run.ts";
import { CliError, EXIT } from "../errors.ts";
import { parseFlags } from "../flags.ts";
import { ADAPTER_MODULES } from "../services.ts";
import { command as verify } from "./verify.ts";

const USAGE = `Usage: shandu devnet [flags]

Starts a local alliance on this machine: two anvil chains (shanghai-lowcarbon and shenzhen-welfare)
with the Shandu contracts and an example application, a committee of four attesters (two alliances, a
clearing bank, the regulator), the gateway, a relayer and NATS JetStream (the nats-server binary when
installed; otherwise an in-process queue, said at start-up). It sends good-deed messages both ways,
shows progress, prints a summary (messages attested and delivered, latency percentiles) and writes a
proof bundle per message, which it then checks as \`shandu verify --strict\` would. It keeps running
until Ctrl-C, so you can explore the gateway's HTTP API and run the roles yourself with its shandu.yaml.

Flags:
  --dir <path>          where keys, config, data and bundles go (default ./devnet; a previous devnet
                        there is replaced)
  --messages <n>        messages per direction (default 20)
  --rate <n>            messages per second per direction (default 10; 0 = as fast as possible)
  --block-time <s>      anvil block time in seconds (default 1; 0 = a block per transaction)
  --max-batch <n>       most messages per batch (default 128)
  --postgres <url>      store in this PostgreSQL database instead of the embedded store
  --embedded-queue      use the in-process queue even when nats-server is installed
  --once                stop after the summary (exit 0 only if every message arrived once and every
                        bundle verified)
  -h, --help            show this text
`;

function int(v: unknown, name: string, def: number, max: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new CliError("BAD_FLAG_VALUE", `--${name} must be an integer from 0 to ${max}`, { hint: "Run `shandu help devnet`." });
  }
  return n;
}

const quiet: Output = { write: () => {}, isTTY: false };

async function run(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      dir: { type: "string" },
      messages: { type: "string" },
      rate: { type: "string" },
      "block-time": { type: "string" },
      "max-batch": { type: "string" },
      postgres: { type: "string" },
      "embedded-queue": { type: "boolean" },
      once: { type: "boolean" },
    },
    "devnet",
  );
  const dir = resolve(ctx.cwd, (values.dir as string | undefined) ?? "devnet");
  if (existsSync(dir)) {
    if (!existsSync(join(dir, "shandu.yaml"))) {
      throw new CliError("BAD_FLAG_VALUE", `${dir} exists and is not a devnet directory`, {
        hint: "Pass --dir with a new or earlier devnet directory.",
      });
    }
    await rm(dir, { recursive: true, force: true });
  }
  const out = ctx.stderr;
  const bls = await loadBls();
  const blockTime = int(values["block-time"], "block-time", 1, 60);
  const devnet = await startDevnet({
    dir,
    bls,
    modules: ADAPTER_MODULES,
    messagesPerLane: int(values.messages, "messages", 20, 100_000),
    ratePerSecond: int(values.rate, "rate", 10, 10_000),
    blockTimeSeconds: blockTime,
    maxMessages: int(values["max-batch"], "max-batch", 128, 1024) || 128,
    ...(values.postgres ? { storeUrl: values.postgres as string } : {}),
    ...(values["embedded-queue"] ? { embeddedQueue: true } : {}),
    signal: ctx.signal,
    out,
  });
  try {
    const summary = await devnet.traffic();
    if (ctx.signal.aborted) {
      out.write("Interrupted.\n");
      return EXIT.interrupted;
    }
    out.write(renderSummary(summary, dir, ctx.cwd));
    const verified = await verify.run([summary.bundlesDir, "--genesis", join(dir, "genesis.json"), "--strict"], {
      ...ctx,
      stdout: quiet,
      stderr: quiet,
    });
    out.write(
      verified === EXIT.ok
        ? `All ${summary.bundles} bundles verified offline (strict: source and destination evidence checked).\n`
        : `Some bundles did not verify; run the shandu verify command above to see which step failed.\n`,
    );
    if (!summary.complete) out.write("Not every message arrived exactly once within the time allowed (see the counts above).\n");
    const ok = verified === EXIT.ok && summary.complete;
    if (values.once) return ok ? EXIT.ok : EXIT.failed;
    out.write(
      `\nThe devnet keeps running: config ${join(dir, "shandu.yaml")}, gateway HTTP http://127.0.0.1:${devnet.gateway.httpPort}/v1/lanes. Ctrl-C stops it.\n`,
    );
    if (!ctx.signal.aborted) await new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r(), { once: true }));
    return ok ? EXIT.ok : EXIT.failed;
  } finally {
    out.write("Stopping the devnet…\n");
    await devnet.close();
    out.write("Stopped.\n");
  }
}

export const command: Command = { name: "devnet", usage: USAGE, run };
