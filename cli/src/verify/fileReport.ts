import { type BundleReport, type BundleVerifier, ShanduError, STEP_NAMES, type StepName, type StepResult } from "@shandu/proofs";

/** The outcome for one bundle file, as printed and as written by `--json`. */
export interface FileReport {
  /** The path as given on the command line, or directory + file name. */
  file: string;
  ok: boolean;
  /** `0x`-hex message id, or null when the bundle could not be read that far. */
  messageId: string | null;
  /** Every step of {@link STEP_NAMES}, in that order. */
  steps: StepResult[];
}

/** A file's contents, or why it could not be read. */
export type FileBytes = Uint8Array | { readError: string };

/** The code of a step that failed because `--strict` wanted evidence that was not checked. */
export const EVIDENCE_NOT_CHECKED = "EVIDENCE_NOT_CHECKED";

const EVIDENCE_STEPS: readonly StepName[] = ["source-evidence", "destination-evidence"];

/**
 * Verifies one file's bytes. Never throws: a file that cannot be read, is not a bundle, or trips the
 * verifier in an unexpected way gives a failed report naming the reason, so one bad file cannot stop
 * an audit of thousands.
 */
export function verifyFile(verifier: BundleVerifier, file: string, bytes: FileBytes, strict: boolean): FileReport {
  let report: BundleReport;
  if (!(bytes instanceof Uint8Array)) {
    report = failedAtFormat("UNREADABLE", `cannot read the file: ${bytes.readError}`);
  } else {
    try {
      report = verifier.verifyBytes(bytes);
    } catch (e) {
      // The verifier promises not to throw for bad input; if it does anyway, the bundle still fails.
      const code = e instanceof ShanduError ? e.code : "INTERNAL";
      report = failedAtFormat(code, `the verifier could not process this bundle: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const fileReport = { file, ok: report.ok, messageId: report.messageId, steps: report.steps };
  return strict ? requireEvidence(fileReport) : fileReport;
}

function failedAtFormat(code: string, detail: string): BundleReport {
  return {
    ok: false,
    messageId: null,
    steps: [
      { step: "format", status: "failed", code, detail },
      ...STEP_NAMES.slice(1).map((step) => ({ step, status: "not-checked" as const, detail: "not checked: an earlier step failed" })),
    ],
  };
}

/**
 * `--strict`: source and destination evidence must have been checked and passed. Evidence the verifier
 * reached but could not check (none in the bundle, or no verifier for its kind) becomes a failure;
 * evidence skipped because an earlier step failed stays "not checked", the earlier failure is the news.
 */
export function requireEvidence(r: FileReport): FileReport {
  const firstEvidence = r.steps.findIndex((s) => EVIDENCE_STEPS.includes(s.step));
  const reached = firstEvidence > 0 && r.steps.slice(0, firstEvidence).every((s) => s.status === "passed");
  if (!reached) return r;
  let ok = r.ok;
  const steps = r.steps.map((s): StepResult => {
    if (!EVIDENCE_STEPS.includes(s.step) || s.status !== "not-checked") return s;
    ok = false;
    return { step: s.step, status: "failed", code: EVIDENCE_NOT_CHECKED, detail: `--strict requires checked evidence, but: ${s.detail}` };
  });
  return { ...r, ok, steps };
}
