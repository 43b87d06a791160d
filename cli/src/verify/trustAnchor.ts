/**
 * Reading the trust anchor: the genesis committee a verifier was given out of band. Everything a
 * bundle says is checked against it, so it must never come from a bundle itself.
 *
 * A genesis file is UTF-8 JSON in one of two forms:
 *  - the bare committee, exactly as `committeeToJson` writes it (`{ "epoch", "members", "policy" }`);
 *  - a wrapped committee, `{ "format": "shandu.committee", "version": 1, "committee": { … } }`
 *    (`version` may be left out; if present it must be 1).
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type Bls,
  BUNDLE_FORMAT,
  type Committee,
  committeeFromJson,
  ShanduError,
  toHex,
  type VerifiedCommittee,
  verifyCommittee,
} from "@shandu/proofs";
import { CliError } from "../errors.ts";

/** The `format` tag of a wrapped genesis file. */
export const COMMITTEE_FILE_FORMAT = "shandu.committee";

/** Where the trust anchor came from, for the report. */
export type TrustAnchorSource = "flag" | "beside-bundles";

export interface TrustAnchor {
  /** The path as the user gave it or as it was found. */
  path: string;
  source: TrustAnchorSource;
  committee: Committee;
  /** The committee after its keys and proofs of possession were checked. */
  verified: VerifiedCommittee;
  /** `0x`-hex committeeSetHash: what an auditor compares with the value they were given out of band. */
  committeeSetHash: string;
}

/**
 * Reads, parses and checks a genesis file (see the module docs for the accepted forms); `path` is
 * resolved against `cwd` and reported as given. Throws {@link CliError} `FILE_NOT_FOUND` or
 * `BAD_GENESIS` with the reason; never returns a committee whose keys or proofs of possession are invalid.
 */
export async function readTrustAnchor(path: string, cwd: string, source: TrustAnchorSource, bls: Bls): Promise<TrustAnchor> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") {
      throw new CliError("FILE_NOT_FOUND", `genesis file ${path} does not exist`, {
        hint: "Pass --genesis with the path of the genesis committee JSON you were given.",
        facts: { path },
        cause,
      });
    }
    throw badGenesis(path, `cannot be read: ${(cause as Error).message}`, cause);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw badGenesis(path, "is not valid JSON", cause);
  }
  let committee: Committee;
  try {
    committee = committeeFromJson(unwrap(path, json), "committee");
  } catch (cause) {
    if (cause instanceof ShanduError) throw badGenesis(path, `is not a committee: ${cause.message}`, cause);
    throw cause;
  }
  let verified: VerifiedCommittee;
  try {
    verified = verifyCommittee(committee, bls);
  } catch (cause) {
    if (cause instanceof ShanduError) throw badGenesis(path, `is not a usable committee: ${cause.code}: ${cause.message}`, cause);
    throw cause;
  }
  return { path, source, committee, verified, committeeSetHash: toHex(verified.hash) };
}

function unwrap(path: string, json: unknown): unknown {
  if (typeof json !== "object" || json === null || Array.isArray(json) || !("format" in json)) return json;
  const o = json as Record<string, unknown>;
  if (o.format === BUNDLE_FORMAT) {
    throw new CliError("BAD_GENESIS", `${path} is a proof bundle, not a genesis committee`, {
      hint: "The trust anchor must be a committee you obtained out of band; a bundle cannot vouch for itself. Pass --genesis <committee.json>.",
      facts: { path },
    });
  }
  if (o.format !== COMMITTEE_FILE_FORMAT) {
    throw badGenesis(path, `has "format": ${JSON.stringify(o.format)}, expected "${COMMITTEE_FILE_FORMAT}" or a bare committee`);
  }
  if (o.version !== undefined && o.version !== 1) {
    throw badGenesis(path, `has committee file version ${JSON.stringify(o.version)}; this shandu reads version 1`);
  }
  return o.committee;
}

function badGenesis(path: string, what: string, cause?: unknown): CliError {
  return new CliError("BAD_GENESIS", `genesis file ${path} ${what}`, {
    hint: `A genesis file is a committee as written by committeeToJson, bare or wrapped as { "format": "${COMMITTEE_FILE_FORMAT}", "committee": … }.`,
    facts: { path },
    cause,
  });
}
