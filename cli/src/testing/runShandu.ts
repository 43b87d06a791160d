import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Absolute path of the `shandu` launcher. */
export const SHANDU_BIN = fileURLToPath(new URL("../../bin/shandu.js", import.meta.url));

export interface ShanduRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `shandu` as a child process, as a user would, and collects its exit code and output. By default
 * it runs under the Node running the tests (the pinned Node under `npm test`); pass `node` to launch it
 * with another one.
 */
export function runShandu(
  args: readonly string[],
  opts: { cwd?: string; node?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ShanduRun> {
  return new Promise((resolve, reject) => {
    execFile(
      opts.node ?? process.execPath,
      [SHANDU_BIN, ...args],
      { cwd: opts.cwd, env: opts.env ?? process.env, encoding: "utf8", timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          reject(error);
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}
