/**
 * Human-readable output of `shandu verify`: a checklist per bundle and a summary line. The marks are
 * `✓` passed, `✗` failed (with the error code), `–` not checked (with why).
 */
import { STEP_NAMES, type StepStatus } from "@shandu/proofs";
import type { FileReport } from "./fileReport.ts";
import type { TrustAnchor } from "./trustAnchor.ts";

const MARK: Record<StepStatus, string> = { passed: "✓", failed: "✗", "not-checked": "–" };
const STEP_WIDTH = Math.max(...STEP_NAMES.map((s) => s.length));

/** The lines saying what everything is checked against and how. */
export function renderTrustAnchor(anchor: TrustAnchor, opts: { backend: string; nowSeconds: bigint | undefined; strict: boolean }): string {
  const where = anchor.source === "beside-bundles" ? " (found beside the bundles)" : "";
  const c = anchor.committee;
  const clock =
    opts.nowSeconds === undefined
      ? "no --now given: historic audit mode, every epoch of the verified committee chain is accepted"
      : `as of ${opts.nowSeconds} (unix seconds): rotation grace periods applied`;
  return (
    `trust anchor: ${anchor.path}${where}\n` +
    `  genesis committee ${anchor.committeeSetHash}\n` +
    `  epoch ${c.epoch}, ${c.members.length} members: ${c.members.map((m) => m.id).join(", ")}\n` +
    `  BLS backend ${opts.backend}; ${clock}${opts.strict ? "; --strict: source and destination evidence required" : ""}\n` +
    (anchor.source === "beside-bundles"
      ? "  a genesis beside the bundles is only as trustworthy as whoever gave you them: compare the hash above with the one you were given\n"
      : "")
  );
}

/** A bundle's header line and one checklist line per step, in report order. */
export function renderFileReport(r: FileReport): string {
  const read = r.steps[0]?.status === "passed";
  const id = r.messageId ? `message ${r.messageId}` : read ? "(message id not computed: an earlier step failed)" : "(not read as a bundle)";
  const lines = [`${r.file}  ${id}`];
  for (const s of r.steps) {
    let text = s.detail;
    if (s.status === "failed") text = `${s.code ?? "FAILED"}: ${s.detail}`;
    else if (s.status === "not-checked" && !s.detail.startsWith("not checked")) text = `not checked: ${s.detail}`;
    lines.push(`  ${MARK[s.status]} ${s.step.padEnd(STEP_WIDTH)}  ${text}`);
  }
  return `${lines.join("\n")}\n`;
}

const MAX_NAMED_FAILURES = 20;

/** `N verified, M failed: a.json, b.json` — naming at most 20 failed files. */
export function renderSummary(verified: number, failedFiles: readonly string[], interrupted: { total: number } | null): string {
  let line = `${verified} verified, ${failedFiles.length} failed`;
  if (failedFiles.length > 0) {
    const named = failedFiles.slice(0, MAX_NAMED_FAILURES).join(", ");
    const more = failedFiles.length - MAX_NAMED_FAILURES;
    line += `: ${named}${more > 0 ? `, and ${more} more (listed above)` : ""}`;
  }
  if (interrupted) {
    line += `\ninterrupted: ${verified + failedFiles.length} of ${interrupted.total} bundles checked before Ctrl-C`;
  }
  return `${line}\n`;
}
