/**
 * `shandu devnet`: one command to a running local alliance (see `src/devnet/`). Waits for Ctrl-C after
 * the summary unless `--once`.
 */
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { type Bls, loadBls, toHex } from "@shandu/proofs";
import type { Command, CommandContext, Output } from "../command.ts";
import { type RunningDevnet, renderSummary, startDevnet } from "../devnet/run.ts";
import { deployApplication, formatFen, runLowCarbonScenario } from "../devnet/scenario.ts";
import { CliError, EXIT } from "../errors.ts";
import { parseFlags } from "../flags.ts";
import { ADAPTER_MODULES } from "../services.ts";
import { command as audit } from "./audit.ts";
import { command as regulator } from "./regulator.ts";
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
  --scenario <name>     play a scenario instead of example traffic; "low-carbon": the pilot between
                        the two cities (deeds measured and co-signed, credits issued, four
                        redemptions in Shenzhen: confirmed, rejected, timed out; the window settled;
                        one envelope opened by the regulator; the audit over every bundle). Writes
                        its report, bundles, manifest and envelopes under <dir>/scenario
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
      scenario: { type: "string" },
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
  const scenario = values.scenario as string | undefined;
  if (scenario !== undefined && scenario !== "low-carbon") {
    throw new CliError("BAD_FLAG_VALUE", `unknown scenario "${scenario}"`, { hint: "The scenario there is: --scenario low-carbon." });
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
    if (scenario === "low-carbon") {
      const ok = await playLowCarbon(devnet, bls, dir, ctx);
      if (values.once || ctx.signal.aborted) return ok ? EXIT.ok : EXIT.failed;
      out.write(
        `\nThe devnet keeps running: config ${join(dir, "shandu.yaml")}, gateway HTTP http://127.0.0.1:${devnet.gateway.httpPort}/v1/lanes. Ctrl-C stops it.\n`,
      );
      await new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r(), { once: true }));
      return ok ? EXIT.ok : EXIT.failed;
    }
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

/** Runs the low-carbon scenario, then the regulator's opening of one envelope and the audit, as their commands would. */
async function playLowCarbon(devnet: RunningDevnet, bls: Bls, dir: string, ctx: CommandContext): Promise<boolean> {
  const out = ctx.stderr;
  const scenarioDir = join(dir, "scenario");
  out.write("Deploying the 善度 application (alliance registry, deeds, credits, redemption, settlement) on both chains…\n");
  const app = await deployApplication(devnet, bls);
  const result = await runLowCarbonScenario(devnet, app, bls, { dir: scenarioDir, out, signal: ctx.signal });
  const rel = (p: string) => relative(ctx.cwd, p) || ".";
  const genesis = rel(join(dir, "genesis.json"));

  const opened: string[] = [];
  const capture: Output = { write: (t) => void opened.push(t), isTTY: false };
  const r1 = result.authoriseBundles.get("R1")!;
  out.write(`6. The regulator opens the envelope of R1 (shandu regulator open ${rel(r1)} --key … --envelopes …):\n`);
  const openArgs = [r1, "--key", result.supervisorKeyPath, "--envelopes", result.envelopesDir, "--genesis", join(dir, "genesis.json")];
  const openedOk = (await regulator.run(["open", ...openArgs], { ...ctx, stdout: capture, stderr: quiet })) === EXIT.ok;
  out.write(`   ${openedOk ? opened.join("").trim() : "could not open it"}\n`);

  out.write("7. The auditor checks everything else, without the supervisor's key:\n");
  const report: string[] = [];
  const auditArgs = [result.bundlesDir, "--manifest", result.manifestPath, "--genesis", join(dir, "genesis.json")];
  const audited =
    (await audit.run(auditArgs, { ...ctx, stdout: { write: (t) => void report.push(t), isTTY: false }, stderr: quiet })) === EXIT.ok;
  const lines = [
    "善度 low-carbon pilot — report",
    "",
    "Who owes whom (settlement window 1, at the agreement's rate of 0.10 CNY per credit):",
    ...result.batch.obligations.map((g) => `  ${g.payer} owes ${g.payee} ${formatFen(g.amount)} CNY for ${g.redemptions} redemption(s)`),
    "Net transfers after multilateral netting:",
    ...result.batch.lines.map((l) => `  line ${l.index}: ${l.payer} → ${l.payee} ${formatFen(l.amount)} CNY (settled)`),
    `Settlement root ${toHex(result.batch.settlementRoot)}`,
    "",
    `The citizen's credits: ${result.balances.issued} issued, ${result.balances.burned} burned, ${result.balances.balance} spendable, ${result.balances.locked} locked`,
    "",
    "What was proven (shandu audit):",
    report.join(""),
  ];
  const reportPath = join(scenarioDir, "report.txt");
  await writeFile(reportPath, `${lines.join("\n")}\n`);
  out.write(
    `${lines
      .flatMap((l) => l.split("\n"))
      .map((l) => (l ? `   ${l}` : l))
      .join("\n")}\n`,
  );
  out.write(
    [
      `${result.bundles} proof bundles in ${rel(result.bundlesDir)}; the report is in ${rel(reportPath)}. Check them yourself:`,
      `  shandu audit ${rel(result.bundlesDir)} --manifest ${rel(result.manifestPath)} --genesis ${genesis}`,
      `  shandu verify ${rel(result.bundlesDir)} --genesis ${genesis} --strict`,
      "",
    ].join("\n"),
  );
  return openedOk && audited;
}

export const command: Command = { name: "devnet", usage: USAGE, run };
