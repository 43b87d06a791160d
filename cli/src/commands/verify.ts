/**
 * `shandu verify`: checks proof bundles offline, with nothing but the bundles and a genesis committee
 * the user trusts. One {@link BundleVerifier} serves the whole run, so bundles of the same batch share
 * one committee-chain walk and one pairing check. The evidence verifiers of `@shandu/proofs` are
 * registered (EVM and FISCO BCOS receipts at the source, EVM and FISCO BCOS deliveries at the destination), without
 * pinned contract addresses or sealer lists: a passing step names them for the reader to compare. Fabric
 * endorsements are worth nothing without the MSPs' CAs, so `"fabric-endorsement"` evidence is checked only
 * when `--fabric-msps` pins them (cli/src/verify/fabricPins.ts); otherwise it is "not checked".
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type Bls,
  BlsError,
  BundleVerifier,
  type EvidenceVerifier,
  evmDeliveryEvidenceVerifier,
  evmReceiptEvidenceVerifier,
  fiscoDeliveryEvidenceVerifier,
  fiscoReceiptEvidenceVerifier,
  loadBls,
  type RotationRecord,
  rotationFromJson,
  ShanduError,
  verifyCommitteeChain,
} from "@shandu/proofs";
import type { Command, CommandContext } from "../command.ts";
import { CliError, EXIT } from "../errors.ts";
import { parseFlags } from "../flags.ts";
import { ProgressBar } from "../progress.ts";
import { collectBundles, GENESIS_FILE_NAME } from "../verify/collectBundles.ts";
import { FABRIC_TRUST_FORMAT, readFabricPins, withFabricPinHint } from "../verify/fabricPins.ts";
import { type FileBytes, type FileReport, requireEvidence, verifyFile } from "../verify/fileReport.ts";
import { renderFileReport, renderSummary, renderTrustAnchor } from "../verify/render.ts";
import { COMMITTEE_FILE_FORMAT, readTrustAnchor, type TrustAnchor } from "../verify/trustAnchor.ts";

/** Above this many bundles only failures are printed in full (unless `--verbose`), with a progress bar on a terminal. */
export const COMPACT_THRESHOLD = 20;

const USAGE = `Usage: shandu verify <bundle.json|bundle.bin|dir>... [flags]

Checks Shandu proof bundles offline against a genesis committee you trust: the committee chain from
that genesis, the message id, the batch inclusion proof, the BLS attestation, and the evidence and
regulator envelope where present. Evidence checked: evm-receipt and fisco-receipt (source) and
evm-delivery and fisco-delivery (destination); fabric-endorsement (source) only with --fabric-msps;
other kinds are reported "not checked". Contract addresses and FISCO sealer lists are not pinned here:
a passing step names them for you to compare with the deployment. Directories contribute their *.json
and *.bin files (not recursively; genesis.json is never taken as a bundle).

Flags:
  --genesis <committee.json>  the trust anchor: the genesis committee, as written by committeeToJson,
                              bare or wrapped as { "format": "${COMMITTEE_FILE_FORMAT}", "version": 1, "committee": … }.
                              Without it, a ${GENESIS_FILE_NAME} beside the bundles (in a directory given, or named
                              among the files, as in dir/*.json) is used, and the output says so: it is only as
                              trustworthy as whoever gave you the directory.
  --json                      machine-readable report on stdout (nothing else is written there)
  --now <unix seconds>        apply the rotation grace periods as of this time; without it, historic audit
                              mode: every epoch of the verified committee chain is accepted
  --rotations <rotations.json>
                              rotation records you already know from the alliance (a JSON array as written by
                              rotationToJson, from the genesis on). With --now, a bundle cannot then hide that
                              its committee was rotated out; a bundle whose rotations differ fails ROTATION_CONFLICT
  --fabric-msps <trust.json>  check fabric-endorsement evidence against these pins, from the channel configuration:
                              { "format": "${FABRIC_TRUST_FORMAT}", "msps": { "<mspId>": ["<PEM CA cert>", …] },
                                "policy": { "signedBy": "<mspId>" } | { "outOf": k, "rules": [ … ] },
                                "channel"?: "<name>", "chaincode"?: "<name>" }
                              Without it, fabric-endorsement evidence is reported "not checked"
  --backend auto|blst|noble   BLS implementation (default auto: native blst, else pure-JS noble)
  --strict                    also require source and destination evidence to be checked and passed
  --verbose                   print every bundle in full even when there are more than ${COMPACT_THRESHOLD}
  -h, --help                  show this text

Exit codes: 0 every bundle verified · 1 some bundle failed verification · 2 usage error (bad flags,
missing files, no trust anchor, unreadable genesis, rotations or Fabric pins) · 130 interrupted (what
was checked is reported)

Examples:
  shandu verify --genesis genesis.json bundles/
  shandu verify proofs/test/examples/valid
  shandu verify --json --now 1767225600 --genesis genesis.json a.json b.bin
`;

