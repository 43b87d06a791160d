/**
 * `shandu audit`: the auditor's check of the 善度 application from proof bundles alone (docs/audit.md):
 * every redemption's lock, authorisation, answer and burn or refund proven, and every settlement batch
 * the netting of the proven confirmations and the root the committee attested. Needs no key and no node.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  type AuditInput,
  type AuditManifest,
  type AuditReport,
  auditApplication,
  auditManifestFromJson,
  BundleVerifier,
  loadBls,
  readBundleBytes,
  type SettlementBatch,
  ShanduError,
  settlementBatchFromJson,
} from "@shandu/proofs";
import type { Command, CommandContext } from "../command.ts";
import { CliError, EXIT } from "../errors.ts";
import { parseFlags } from "../flags.ts";
import { collectBundles } from "../verify/collectBundles.ts";
import { readTrustAnchor } from "../verify/trustAnchor.ts";
import { defaultEvidenceVerifiers } from "./verify.ts";

const USAGE = `Usage: shandu audit <bundle dir|bundle file>... --manifest <audit.json> --genesis <committee.json> [--json]

Checks the 善度 application from its proof bundles, offline and without the supervisor's key:
  - for every cross-alliance redemption, that its lock (on the user's chain), its authorisation (on the
    exchange platform's chain), the platform's answer or the timeout, and the burn or refund are each
    proven by a bundle that verifies from the trusted genesis, evidence included, and that no lock is
    both burned and refunded;
  - for every settlement window of the manifest, that the batch is exactly the netting of the proven
    confirmations at the agreement's rates (recomputed here), and that its root is the one the
    settlement contract sent and the committee attested.
The manifest (written with the deployment) names the chains' redemption and settlement contracts, the
institutions' accounts, the credit classes and their sponsors, the agreement and the windows' batch
files (paths relative to the manifest). Take it, like the genesis, from a source you trust.

Exit status: 0 when everything is proven, 1 when something is not (the report says which step of which
redemption or window, and why), 2 when the command cannot run as asked.

Flags:
  --manifest <path>   the audit manifest (required)
  --genesis <path>    the genesis committee you trust (required)
  --json              print the report as JSON
  -h, --help          show this text
`;

async function readJson(path: string, what: string, hint: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new CliError("FILE_NOT_FOUND", `cannot read the ${what} ${path}`, { hint, cause, facts: { path } });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new CliError("BAD_FLAG_VALUE", `the ${what} ${path} is not JSON`, { hint, cause, facts: { path } });
  }
}

/** Reads the manifest; a malformed one is a usage error naming the JSON path. */
export async function readManifest(path: string): Promise<AuditManifest> {
  const hint = "Pass --manifest with the audit.json written with the deployment (e.g. by `shandu devnet --scenario low-carbon`).";
  const json = await readJson(path, "manifest", hint);
  try {
    return auditManifestFromJson(json);
  } catch (cause) {
    if (!(cause instanceof ShanduError)) throw cause;
    throw new CliError("BAD_FLAG_VALUE", `the manifest ${path} is malformed: ${cause.message}`, { hint, cause });
  }
}

