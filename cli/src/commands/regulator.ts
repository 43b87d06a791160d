/**
 * `shandu regulator`: the supervisor's side of the regulator envelope (docs/protocol.md §8.5).
 *
 *  - `keygen` makes the supervisor's X25519 key pair;
 *  - `seal` seals a file of personal data to the supervisor's public key and prints the envelope and
 *    the commitment the application puts into its signed payload;
 *  - `open` opens the envelope a proof bundle commits to: the bundle is verified against a trusted
 *    genesis with the same {@link BundleVerifier} as `shandu verify` (so the commitment is known to sit
 *    at `payloadOffset` of an attested payload), the envelope file must match the commitment, and only
 *    then is it decrypted.
 *
 * Secret keys are never printed.
 */
import { access, chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import {
  type Bls,
  BlsError,
  BundleVerifier,
  checkEnvelope,
  describeContext,
  type Envelope,
  envelopeCommitment,
  envelopeFromJson,
  envelopeToJson,
  generateSupervisorKeyPair,
  loadBls,
  openEnvelope,
  type ProofBundle,
  readBundleBytes,
  ShanduError,
  sealEnvelope,
  supervisorKeyFromJson,
  supervisorKeyToJson,
  supervisorPublicKeyFromJson,
  supervisorPublicKeyToJson,
  toHex,
} from "@shandu/proofs";
import type { Command, CommandContext } from "../command.ts";
import { CliError, EXIT } from "../errors.ts";
import { parseFlags } from "../flags.ts";
import { GENESIS_FILE_NAME } from "../verify/collectBundles.ts";
import { readTrustAnchor } from "../verify/trustAnchor.ts";

const USAGE = `Usage: shandu regulator <keygen|seal|open> [arguments] [flags]

The supervisor's side of the regulator envelope: personal data sealed to the supervisor's X25519 key
with HPKE (RFC 9180; DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM), of which only a 32-byte
commitment goes into the signed message payload (docs/protocol.md §8.5).

  shandu regulator keygen --out <dir> [--force]
      Writes <dir>/supervisor.key (mode 0600: keep it offline, never share it) and
      <dir>/supervisor.pub (give it to the institutions that seal records). Prints the public key.

  shandu regulator seal --pub <supervisor.pub> --context <text> <plaintext-file> [--envelopes <dir>]
      Seals the file's bytes. --context says what the envelope is about, e.g.
      "shandu-envelope-v1|1001|trip-2024-000042" (source chain id, record id); it is bound into the
      encryption. Prints { "commitment", "envelope" } as JSON; with --envelopes also writes the
      envelope to <dir>/<commitment hex>.json, where \`open\` looks for it.

  shandu regulator open <bundle.json|bundle.bin> --key <supervisor.key> --envelopes <dir>
                        [--genesis <committee.json>] [--backend auto|blst|noble] [--out <file>]
      Verifies the bundle against the trusted genesis (--genesis, else genesis.json beside the bundle)
      as \`shandu verify\` does, requires its regulator envelope to be bound into the attested payload,
      reads <dir>/<commitment hex>.json, checks it against the commitment, decrypts it and prints the
      plaintext (as text when it is UTF-8, else as hex; --out writes the raw bytes, mode 0600).

Exit codes: 0 done · 1 a check failed (the code and what to do next are printed) · 2 usage error
`;

const OPTIONS = {
  out: { type: "string" },
  force: { type: "boolean" },
  pub: { type: "string" },
  context: { type: "string" },
  envelopes: { type: "string" },
  key: { type: "string" },
  genesis: { type: "string" },
  backend: { type: "string" },
} as const;

export const SECRET_KEY_FILE = "supervisor.key";
export const PUBLIC_KEY_FILE = "supervisor.pub";

/** A check that failed: reported with its code and a hint, exit 1. */
class OpenFailure extends Error {
  readonly code: string;
  readonly hint: string;
  constructor(code: string, message: string, hint: string) {
    super(message);
    this.code = code;
    this.hint = hint;
  }
}

function required(values: Record<string, string | boolean | undefined>, flag: string, sub: string, example: string): string {
  const v = values[flag];
  if (typeof v !== "string" || v === "") {
    throw new CliError("MISSING_ARGUMENT", `\`shandu regulator ${sub}\` needs --${flag}`, { hint: `e.g. ${example}` });
  }
  return v;
}

function onePositional(positionals: readonly string[], sub: string, what: string, example: string): string {
  const first = positionals[0];
  if (first === undefined || positionals.length > 1) {
    throw new CliError("MISSING_ARGUMENT", `\`shandu regulator ${sub}\` takes exactly one ${what}`, { hint: `e.g. ${example}` });
  }
  return first;
}

async function readText(path: string, ctx: CommandContext, what: string, hint: string): Promise<string> {
  try {
    return await readFile(resolve(ctx.cwd, path), "utf8");
  } catch (cause) {
    throw new CliError("FILE_NOT_FOUND", `cannot read ${what} ${path}: ${(cause as Error).message}`, { hint, facts: { path }, cause });
  }
}

function parseJson(text: string, path: string, code: string, hint: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new OpenFailure(code, `${path} is not JSON`, hint);
  }
}