const OPTIONS = {
  genesis: { type: "string" },
  rotations: { type: "string" },
  "fabric-msps": { type: "string" },
  json: { type: "boolean" },
  now: { type: "string" },
  backend: { type: "string" },
  strict: { type: "boolean" },
  verbose: { type: "boolean" },
} as const;

const BACKENDS = ["auto", "blst", "noble"] as const;
type BackendChoice = (typeof BACKENDS)[number];

interface VerifyFlags {
  paths: string[];
  genesis: string | undefined;
  rotations: string | undefined;
  fabricMsps: string | undefined;
  json: boolean;
  nowSeconds: bigint | undefined;
  backend: BackendChoice;
  strict: boolean;
  verbose: boolean;
}

function readFlags(argv: readonly string[]): VerifyFlags {
  const { values, positionals } = parseFlags(argv, OPTIONS, "verify");
  if (positionals.length === 0) {
    throw new CliError("MISSING_ARGUMENT", "no bundles given", {
      hint: "Pass proof bundle files or directories, e.g. `shandu verify --genesis genesis.json bundles/`.",
    });
  }
  const backend = (values.backend ?? "auto") as string;
  if (!(BACKENDS as readonly string[]).includes(backend)) {
    throw new CliError("BAD_FLAG_VALUE", `--backend ${backend} is not a BLS backend`, {
      hint: "Use --backend auto, --backend blst or --backend noble.",
      facts: { backend },
    });
  }
  let nowSeconds: bigint | undefined;
  if (values.now !== undefined) {
    const now = values.now as string;
    if (!/^(0|[1-9][0-9]{0,19})$/.test(now) || BigInt(now) >= 1n << 64n) {
      throw new CliError("BAD_FLAG_VALUE", `--now ${now} is not a time in unix seconds`, {
        hint: "Give a whole number of seconds since 1970-01-01 UTC, e.g. --now $(date +%s).",
        facts: { now },
      });
    }
    nowSeconds = BigInt(now);
  }
  return {
    paths: positionals,
    genesis: values.genesis as string | undefined,
    rotations: values.rotations as string | undefined,
    fabricMsps: values["fabric-msps"] as string | undefined,
    json: values.json === true,
    nowSeconds,
    backend: backend as BackendChoice,
    strict: values.strict === true,
    verbose: values.verbose === true,
  };
}

async function blsFor(choice: BackendChoice): Promise<Bls> {
  try {
    return await loadBls(choice);
  } catch (cause) {
    if (!(cause instanceof BlsError)) throw cause;
    throw new CliError("BACKEND_UNAVAILABLE", `the ${choice} BLS backend cannot be loaded here: ${cause.message}`, {
      hint: "Use --backend noble (pure JavaScript, runs everywhere) or --backend auto.",
      cause,
    });
  }
}

/** Finds the trust anchor: `--genesis`, else one `genesis.json` beside the bundles; throws otherwise. */
async function trustAnchorFor(flags: VerifyFlags, genesisBeside: readonly string[], ctx: CommandContext, bls: Bls): Promise<TrustAnchor> {
  if (flags.genesis !== undefined) return readTrustAnchor(flags.genesis, ctx.cwd, "flag", bls);
  const candidates = [...new Set(genesisBeside)];
  const first = candidates[0];
  if (first === undefined) {
    throw new CliError("NO_TRUST_ANCHOR", "no trust anchor: nothing to verify the bundles against", {
      hint:
        "A bundle can only be verified against a genesis committee you trust, obtained out of band (not from the bundle). " +
        "Pass --genesis <committee.json>, or put it beside the bundles as genesis.json and pass the directory.",
    });
  }
  const anchors: TrustAnchor[] = [];
  for (const path of candidates) anchors.push(await readTrustAnchor(path, ctx.cwd, "beside-bundles", bls));
  const other = anchors.find((a) => a.committeeSetHash !== anchors[0]!.committeeSetHash);
  if (other) {
    throw new CliError("CONFLICTING_TRUST_ANCHORS", `${first} and ${other.path} are different genesis committees`, {
      hint: "Pass --genesis with the one you trust, or verify the directories separately.",
      facts: { first, other: other.path },
    });
  }
  return anchors[0]!;
}

/** Reads `--rotations` and checks them from the trusted genesis; any problem is a usage error naming the file. */
async function knownRotationsFor(path: string, ctx: CommandContext, anchor: TrustAnchor, bls: Bls): Promise<RotationRecord[]> {
  const bad = (what: string, cause?: unknown) =>
    new CliError("BAD_ROTATIONS", `rotations file ${path} ${what}`, {
      hint: "Pass a JSON array of rotation records (as written by rotationToJson), starting from the trusted genesis epoch.",
      facts: { path },
      cause,
    });
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(resolve(ctx.cwd, path), "utf8"));
  } catch (cause) {
    throw bad("cannot be read as JSON", cause);
  }
  if (!Array.isArray(raw)) throw bad("is not a JSON array");
  let rotations: RotationRecord[];
  try {
    rotations = raw.map((r, i) => rotationFromJson(r, `[${i}]`));
    verifyCommitteeChain(anchor.committee, rotations, bls);
  } catch (cause) {
    if (!(cause instanceof ShanduError)) throw cause;
    throw bad(`does not verify from the trusted genesis: ${cause.message}`, cause);
  }
  return rotations;
}

