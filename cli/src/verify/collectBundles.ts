import { readdir, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { CliError } from "../errors.ts";

/** The name of a trust anchor kept beside bundles; a file of this name is never treated as a bundle. */
export const GENESIS_FILE_NAME = "genesis.json";

export interface BundleInputs {
  /** Bundle files to verify, in order: arguments in the order given, each directory's files sorted by name. */
  files: string[];
  /** `genesis.json` files found in the directories given, in argument order. */
  genesisBeside: string[];
}

/**
 * Expands the command's path arguments. A file is taken as a bundle whatever its extension; a
 * directory contributes its `*.json` and `*.bin` files, not recursively. Files named `genesis.json`,
 * given or found, are collected as trust-anchor candidates instead. Throws {@link CliError}
 * `FILE_NOT_FOUND` for a path that does not exist and `NO_BUNDLES` for a directory holding no bundle
 * files or arguments naming none. Paths keep the spelling the user gave (relative to `cwd`).
 */
export async function collectBundles(paths: readonly string[], cwd: string): Promise<BundleInputs> {
  const files: string[] = [];
  const genesisBeside: string[] = [];
  for (const path of paths) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(resolve(cwd, path))).isDirectory();
    } catch (cause) {
      const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
      throw new CliError("FILE_NOT_FOUND", missing ? `${path} does not exist` : `${path} cannot be read: ${(cause as Error).message}`, {
        hint: "Pass proof bundle files (.json or .bin) or directories holding them.",
        facts: { path },
        cause,
      });
    }
    if (!isDirectory) {
      // `shandu verify dir/*.json` names the genesis too: treat it as it would be inside `dir`.
      if (basename(path) === GENESIS_FILE_NAME) genesisBeside.push(path);
      else files.push(path);
      continue;
    }
    const entries = await readdir(resolve(cwd, path), { withFileTypes: true });
    const names: string[] = [];
    const subdirectories: string[] = [];
    for (const e of entries) {
      // Follow symbolic links so a directory of links to bundles works like a directory of bundles.
      const kind = e.isSymbolicLink() ? await stat(resolve(cwd, path, e.name)).catch(() => null) : e;
      if (kind?.isDirectory()) subdirectories.push(e.name);
      if (!kind?.isFile()) continue;
      if (e.name === GENESIS_FILE_NAME) genesisBeside.push(join(path, e.name));
      else if (e.name.endsWith(".json") || e.name.endsWith(".bin")) names.push(e.name);
    }
    if (names.length === 0) {
      const sub = subdirectories.sort().map((d) => join(path, d));
      throw new CliError("NO_BUNDLES", `${path} holds no bundle files (*.json, *.bin)`, {
        hint: sub.length
          ? `Directories are not searched recursively; name the subdirectories, e.g. \`shandu verify ${sub.slice(0, 3).join(" ")}\`.`
          : "Pass proof bundle files (.json or .bin) or directories holding them.",
        facts: { path },
      });
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const n of names) files.push(join(path, n));
  }
  if (files.length === 0) {
    throw new CliError("NO_BUNDLES", "no bundle files given, only a genesis file", {
      hint: "Pass proof bundle files (.json or .bin) or directories holding them.",
    });
  }
  return { files, genesisBeside };
}
