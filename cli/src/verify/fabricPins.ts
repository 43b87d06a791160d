/**
 * `--fabric-msps <file>`: the pins `shandu verify` needs to check `"fabric-endorsement"` evidence. A
 * Fabric endorsement is only worth what the endorsers' certificate authorities are worth, so the CAs and
 * the endorsement policy come from the user (who got them from the channel configuration, out of band),
 * never from a bundle:
 *
 * ```json
 * { "format": "shandu.fabric-trust",
 *   "msps": { "Org1MSP": ["-----BEGIN CERTIFICATE-----\n…"], "Org2MSP": ["…"] },
 *   "policy": { "outOf": 2, "rules": [{ "signedBy": "Org1MSP" }, { "signedBy": "Org2MSP" }] },
 *   "channel": "shandu",          // optional: evidence naming another channel fails
 *   "chaincode": "shandu" }       // optional: evidence naming another chaincode fails
 * ```
 *
 * `msps` maps each MSP id to the PEM certificates of its root (and intermediate) CAs; `policy` is a
 * {@link FabricPolicy} over those MSP ids. The file is trusted input: every problem in it is a usage
 * error naming the file, before any bundle is read.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type EvidenceVerifier,
  FABRIC_ENDORSEMENT_EVIDENCE_KIND,
  type FabricEndorsementVerifierOptions,
  type FabricPolicy,
  fabricEndorsementEvidenceVerifier,
  ShanduError,
} from "@shandu/proofs";
import { CliError } from "../errors.ts";
import type { FileReport } from "./fileReport.ts";

/** The `format` member of a Fabric trust file. */
export const FABRIC_TRUST_FORMAT = "shandu.fabric-trust";

/** The flag that names a Fabric trust file. */
export const FABRIC_PINS_FLAG = "--fabric-msps";

const HINT =
  `Pass a JSON file { "format": "${FABRIC_TRUST_FORMAT}", "msps": { "<mspId>": ["<PEM CA certificate>", …] }, ` +
  `"policy": { "signedBy": "<mspId>" } or { "outOf": k, "rules": [ … ] }, "channel"?: "…", "chaincode"?: "…" }, ` +
  "with the CA certificates and endorsement policy taken from the channel configuration.";

/** Thrown for a malformed member; `where` is its JSON path. */
class PinError extends Error {}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function policyOf(v: unknown, where: string, depth = 0): FabricPolicy {
  if (depth > 16) throw new PinError(`${where} is nested more than 16 deep`);
  if (!isObject(v)) throw new PinError(`${where} is not a policy object`);
  if ("signedBy" in v) {
    if (typeof v.signedBy !== "string" || v.signedBy === "" || Object.keys(v).length !== 1)
      throw new PinError(`${where} must be exactly { "signedBy": "<mspId>" }`);
    return { signedBy: v.signedBy };
  }
  if (!Array.isArray(v.rules) || typeof v.outOf !== "number" || Object.keys(v).length !== 2)
    throw new PinError(`${where} must be { "signedBy": "<mspId>" } or { "outOf": k, "rules": [ … ] }`);
  return { outOf: v.outOf, rules: v.rules.map((r, i) => policyOf(r, `${where}.rules[${i}]`, depth + 1)) };
}

function optionalName(v: unknown, where: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || v === "") throw new PinError(`${where} is not a non-empty string`);
  return v;
}

/** Reads the members of a parsed trust file; throws {@link PinError} naming the first bad member. */
export function fabricPinsFromJson(raw: unknown): FabricEndorsementVerifierOptions {
  if (!isObject(raw)) throw new PinError("is not a JSON object");
  if (raw.format !== FABRIC_TRUST_FORMAT) throw new PinError(`has no "format": "${FABRIC_TRUST_FORMAT}"`);
  const known = new Set(["format", "msps", "policy", "channel", "chaincode"]);
  const unknown = Object.keys(raw).find((k) => !known.has(k));
  if (unknown !== undefined) throw new PinError(`has an unknown member "${unknown}"`);
  if (!isObject(raw.msps) || Object.keys(raw.msps).length === 0) throw new PinError("msps is not an object of MSP ids");
  const msps: Record<string, string[]> = {};
  for (const [id, pems] of Object.entries(raw.msps)) {
    if (!Array.isArray(pems) || pems.length === 0 || !pems.every((p) => typeof p === "string"))
      throw new PinError(`msps.${id} is not a non-empty array of PEM certificates`);
    msps[id] = pems as string[];
  }
  const channel = optionalName(raw.channel, "channel");
  const chaincode = optionalName(raw.chaincode, "chaincode");
  return {
    msps,
    policy: policyOf(raw.policy, "policy"),
    ...(channel !== undefined && { channel }),
    ...(chaincode !== undefined && { chaincode }),
  };
}

/** A read trust file. */
export interface FabricPins {
  /** The path as given. */
  path: string;
  verifier: EvidenceVerifier;
  /** One line for the report header: the file, the pinned MSPs, channel and chaincode. */
  summary: string;
}

/**
 * Reads a Fabric trust file (relative to `cwd`) and builds the `"fabric-endorsement"` verifier from it.
 * Throws {@link CliError} `BAD_FLAG_VALUE` naming the path when the file cannot be read, is not a trust
 * file, holds a certificate that is not a PEM X.509 certificate with a P-256 key, or has a policy that
 * names an unpinned MSP or an `outOf` outside 1..rules.
 */
export async function readFabricPins(path: string, cwd: string): Promise<FabricPins> {
  const bad = (what: string, cause?: unknown) =>
    new CliError("BAD_FLAG_VALUE", `${FABRIC_PINS_FLAG}: Fabric trust file ${path} ${what}`, { hint: HINT, facts: { path }, cause });
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(resolve(cwd, path), "utf8"));
  } catch (cause) {
    throw bad("cannot be read as JSON", cause);
  }
  try {
    const pins = fabricPinsFromJson(raw);
    const names = [
      pins.channel === undefined ? "" : `channel ${pins.channel}`,
      pins.chaincode === undefined ? "" : `chaincode ${pins.chaincode}`,
    ];
    const scope = names.filter(Boolean).join(", ") || "channel and chaincode not pinned";
    return {
      path,
      verifier: fabricEndorsementEvidenceVerifier(pins),
      summary: `fabric-endorsement evidence checked against ${path}: CAs of ${Object.keys(pins.msps).sort().join(", ")} (${scope})`,
    };
  } catch (cause) {
    if (cause instanceof PinError) throw bad(cause.message, cause);
    if (cause instanceof ShanduError) throw bad(`is not usable: ${cause.message}`, cause);
    throw cause;
  }
}

const UNCHECKED_FABRIC = `no verifier for evidence kind "${FABRIC_ENDORSEMENT_EVIDENCE_KIND}"`;

/** Adds to an unchecked `"fabric-endorsement"` step how to have it checked. */
export function withFabricPinHint(r: FileReport): FileReport {
  if (!r.steps.some((s) => s.status === "not-checked" && s.detail === UNCHECKED_FABRIC)) return r;
  return {
    ...r,
    steps: r.steps.map((s) =>
      s.status === "not-checked" && s.detail === UNCHECKED_FABRIC
        ? {
            ...s,
            detail: `${s.detail}: pin the MSPs' CA certificates and the endorsement policy with ${FABRIC_PINS_FLAG} <file> to check it`,
          }
        : s,
    ),
  };
}
