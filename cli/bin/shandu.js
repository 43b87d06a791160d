#!/usr/bin/env node
// The `shandu` launcher. Plain JavaScript on purpose: it must start under whatever Node is first on
// PATH. The command itself is TypeScript, which Node runs directly (type stripping) from 22.18 on and
// from 23.6 on in the 23 line. Under an older Node this re-runs itself with the Node 24 the repository
// pins through the `node` npm package, passing arguments, stdio, signals and the exit code through.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const REEXEC_MARK = "SHANDU_LAUNCHED_BY";

function canStripTypes(versions) {
  const parts = versions.node.split(".");
  const major = Number(parts[0]);
  const minor = Number(parts[1]);
  const recentEnough = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
  // `process.features.typescript` is false when stripping was switched off (--no-experimental-strip-types).
  return recentEnough && process.features.typescript !== false;
}

function pinnedNode() {
  try {
    const pkg = createRequire(import.meta.url).resolve("node/package.json");
    const names = process.platform === "win32" ? ["bin/node.exe", "node.exe", "bin/node"] : ["bin/node"];
    for (const name of names) {
      const candidate = join(dirname(pkg), name);
      if (existsSync(candidate)) return candidate;
    }
  } catch {
    // not installed: reported below
  }
  return null;
}

function fail(message, exitCode) {
  process.stderr.write(`shandu: ${message}\n`);
  process.exitCode = exitCode;
}

if (canStripTypes(process.versions)) {
  // Only this launch needed the mark; commands that start shandu again must not inherit it.
  delete process.env[REEXEC_MARK];
  import("../src/main.ts")
    .then((m) => m.runFromProcess())
    .catch((e) => fail(`internal error (a bug in shandu; please report it with this output):\n${e?.stack ?? e}`, 3));
} else {
  const node = pinnedNode();
  if (node === null || process.env[REEXEC_MARK] !== undefined) {
    fail(
      `Shandu needs Node ≥ 22.18 (this is Node ${process.versions.node}); run \`npm ci\` in the repository so the pinned Node 24 is installed.`,
      2,
    );
  } else {
    const child = spawn(node, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
      stdio: "inherit",
      env: { ...process.env, [REEXEC_MARK]: process.versions.node },
    });
    // Ctrl-C reaches the child directly (same process group); this process only waits for it.
    const forward = (signal) => child.kill(signal);
    process.on("SIGINT", () => {});
    process.on("SIGTERM", forward);
    process.on("SIGHUP", forward);
    child.on("error", (e) => fail(`could not start the pinned Node at ${node}: ${e.message}`, 2));
    child.on("exit", (code, signal) => {
      process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
    });
  }
}