/** Chain evidence kinds the CLI checks; anything else is reported "not checked" (and fails `--strict`). */
export function defaultEvidenceVerifiers(): EvidenceVerifier[] {
  return [evmReceiptEvidenceVerifier(), evmDeliveryEvidenceVerifier(), fiscoReceiptEvidenceVerifier(), fiscoDeliveryEvidenceVerifier()];
}

/** Reads a file, giving the error instead of throwing so an unreadable file becomes a failed report. */
function readBytes(path: string): Promise<FileBytes> {
  return readFile(path).then(
    (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
    (e: unknown) => ({ readError: e instanceof Error ? e.message : String(e) }),
  );
}

async function run(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const flags = readFlags(argv);
  const { files, genesisBeside } = await collectBundles(flags.paths, ctx.cwd);
  const bls = await blsFor(flags.backend);
  const anchor = await trustAnchorFor(flags, genesisBeside, ctx, bls);
  const knownRotations = flags.rotations === undefined ? undefined : await knownRotationsFor(flags.rotations, ctx, anchor, bls);
  const fabric = flags.fabricMsps === undefined ? undefined : await readFabricPins(flags.fabricMsps, ctx.cwd);
  const verifier = new BundleVerifier({
    trustedGenesis: anchor.committee,
    bls,
    nowSeconds: flags.nowSeconds,
    knownRotations,
    evidenceVerifiers: [...defaultEvidenceVerifiers(), ...(fabric ? [fabric.verifier] : [])],
  });

  const compact = files.length > COMPACT_THRESHOLD && !flags.verbose;
  const progress = files.length > COMPACT_THRESHOLD && ctx.stderr.isTTY ? new ProgressBar(ctx.stderr, files.length, "verifying") : null;
  const out = (text: string): void => {
    progress?.clear();
    ctx.stdout.write(text);
  };

  if (flags.json) {
    out(
      `{\n"trustAnchor": ${JSON.stringify({
        path: anchor.path,
        source: anchor.source,
        committeeSetHash: anchor.committeeSetHash,
        epoch: anchor.committee.epoch.toString(),
        members: anchor.committee.members.map((m) => m.id),
      })},\n"mode": ${JSON.stringify({
        backend: bls.name,
        nowSeconds: flags.nowSeconds === undefined ? null : flags.nowSeconds.toString(),
        strict: flags.strict,
        fabricMsps: fabric ? fabric.path : null,
      })},\n"bundles": [`,
    );
  } else {
    out(renderTrustAnchor(anchor, { backend: bls.name, nowSeconds: flags.nowSeconds, strict: flags.strict }));
    if (fabric) out(`  ${fabric.summary}\n`);
    if (compact) out(`\nchecking ${files.length} bundles; only failures are shown in full (--verbose shows every bundle)\n`);
  }

  let verified = 0;
  const failedFiles: string[] = [];
  // Read the next file while the current one is verified.
  let next = files[0] === undefined ? null : readBytes(resolve(ctx.cwd, files[0]));
  for (let i = 0; i < files.length && next && !ctx.signal.aborted; i++) {
    const file = files[i]!;
    const bytes = await next;
    const following = files[i + 1];
    next = following === undefined ? null : readBytes(resolve(ctx.cwd, following));
    const checked = withFabricPinHint(verifyFile(verifier, file, bytes, false));
    const report: FileReport = flags.strict ? requireEvidence(checked) : checked;
    if (report.ok) verified++;
    else failedFiles.push(file);
    if (flags.json) out(`${i === 0 ? "\n" : ",\n"}${JSON.stringify(report)}`);
    else if (!compact || !report.ok) out(`\n${renderFileReport(report)}`);
    progress?.tick();
  }
  progress?.clear();

  const checked = verified + failedFiles.length;
  const interrupted = checked < files.length;
  if (flags.json) {
    out(`\n],\n"verified": ${verified},\n"failed": ${failedFiles.length},\n"interrupted": ${interrupted}\n}\n`);
  } else {
    out(`\n${renderSummary(verified, failedFiles, interrupted ? { total: files.length } : null)}`);
  }
  if (interrupted) return EXIT.interrupted;
  return failedFiles.length === 0 ? EXIT.ok : EXIT.failed;
}

/** The `verify` subcommand. */
export const command: Command = { name: "verify", usage: USAGE, run };
