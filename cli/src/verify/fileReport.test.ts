import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type BundleReport, type BundleVerifier, CodecError, STEP_NAMES, type StepResult } from "@shandu/proofs";
import { EVIDENCE_NOT_CHECKED, type FileReport, requireEvidence, verifyFile } from "./fileReport.ts";

/** A stand-in verifier that answers `verifyBytes` with `answer`. */
function verifierThat(answer: () => BundleReport): BundleVerifier {
  return { verifyBytes: answer } as unknown as BundleVerifier;
}

function passedUpTo(last: string, rest: Partial<Record<string, StepResult>> = {}): FileReport {
  let reached = true;
  const steps = STEP_NAMES.map((step): StepResult => {
    const s =
      rest[step] ?? (reached ? { step, status: "passed", detail: "ok" } : { step, status: "not-checked", detail: "none in this bundle" });
    if (step === last) reached = false;
    return s;
  });
  return { file: "b.json", ok: true, messageId: "0x01", steps };
}

describe("verifyFile", () => {
  test("a verifier that throws a ShanduError gives a failed format step with its code", () => {
    const r = verifyFile(
      verifierThat(() => {
        throw new CodecError("FIELD_TOO_LONG", "member id must be 1 to 64 bytes");
      }),
      "x.json",
      new Uint8Array([1]),
      false,
    );
    assert.equal(r.ok, false);
    assert.equal(r.messageId, null);
    assert.deepEqual(
      r.steps.map((s) => s.step),
      STEP_NAMES,
    );
    assert.equal(r.steps[0]?.code, "FIELD_TOO_LONG");
    assert.match(r.steps[0]?.detail ?? "", /^the verifier could not process this bundle: member id/);
    assert.ok(r.steps.slice(1).every((s) => s.status === "not-checked"));
  });

  test("any other exception is contained as INTERNAL", () => {
    const r = verifyFile(
      verifierThat(() => {
        throw new TypeError("cannot read properties of undefined");
      }),
      "x.json",
      new Uint8Array([1]),
      false,
    );
    assert.equal(r.ok, false);
    assert.equal(r.steps[0]?.code, "INTERNAL");
  });

  test("an unreadable file fails at the format step with UNREADABLE, without asking the verifier", () => {
    const r = verifyFile(
      verifierThat(() => assert.fail("must not be called")),
      "x.json",
      { readError: "EACCES: permission denied" },
      false,
    );
    assert.equal(r.steps[0]?.code, "UNREADABLE");
    assert.match(r.steps[0]?.detail ?? "", /EACCES/);
  });
});

describe("requireEvidence (--strict)", () => {
  test("evidence that was reached but not checked becomes a failure", () => {
    const r = requireEvidence(passedUpTo("attestation"));
    assert.equal(r.ok, false);
    const ev = r.steps.filter((s) => s.step.endsWith("-evidence"));
    assert.deepEqual(
      ev.map((s) => [s.status, s.code]),
      [
        ["failed", EVIDENCE_NOT_CHECKED],
        ["failed", EVIDENCE_NOT_CHECKED],
      ],
    );
    assert.equal(r.steps.at(-1)?.status, "not-checked", "the regulator envelope is not required");
  });

  test("passed evidence stays passed and the bundle stays valid", () => {
    const r = requireEvidence(passedUpTo("destination-evidence"));
    assert.equal(r.ok, true);
  });

  test("after an earlier failure, skipped evidence stays not checked", () => {
    const broken = passedUpTo("inclusion", { attestation: { step: "attestation", status: "failed", code: "BAD_SIGNATURE", detail: "x" } });
    const r = requireEvidence({ ...broken, ok: false });
    assert.ok(r.steps.filter((s) => s.step.endsWith("-evidence")).every((s) => s.status === "not-checked"));
  });
});
