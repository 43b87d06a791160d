/**
 * Section 9: the 善度 application. The low-carbon scenario on the devnet (a block per transaction), with
 * the gas every application transaction used on anvil (Prague), and the time the auditor's check takes
 * over the scenario's bundles, set beside the time `shandu verify --strict` alone takes over the same
 * bundles in the same run (the audit's extra work is re-reading the proven receipts and the settlement).
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { evmAdapterModule } from "@shandu/adapter-evm";
import { deployApplication, runLowCarbonScenario, startDevnet } from "@shandu/cli/devnet";
import {
  auditApplication,
  auditManifestFromJson,
  type Bls,
  BundleVerifier,
  committeeFromJson,
  evmDeliveryEvidenceVerifier,
  evmReceiptEvidenceVerifier,
  readBundleBytes,
  settlementBatchFromJson,
} from "@shandu/proofs";
import { nowMs } from "./harness.ts";
import { heading, table } from "./table.ts";

export interface AppResults {
  gas: { operation: string; calls: number; min: number; max: number }[];
  bundles: number;
  applicationBundles: number;
  auditMs: number;
  verifyOnlyMs: number;
  scenarioSeconds: number;
}

const quiet = { write: () => {}, isTTY: false };

export async function runAppBench(bls: Bls, log: (s: string) => void): Promise<AppResults> {
  log(heading("9. The 善度 application: gas per operation, and the audit"));
  const dir = await mkdtemp(join(tmpdir(), "shandu-bench-app-"));
  const devnet = await startDevnet({
    dir,
    bls,
    modules: { evm: evmAdapterModule },
    messagesPerLane: 0,
    ratePerSecond: 0,
    signal: new AbortController().signal,
    out: quiet,
  });
  try {
    const t0 = nowMs();
    const app = await deployApplication(devnet, bls);
    const result = await runLowCarbonScenario(devnet, app, bls, { dir: join(dir, "scenario"), out: quiet });
    const scenarioSeconds = (nowMs() - t0) / 1000;
    const gas = [...result.gas].map(([operation, used]) => {
      const n = used.map(Number);
      return { operation, calls: n.length, min: Math.min(...n), max: Math.max(...n) };
    });
    log(
      table(
        ["operation", "calls", "gas (min)", "gas (max)"],
        gas.map((g) => [g.operation, g.calls, g.min.toLocaleString("en-US"), g.max.toLocaleString("en-US")]),
      ),
    );

    const genesis = committeeFromJson(JSON.parse(await readFile(join(dir, "genesis.json"), "utf8")));
    const names = (await readdir(result.bundlesDir)).sort();
    const inputs = await Promise.all(
      names.map(async (name) => ({ name, bundle: readBundleBytes(new Uint8Array(await readFile(join(result.bundlesDir, name)))) })),
    );
    const manifest = auditManifestFromJson(JSON.parse(await readFile(result.manifestPath, "utf8")));
    const batches = new Map([
      [1n, settlementBatchFromJson(JSON.parse(await readFile(join(result.dir, "settlement-window-1.json"), "utf8")))],
    ]);
    const verifier = () =>
      new BundleVerifier({
        trustedGenesis: genesis,
        bls,
        evidenceVerifiers: [evmReceiptEvidenceVerifier(), evmDeliveryEvidenceVerifier()],
      });
    // Fresh verifiers each round (no cached committee chains or attestations); interleaved, best of five.
    // The audit verifies only the application's bundles (governance messages are counted and skipped):
    // time `shandu verify` over those same bundles.
    const appInputs = inputs.filter((i) => /-(authorise|confirm|reject|expired|settlement)\.json$/.test(i.name));
    let auditMs = Number.POSITIVE_INFINITY;
    let verifyOnlyMs = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 5; round++) {
      let t = nowMs();
      const v = verifier();
      for (const i of appInputs) v.verify(i.bundle);
      verifyOnlyMs = Math.min(verifyOnlyMs, nowMs() - t);
      t = nowMs();
      const report = auditApplication(inputs, manifest, verifier(), batches);
      auditMs = Math.min(auditMs, nowMs() - t);
      if (!report.ok) throw new Error("the scenario's audit did not pass in the benchmark");
    }
    log(
      `scenario (deploy, govern, deeds, 4 redemptions, settlement, ${inputs.length} bundles): ${scenarioSeconds.toFixed(1)} s; ` +
        `audit of its ${appInputs.length} application bundles ${auditMs.toFixed(0)} ms vs verifying the same bundles alone ` +
        `${verifyOnlyMs.toFixed(0)} ms (${(auditMs / verifyOnlyMs).toFixed(2)}×, best of 5, interleaved)`,
    );
    return { gas, bundles: inputs.length, applicationBundles: appInputs.length, auditMs, verifyOnlyMs, scenarioSeconds };
  } finally {
    await devnet.close();
    await rm(dir, { recursive: true, force: true });
  }
}