async function keygen(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(argv, OPTIONS, "regulator");
  if (positionals.length > 0)
    throw new CliError("BAD_FLAG_VALUE", `unexpected argument ${positionals[0]}`, { hint: "Run `shandu help regulator`." });
  const dir = resolve(ctx.cwd, required(values, "out", "keygen", "shandu regulator keygen --out ./supervisor"));
  const keyPath = join(dir, SECRET_KEY_FILE);
  if (values.force !== true) {
    const exists = await access(keyPath).then(
      () => true,
      () => false,
    );
    if (exists) {
      throw new CliError("BAD_FLAG_VALUE", `${keyPath} already exists`, {
        hint: "Replacing the supervisor key makes every envelope sealed to the old one unreadable with the new one. Pass --force if that is what you want.",
        facts: { path: keyPath },
      });
    }
  }
  const pair = generateSupervisorKeyPair();
  await mkdir(dir, { recursive: true });
  // Created 0600 and chmod-ed again in case the file existed with wider permissions (--force).
  await writeFile(keyPath, `${JSON.stringify(supervisorKeyToJson(pair.secretKey), null, 2)}\n`, { mode: 0o600 });
  await chmod(keyPath, 0o600);
  pair.secretKey.fill(0);
  const pubPath = join(dir, PUBLIC_KEY_FILE);
  await writeFile(pubPath, `${JSON.stringify(supervisorPublicKeyToJson(pair.publicKey), null, 2)}\n`);
  ctx.stdout.write(`${JSON.stringify({ publicKey: toHex(pair.publicKey), secretKeyFile: keyPath, publicKeyFile: pubPath })}\n`);
  ctx.stderr.write(`wrote ${keyPath} (mode 0600: keep it offline) and ${pubPath} (share it with the institutions that seal records)\n`);
  return EXIT.ok;
}