/** The batch of each window, read from beside the manifest; an unreadable batch is reported by the audit, not thrown. */
export async function readBatches(
  manifest: AuditManifest,
  manifestPath: string,
): Promise<Map<bigint, SettlementBatch | { readError: string }>> {
  const out = new Map<bigint, SettlementBatch | { readError: string }>();
  for (const w of manifest.windows) {
    const path = resolve(dirname(manifestPath), w.batch);
    try {
      out.set(w.window.windowId, settlementBatchFromJson(JSON.parse(await readFile(path, "utf8"))));
    } catch (e) {
      out.set(w.window.windowId, { readError: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

export async function readAuditInputs(files: readonly string[], cwd: string): Promise<AuditInput[]> {
  const inputs: AuditInput[] = [];
  for (const name of files) {
    try {
      const b = await readFile(resolve(cwd, name));
      inputs.push({ name, bundle: readBundleBytes(new Uint8Array(b.buffer, b.byteOffset, b.byteLength)) });
    } catch (e) {
      inputs.push({
        name,
        bundle: null,
        readError: { code: e instanceof ShanduError ? e.code : "UNREADABLE", detail: e instanceof Error ? e.message : String(e) },
      });
    }
  }
  return inputs;
}

const OUTCOME_TEXT: Record<string, string> = {
  burned: "confirmed, credits burned",
  "refunded-rejected": "rejected, credits refunded",
  "refunded-timeout": "no answer in time, credits refunded",
  "late-confirmation": "confirmed after the refund (late confirmation: settle by hand)",
  pending: "in flight (no answer proven yet)",
  failed: "NOT PROVEN",
};

/** The report for people. */
export function renderAudit(r: AuditReport): string {
  const lines: string[] = [];
  lines.push(
    `Bundles: ${r.bundles.total} read, ${r.bundles.verified} of the application's verified${r.bundles.unrelated ? `, ${r.bundles.unrelated} not the application's (ignored)` : ""}${r.bundles.failed.length ? `, ${r.bundles.failed.length} FAILED` : ""}`,
  );
  for (const f of r.bundles.failed) lines.push(`  ✗ ${f.bundle}: step ${f.step} failed: ${f.code} (${f.detail})`);
  lines.push("", `Redemptions (${r.redemptions.length}):`);
  for (const x of r.redemptions) {
    const mark = x.outcome === "failed" ? "✗" : "✓";
    lines.push(`  ${mark} ${x.id.slice(0, 18)}…  ${x.amount} credits, ${x.from} → ${x.to}: ${OUTCOME_TEXT[x.outcome]}`);
    for (const s of x.steps) {
      const m = s.status === "proven" ? "✓" : "✗";
      lines.push(`      ${m} ${s.step.padEnd(13)} ${s.status === "proven" ? s.detail : `${s.code}: ${s.detail}`}`);
    }
  }
  lines.push("", `Settlement windows (${r.settlements.length}):`);
  for (const s of r.settlements) {
    lines.push(
      `  ${s.status === "proven" ? "✓" : "✗"} window ${s.windowId}: ${s.status === "proven" ? s.detail : `${s.code}: ${s.detail}`}`,
    );
  }
  lines.push("", r.ok ? "Audit passed: every step is proven." : "Audit FAILED: see the ✗ lines above.", "");
  return lines.join("\n");
}

const jsonReplacer = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);

async function run(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { manifest: { type: "string" }, genesis: { type: "string" }, json: { type: "boolean" } },
    "audit",
  );
  if (positionals.length === 0) {
    throw new CliError("MISSING_ARGUMENT", "no bundles given", {
      hint: "Pass the directory of proof bundles, e.g. `shandu audit devnet/bundles --manifest …`.",
    });
  }
  if (typeof values.manifest !== "string") {
    throw new CliError("MISSING_ARGUMENT", "--manifest is required", {
      hint: "Pass --manifest with the audit.json written with the deployment.",
    });
  }
  if (typeof values.genesis !== "string") {
    throw new CliError("NO_TRUST_ANCHOR", "--genesis is required", {
      hint: "Pass --genesis with the genesis committee you trust, obtained out of band (not from the bundles).",
    });
  }
  const bls = await loadBls();
  const anchor = await readTrustAnchor(values.genesis, ctx.cwd, "flag", bls);
  const manifestPath = resolve(ctx.cwd, values.manifest);
  const manifest = await readManifest(manifestPath);
  const { files } = await collectBundles(positionals, ctx.cwd);
  ctx.stderr.write(`Auditing ${files.length} bundles against genesis ${anchor.committeeSetHash}…\n`);
  const inputs = await readAuditInputs(files, ctx.cwd);
  const verifier = new BundleVerifier({ trustedGenesis: anchor.committee, bls, evidenceVerifiers: defaultEvidenceVerifiers() });
  const report = auditApplication(inputs, manifest, verifier, await readBatches(manifest, manifestPath));
  ctx.stdout.write(values.json ? `${JSON.stringify(report, jsonReplacer, 2)}\n` : renderAudit(report));
  return report.ok ? EXIT.ok : EXIT.failed;
}

export const command: Command = { name: "audit", usage: USAGE, run };
