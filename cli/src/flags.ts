/**
 * Flag parsing on top of `node:util` `parseArgs`, turning its errors into {@link CliError}s that say
 * what to do next.
 */
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { CliError } from "./errors.ts";

/** The parsed flags and positionals of one command line. */
export interface ParsedFlags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses `argv` strictly against `options`. Throws {@link CliError} `UNKNOWN_FLAG` (with the closest
 * known flag, if any) or `BAD_FLAG_VALUE`; `command` (empty for the global flags) names the command in
 * the message and the hint.
 */
export function parseFlags(argv: readonly string[], options: ParseArgsOptionsConfig, command: string): ParsedFlags {
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    return { values: values as ParsedFlags["values"], positionals };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const help = command ? `Run \`shandu help ${command}\` for the flags it takes.` : "Run `shandu --help` for usage.";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const flag = unknownFlag(argv, options) ?? "(unknown)";
      const near = closest(
        flag.replace(/^-+/, "").replace(/=.*$/, ""),
        Object.keys(options).filter((n) => n.length > 1),
      );
      throw new CliError("UNKNOWN_FLAG", `unknown flag ${flag}${command ? ` for \`shandu ${command}\`` : ""}`, {
        hint: near ? `Did you mean --${near}? ${help}` : help,
        facts: { flag },
      });
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" || code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const first = (e as Error).message.split("\n")[0] ?? "bad flag value";
      throw new CliError("BAD_FLAG_VALUE", first, { hint: help, cause: e });
    }
    throw e;
  }
}

/** The first argument before `--` that looks like a flag this command does not know. */
function unknownFlag(argv: readonly string[], options: ParseArgsOptionsConfig): string | undefined {
  const long = new Set(Object.keys(options));
  const short = new Set(Object.values(options).flatMap((o) => (o.short ? [o.short] : [])));
  for (const a of argv) {
    if (a === "--") return undefined;
    if (a.startsWith("--")) {
      if (!long.has(a.slice(2).replace(/=.*$/, ""))) return a;
    } else if (a.startsWith("-") && a.length > 1) {
      if ([...a.slice(1)].some((c) => !short.has(c))) return a;
    }
  }
  return undefined;
}

/** The candidate nearest to `word` by edit distance, if it is near enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}
