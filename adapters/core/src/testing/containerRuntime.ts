/**
 * Whether a container runtime is reachable, for the `testcontainers` suites of the adapters: they run
 * against real node images where Docker (or another runtime) answers, and are reported skipped with the
 * reason where none does, so a run stays green without pretending anything passed.
 */
import { execFile } from "node:child_process";

export type ContainerRuntime = { available: true; detail: string } | { available: false; reason: string };

/** Runs in a child process, so that a runtime that never answers can be killed rather than waited for. */
const PROBE = `
const say = (o) => process.stdout.write(JSON.stringify(o));
try {
  const { getContainerRuntimeClient } = await import(process.argv[1]);
  const r = (await getContainerRuntimeClient()).info.containerRuntime;
  say({ available: true, detail: r.host + ", server " + r.serverVersion + ", " + r.operatingSystemType + "/" + r.architecture });
} catch (e) {
  say({ available: false, reason: "testcontainers: " + String(e && e.message ? e.message : e) });
}`;

/**
 * Whether `testcontainers` finds a working container runtime (its `getContainerRuntimeClient`), decided
 * within `timeoutMs`: an unreachable `DOCKER_HOST` counts as no runtime. `testcontainersUrl` is the
 * package as the calling package resolves it (`import.meta.resolve("testcontainers")`). Never throws.
 */
export function probeContainerRuntime(testcontainersUrl: string, timeoutMs = 20_000): Promise<ContainerRuntime> {
  const where = `DOCKER_HOST ${process.env.DOCKER_HOST ? `is ${process.env.DOCKER_HOST}` : "unset"}`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--input-type=module", "-e", PROBE, testcontainersUrl],
      { timeout: timeoutMs, killSignal: "SIGKILL", encoding: "utf8" },
      (error, stdout) => {
        if (error && (error.killed || error.signal)) {
          resolve({ available: false, reason: `no answer from the container runtime within ${timeoutMs} ms; ${where}` });
          return;
        }
        try {
          const r = JSON.parse(stdout) as ContainerRuntime;
          resolve(r.available ? r : { available: false, reason: `${r.reason}; ${where}` });
        } catch {
          resolve({ available: false, reason: `the runtime probe failed: ${error?.message ?? stdout}; ${where}` });
        }
      },
    );
  });
}

/** The `skip` option for node:test: `false` where a runtime exists, else the reason. */
export const skipWithoutRuntime = (r: ContainerRuntime): string | false =>
  r.available ? false : `skipped: no container runtime (${r.reason})`;
