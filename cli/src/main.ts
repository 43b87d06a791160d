/**
 * The `shandu` command: a small dispatcher from subcommand names to modules in `src/commands/`.
 * {@link COMMANDS} is the one table of subcommands; a command's module is loaded only when it runs, so
 * heavy commands do not slow down light ones.
 */
import { readFileSync } from "node:fs";
import type { Command, CommandContext, Output } from "./command.ts";
import { CliError, EXIT } from "./errors.ts";
import { closest, parseFlags } from "./flags.ts";

interface CommandEntry {
  /** One line for the command list in `shandu --help`. */
  summary: string;
  load(): Promise<{ command: Command }>;
}

/** Every subcommand, by name. Adding a command means adding a module in `src/commands/` and a row here. */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  verify: {
    summary: "check proof bundles offline against a trusted genesis committee",
    load: () => import("./commands/verify.ts"),
  },
  gateway: {
    summary: "run the gateway: verify and aggregate partial signatures, store, log, publish, serve proofs",
    load: () => import("./commands/gateway.ts"),
  },
  attester: {
    summary: "run one committee member's attester: watch source chains, sign batches, submit partials",
    load: () => import("./commands/attester.ts"),
  },
  relayer: {
    summary: "run a relayer: deliver attested batches from NATS JetStream to destination chains",
    load: () => import("./commands/relayer.ts"),
  },
  regulator: {
    summary: "the supervisor's envelopes: make its X25519 key, seal personal data to it, open what a bundle commits to",
    load: () => import("./commands/regulator.ts"),
  },
  audit: {
    summary: "check the 善度 application from its bundles: every redemption's steps proven, settlements recomputed",
    load: () => import("./commands/audit.ts"),
  },
  fisco: {
    summary: "decode a FISCO BCOS transaction (3.x TARS or 2.x RLP, ECDSA or SM): fields, hash, sender",
    load: () => import("./commands/fisco.ts"),
  },
  devnet: {
    summary: "start a local alliance: two anvil chains, committee, gateway, relayer, NATS, example traffic",
    load: () => import("./commands/devnet.ts"),
  },
};

/** The version in this package's package.json, read once. */
const VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** The text of `shandu --help`. */
export function overview(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `shandu — Shandu cross-chain gateway for 善度 alliances

Usage:
  shandu <command> [arguments] [flags]
  shandu help <command>        show the usage of one command
  shandu --version             print the version

Commands:
${rows.join("\n")}

Exit codes: 0 success · 1 something checked failed · 2 usage error · 3 internal error · 130 interrupted
`;
}

/**
 * Runs one command line (`argv` without the node and script paths) and resolves to the exit code.
 * Never throws: usage errors are printed to `ctx.stderr` with a hint and give {@link EXIT.usage}.
 */
export async function main(argv: readonly string[], ctx: CommandContext): Promise<number> {
  try {
    return await dispatch(argv, ctx);
  } catch (e) {
    if (e instanceof CliError) {
      ctx.stderr.write(`shandu: error: ${e.shortMessage}\n  ${e.hint}\n`);
      return EXIT.usage;
    }
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    ctx.stderr.write(`shandu: internal error (a bug in shandu; please report it with this output):\n${detail}\n`);
    return EXIT.internal;
  }
}

async function dispatch(argv: readonly string[], ctx: CommandContext): Promise<number> {
  // Global flags come before the command name; everything after it belongs to the command.
  const at = argv.findIndex((a) => !a.startsWith("-"));
  const globalArgs = at === -1 ? argv : argv.slice(0, at);
  const { values } = parseFlags(globalArgs, { help: { type: "boolean", short: "h" }, version: { type: "boolean", short: "V" } }, "");
  if (values.version) {
    ctx.stdout.write(`shandu ${VERSION}\n`);
    return EXIT.ok;
  }
  if (values.help) {
    ctx.stdout.write(overview());
    return EXIT.ok;
  }
  const name = at === -1 ? undefined : argv[at];
  const rest = at === -1 ? [] : argv.slice(at + 1);
  if (name === undefined) {
    ctx.stderr.write(overview());
    return EXIT.usage;
  }
  if (name === "help") {
    const topic = rest[0];
    if (topic === undefined) {
      ctx.stdout.write(overview());
      return EXIT.ok;
    }
    ctx.stdout.write((await load(topic)).usage);
    return EXIT.ok;
  }
  const command = await load(name);
  const beforeTerminator = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  if (beforeTerminator.includes("--help") || beforeTerminator.includes("-h")) {
    ctx.stdout.write(command.usage);
    return EXIT.ok;
  }
  return command.run(rest, ctx);
}

async function load(name: string): Promise<Command> {
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    const near = closest(name, Object.keys(COMMANDS));
    throw new CliError("UNKNOWN_COMMAND", `unknown command "${name}"`, {
      hint: `${near ? `Did you mean \`shandu ${near}\`? ` : ""}Run \`shandu --help\` to list the commands.`,
      facts: { command: name },
    });
  }
  return (await entry.load()).command;
}

/** Adapts a process stream to {@link Output}. */
function output(stream: NodeJS.WriteStream): Output {
  return {
    write: (text) => {
      stream.write(text);
    },
    get isTTY() {
      return stream.isTTY === true;
    },
    get columns() {
      return stream.columns;
    },
  };
}

/**
 * Entry point used by `bin/shandu.js`: runs `process.argv` and sets `process.exitCode`. The first
 * Ctrl-C asks the running command to stop and report what it did; a second one exits at once.
 */
export async function runFromProcess(): Promise<void> {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  process.once("SIGTERM", () => controller.abort());
  // `shandu verify … | head` closes the pipe early; that is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(process.exitCode ?? EXIT.ok);
      throw e;
    });
  }
  process.exitCode = await main(process.argv.slice(2), {
    stdout: output(process.stdout),
    stderr: output(process.stderr),
    cwd: process.cwd(),
    signal: controller.signal,
  });
}
