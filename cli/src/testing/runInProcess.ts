import type { CommandContext, Output } from "../command.ts";
import { main } from "../main.ts";
import type { ShanduRun } from "./runShandu.ts";

/**
 * Runs a `shandu` command line inside the test process, with stdout and stderr captured. Much faster
 * than {@link runShandu} (no Node start-up, BLS and committee checks stay warm), so detailed cases use
 * this and a few end-to-end cases run the real launcher.
 */
export async function runInProcess(
  args: readonly string[],
  opts: { cwd?: string; stderrIsTTY?: boolean; signal?: AbortSignal; onStdout?: (text: string) => void } = {},
): Promise<ShanduRun> {
  let stdout = "";
  let stderr = "";
  const out: Output = {
    write: (t) => {
      stdout += t;
      opts.onStdout?.(t);
    },
    isTTY: false,
  };
  const err: Output = {
    write: (t) => {
      stderr += t;
    },
    isTTY: opts.stderrIsTTY === true,
    columns: 100,
  };
  const ctx: CommandContext = {
    stdout: out,
    stderr: err,
    cwd: opts.cwd ?? process.cwd(),
    signal: opts.signal ?? new AbortController().signal,
  };
  const code = await main(args, ctx);
  return { code, stdout, stderr };
}
