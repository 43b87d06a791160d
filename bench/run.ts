/**
 * `npm run bench`: the Shandu performance report. Prints every table and writes the same figures to
 * `.bench-out/latest.json`. Timings are relative to the machine they ran on; compare rows of one run,
 * not runs on different machines. Budget: about two minutes.
 *
 * `npm run bench -- bls attest verify cli gas system app` runs only the named parts (sections 1–3, 4, 5, 6, 7, 8 and 9); a partial run
 * writes `.bench-out/partial.json` and leaves `latest.json` alone.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBls, nobleBls } from "@shandu/proofs";
import { runAppBench } from "./appBench.ts";
import { runAttestBench } from "./attestBench.ts";
import { runBlsBench } from "./blsBench.ts";
import { runCliBench } from "./cliBench.ts";
import { GAS_TARGETS, runGasBench } from "./gasBench.ts";
import { nowMs } from "./harness.ts";
import { runSystemBench, SYSTEM_TARGETS } from "./systemBench.ts";
import { verdict } from "./table.ts";
import { runVerifyBench } from "./verifyBench.ts";

const PARTS = ["bls", "attest", "verify", "cli", "gas", "system", "app"] as const;
type Part = (typeof PARTS)[number];

const asked = process.argv.slice(2);
for (const a of asked) {
  if (!(PARTS as readonly string[]).includes(a)) {
    console.error(`unknown part "${a}"; choose from: ${PARTS.join(", ")}`);
    process.exit(2);
  }
}
const selected = new Set<Part>(asked.length > 0 ? (asked as Part[]) : PARTS);

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

const loads = () => loadavg().map((x) => Number(x.toFixed(2)));
const log = (s: string) => console.log(s);
const started = nowMs();
const header = {
  date: new Date().toISOString(),
  node: process.version,
  v8: process.versions.v8,
  platform: `${process.platform}-${process.arch}`,
  cpu: cpus()[0]?.model ?? "unknown",
  cores: availableParallelism(),
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  loadAverageAtStart: loads(),
  packages: { "@chainsafe/blst": packageVersion("@chainsafe/blst"), "@noble/curves": packageVersion("@noble/curves") },
};

log("Shandu benchmarks");
log(`date      ${header.date}`);
log(`node      ${header.node} (V8 ${header.v8}), ${header.platform}`);
log(`cpu       ${header.cpu}, ${header.cores} cores available, ${header.memoryGiB} GiB`);
log(`load      ${header.loadAverageAtStart.join(" ")} (1/5/15 min) at start: other work on the machine shows up as noise`);
log(`packages  @chainsafe/blst ${header.packages["@chainsafe/blst"]}, @noble/curves ${header.packages["@noble/curves"]}`);
log("timings   p50 = median of per-sample means; ratios compare cases measured interleaved in the same run");

const bls = await loadBls("blst");
const blsResults = selected.has("bls") ? runBlsBench(bls, nobleBls, log) : null;
const attest = selected.has("attest") ? runAttestBench(bls, log) : null;
const verify = selected.has("verify") ? runVerifyBench(bls, log) : null;
const cli = selected.has("cli") ? runCliBench(bls, log) : null;
const gas = selected.has("gas") ? await runGasBench(bls, log) : null;
const system = selected.has("system") ? await runSystemBench(bls, log) : null;
const app = selected.has("app") ? await runAppBench(bls, log) : null;
const elapsedS = (nowMs() - started) / 1000;

const targets: { target: string; value: string; pass: boolean }[] = [];
for (const r of blsResults?.overhead ?? []) {
  targets.push({
    target: `Bls ${r.op} within ${blsResults!.overheadTarget}× of raw blst`,
    value: `${r.ratioP50.toFixed(2)}×`,
    pass: r.pass,
  });
}
if (attest) {
  targets.push({
    target: `attest and prove ≥ ${attest.target.toLocaleString("en-US")} records/s`,
    value: `${Math.round(attest.recordsPerSec).toLocaleString("en-US")}/s`,
    pass: attest.pass,
  });
}
if (verify) {
  targets.push({
    target: `bundles verified ≥ ${verify.target.toLocaleString("en-US")}/s (JSON)`,
    value: `${Math.round(verify.steady.json.bundlesPerSec).toLocaleString("en-US")}/s`,
    pass: verify.pass,
  });
}
if (gas) {
  targets.push({
    target: `gas per message at batch 128 ≤ ${GAS_TARGETS.perMessageAt128.toLocaleString("en-US")} (steady state)`,
    value: Math.round(gas.perMessageAt128).toLocaleString("en-US"),
    pass: gas.perMessageAt128 <= GAS_TARGETS.perMessageAt128,
  });
  targets.push({
    target: `gas for a single message ≤ ${GAS_TARGETS.single.toLocaleString("en-US")} (steady state)`,
    value: Math.round(gas.single).toLocaleString("en-US"),
    pass: gas.single <= GAS_TARGETS.single,
  });
}

if (system) {
  targets.push({
    target: `gateway attests ≥ ${SYSTEM_TARGETS.gatewayMessagesPerSecond.toLocaleString("en-US")} messages/s (slowest store)`,
    value: `${Math.round(system.gatewayMessagesPerSecond).toLocaleString("en-US")}/s`,
    pass: system.gatewayMessagesPerSecond >= SYSTEM_TARGETS.gatewayMessagesPerSecond,
  });
  targets.push({
    target: `end-to-end latency p50 ≤ ${SYSTEM_TARGETS.e2eLatencyP50Seconds} s at 1 s blocks, 0 confirmations`,
    value: `${system.e2e.latencyP50Seconds.toFixed(2)} s (p95 ${system.e2e.latencyP95Seconds.toFixed(2)} s)`,
    pass: system.e2e.complete && system.e2e.latencyP50Seconds <= SYSTEM_TARGETS.e2eLatencyP50Seconds,
  });
}

log("\nSummary");
log("=======");
for (const t of targets) log(`${verdict(t.pass)}  ${t.target}: ${t.value}`);
const loadAverageAtEnd = loads();
log(`(bench took ${elapsedS.toFixed(0)} s; load average at end ${loadAverageAtEnd.join(" ")})`);

const outDir = join(root, ".bench-out");
mkdirSync(outDir, { recursive: true });
const out = join(outDir, selected.size === PARTS.length ? "latest.json" : "partial.json");
const results = {
  header,
  parts: [...selected],
  elapsedS,
  loadAverageAtEnd,
  targets,
  bls: blsResults,
  attest,
  verify,
  cli,
  gas,
  system,
  app,
};
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
log(`results written to ${out}`);