async function seal(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(argv, OPTIONS, "regulator");
  const example = 'shandu regulator seal --pub supervisor.pub --context "shandu-envelope-v1|1001|trip-42" record.json';
  const pubPath = required(values, "pub", "seal", example);
  const context = required(values, "context", "seal", example);
  const file = onePositional(positionals, "seal", "plaintext file", example);
  const pubText = await readText(
    pubPath,
    ctx,
    "public key file",
    "Pass --pub with the supervisor.pub written by `shandu regulator keygen`.",
  );
  let plaintext: Uint8Array;
  try {
    const b = await readFile(resolve(ctx.cwd, file));
    plaintext = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (cause) {
    throw new CliError("FILE_NOT_FOUND", `cannot read ${file}: ${(cause as Error).message}`, {
      hint: "Pass the file holding the personal data to seal.",
      cause,
    });
  }
  const publicKey = supervisorPublicKeyFromJson(
    parseJson(pubText, pubPath, "ENVELOPE_MALFORMED", "Pass the supervisor.pub written by `shandu regulator keygen`."),
  );
  const envelope = await sealEnvelope({ supervisorPublicKey: publicKey, plaintext, context: new TextEncoder().encode(context) });
  const commitment = toHex(envelopeCommitment(envelope));
  if (typeof values.envelopes === "string") {
    const dir = resolve(ctx.cwd, values.envelopes);
    await mkdir(dir, { recursive: true });
    const path = join(dir, envelopeFileName(commitment));
    await writeFile(path, `${JSON.stringify(envelopeToJson(envelope), null, 2)}\n`);
    ctx.stderr.write(`wrote ${path}\n`);
  }
  ctx.stdout.write(`${JSON.stringify({ commitment, envelope: envelopeToJson(envelope) }, null, 2)}\n`);
  return EXIT.ok;
}

/** `<64 hex digits>.json`: the file name under which an envelope is stored, by its commitment. */
export function envelopeFileName(commitmentHex: string): string {
  return `${commitmentHex.replace(/^0x/, "")}.json`;
}

async function blsFor(choice: string): Promise<Bls> {
  if (choice !== "auto" && choice !== "blst" && choice !== "noble") {
    throw new CliError("BAD_FLAG_VALUE", `--backend ${choice} is not a BLS backend`, { hint: "Use --backend auto, blst or noble." });
  }
  try {
    return await loadBls(choice);
  } catch (cause) {
    if (!(cause instanceof BlsError)) throw cause;
    throw new CliError("BACKEND_UNAVAILABLE", `the ${choice} BLS backend cannot be loaded here`, { hint: "Use --backend noble.", cause });
  }
}

async function open(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(argv, OPTIONS, "regulator");
  const example = "shandu regulator open bundle.json --key supervisor.key --envelopes envelopes/ --genesis genesis.json";
  const keyPath = required(values, "key", "open", example);
  const envelopesDir = required(values, "envelopes", "open", example);
  const bundlePath = onePositional(positionals, "open", "proof bundle", example);
  const genesisPath = typeof values.genesis === "string" ? values.genesis : join(dirname(bundlePath), GENESIS_FILE_NAME);
  const bls = await blsFor(typeof values.backend === "string" ? values.backend : "auto");
  const anchor = await readTrustAnchor(genesisPath, ctx.cwd, typeof values.genesis === "string" ? "flag" : "beside-bundles", bls).catch(
    (e: unknown) => {
      if (e instanceof CliError && e.code === "FILE_NOT_FOUND" && typeof values.genesis !== "string") {
        throw new CliError("NO_TRUST_ANCHOR", "no trust anchor: the bundle cannot be verified", {
          hint: "Pass --genesis <committee.json> with the genesis committee you obtained out of band (or put it beside the bundle as genesis.json).",
          cause: e,
        });
      }
      throw e;
    },
  );
  const keyText = await readText(keyPath, ctx, "key file", "Pass --key with the supervisor.key written by `shandu regulator keygen`.");

  const keys = supervisorKeyFromJson(
    parseJson(keyText, keyPath, "ENVELOPE_MALFORMED", "Pass the supervisor.key written by `shandu regulator keygen`."),
  );

  let bundle: ProofBundle;
  try {
    const b = await readFile(resolve(ctx.cwd, bundlePath));
    bundle = readBundleBytes(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  } catch (e) {
    if (e instanceof ShanduError)
      throw new OpenFailure(
        e.code,
        `${bundlePath} is not a proof bundle: ${e.message}`,
        "Check that you were given a complete proof bundle (JSON or binary).",
      );
    throw new CliError("FILE_NOT_FOUND", `cannot read ${bundlePath}: ${(e as Error).message}`, {
      hint: "Pass the path of a proof bundle.",
      cause: e,
    });
  }
  const ref = bundle.regulatorEnvelope;
  if (!ref) {
    throw new OpenFailure(
      "NO_ENVELOPE",
      `${bundlePath} carries no regulator envelope`,
      "This message has no personal data sealed to the supervisor; nothing to open.",
    );
  }
  const commitment = toHex(ref.commitment);

  // The §8.5 binding, checked by the bundle verifier itself: "passed" only after the committee chain,
  // message id, inclusion and attestation all passed, so the commitment is in an attested payload.
  const report = new BundleVerifier({ trustedGenesis: anchor.committee, bls }).verify(bundle);
  const step = report.steps.find((s) => s.step === "regulator-envelope");
  if (step?.status !== "passed") {
    const failed = report.steps.find((s) => s.status === "failed");
    throw new OpenFailure(
      failed?.code ?? "ENVELOPE_NOT_BOUND",
      `the bundle does not prove the envelope commitment: ${failed ? `step ${failed.step} failed: ${failed.detail}` : (step?.detail ?? "not checked")}`,
      `Run \`shandu verify ${bundlePath} --genesis <committee.json>\` for the full report; open only envelopes whose commitment an attested message carries.`,
    );
  }

  const envelopePath = join(resolve(ctx.cwd, envelopesDir), envelopeFileName(commitment));
  let envelopeText: string;
  try {
    envelopeText = await readFile(envelopePath, "utf8");
  } catch {
    throw new OpenFailure(
      "ENVELOPE_NOT_FOUND",
      `no envelope file ${envelopePath} for commitment ${commitment}`,
      "Ask the institution that sealed the record (the message's sender) for the envelope with this commitment, and save it under that name.",
    );
  }
  const envelope: Envelope = envelopeFromJson(
    parseJson(envelopeText, envelopePath, "ENVELOPE_MALFORMED", "The envelope file must be the JSON written by `shandu regulator seal`."),
  );
  checkEnvelope(envelope, ref.commitment);
  const plaintext = await openEnvelope(envelope, keys.secretKey);
  keys.secretKey.fill(0);

  ctx.stderr.write(
    `message ${report.messageId}: envelope ${commitment} is bound at byte ${ref.payloadOffset} of the attested payload\n` +
      `context: ${describeContext(envelope.context)}\n`,
  );
  if (typeof values.out === "string") {
    const outPath = resolve(ctx.cwd, values.out);
    await writeFile(outPath, plaintext, { mode: 0o600 });
    ctx.stderr.write(`wrote ${plaintext.length} bytes to ${outPath}\n`);
    return EXIT.ok;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(plaintext);
  } catch {
    text = toHex(plaintext);
    ctx.stderr.write("the plaintext is not UTF-8 text; printed as hex (use --out <file> for the bytes)\n");
  }
  ctx.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  return EXIT.ok;
}

const HINTS: Readonly<Record<string, string>> = {
  ENVELOPE_MALFORMED:
    "The envelope or key file is not in the documented format (docs/protocol.md §8.5); ask its sender for an intact copy.",
  ENVELOPE_COMMITMENT_MISMATCH:
    "The envelope file is not the one the attested message commits to: it was changed or stored under the wrong name. Ask the sealing institution for the original.",
  ENVELOPE_DECRYPT_FAILED:
    "The envelope matches the commitment but does not open with this key: it was sealed to another supervisor key. Check --key, or ask which public key the institution sealed to.",
  ENVELOPE_BAD_KEY:
    "A supervisor key is unusable: a key file whose public key does not belong to its secret key (restore it from your backup), or a public key that is not a valid X25519 key (ask the supervisor for supervisor.pub again).",
};

function fail(ctx: CommandContext, code: string, message: string, hint: string): number {
  ctx.stderr.write(`shandu regulator: ${code}: ${message}\n  ${hint}\n`);
  return EXIT.failed;
}

async function run(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const [sub, ...rest] = argv;
  const subcommand = sub === "keygen" ? keygen : sub === "seal" ? seal : sub === "open" ? open : undefined;
  if (subcommand) {
    try {
      return await subcommand(rest, ctx);
    } catch (e) {
      if (e instanceof OpenFailure) return fail(ctx, e.code, e.message, e.hint);
      if (e instanceof ShanduError && !(e instanceof CliError))
        return fail(ctx, e.code, e.message, HINTS[e.code] ?? "Check the inputs named above.");
      throw e;
    }
  }
  throw new CliError("MISSING_ARGUMENT", sub === undefined ? "`shandu regulator` needs a subcommand" : `unknown subcommand "${sub}"`, {
    hint: "Use `shandu regulator keygen`, `seal` or `open`; `shandu help regulator` shows their flags.",
  });
}

/** The `regulator` subcommand. */
export const command: Command = { name: "regulator", usage: USAGE, run };
