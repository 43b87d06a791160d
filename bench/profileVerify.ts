/**
 * A focused workload for profiling bundle verification (section 5) without the rest of the bench:
 *
 *   npx node --cpu-prof --cpu-prof-dir=.bench-out/prof bench/profileVerify.ts [json|binary|parsed] [passes]
 *   npx node bench/cpuProfileSummary.ts .bench-out/prof/<file>.cpuprofile
 *
 * Bundle generation happens before the passes and shows up in the profile as its own subtree.
 */
import { loadBls, readBundleBytes } from "@shandu/proofs";
import { makeBundles, pass } from "./verifyBench.ts";

const form = (process.argv[2] ?? "json") as "json" | "binary" | "parsed";
const passes = Number(process.argv[3] ?? 10);
const bls = await loadBls("blst");
const set = makeBundles(bls, "bench-profile");
const inputs = form === "json" ? set.json : form === "binary" ? set.binary : set.json.map((b) => readBundleBytes(b));
for (let p = 0; p < passes; p++) {
  const s = pass(bls, set.genesis, form, inputs);
  console.log(`pass ${p + 1}: ${Math.round(s.bundlesPerSec).toLocaleString("en-US")} bundles/s (warm p50 ${s.warmP50Us.toFixed(0)} µs)`);
}
