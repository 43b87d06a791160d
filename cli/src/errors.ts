/**
 * Errors the command line reports itself. Every one of them is a usage error in the broad sense (the
 * command could not start doing its job: bad flags, missing files, no trust anchor, unreadable
 * genesis), so they all exit with {@link EXIT.usage}; bundles that fail verification are not errors
 * but reports.
 */
import { ShanduError } from "@shandu/proofs";

// `@shandu/proofs` does not export its ErrorFacts type, so take it from the constructor.
type ErrorFacts = NonNullable<ConstructorParameters<typeof ShanduError>[2]>["facts"];

/** Process exit codes, the same for every subcommand. */
export const EXIT = {
  /** Everything asked for was done and every check passed. */
  ok: 0,
  /** The command ran, and something it checked failed (e.g. a bundle did not verify). */
  failed: 1,
  /** The command could not run as asked: bad flags, missing files, no trust anchor, unreadable genesis. */
  usage: 2,
  /** A bug: an exception the command did not expect. */
  internal: 3,
  /** Stopped by Ctrl-C (128 + SIGINT), after printing what was done so far. */
  interrupted: 130,
} as const;

export type CliErrorCode =
  | "UNKNOWN_COMMAND"
  | "UNKNOWN_FLAG"
  | "BAD_FLAG_VALUE"
  | "MISSING_ARGUMENT"
  | "FILE_NOT_FOUND"
  | "NO_BUNDLES"
  | "NO_TRUST_ANCHOR"
  | "CONFLICTING_TRUST_ANCHORS"
  | "BAD_GENESIS"
  | "BAD_ROTATIONS"
  | "BACKEND_UNAVAILABLE";

/**
 * A command that cannot run as asked. `hint` tells the person at the terminal what to do next; it is
 * printed on its own line under the message.
 */
export class CliError extends ShanduError<CliErrorCode> {
  override readonly name = "CliError";
  /** What to do next, in one or two sentences. */
  readonly hint: string;

  constructor(code: CliErrorCode, shortMessage: string, options: { hint: string; facts?: ErrorFacts; cause?: unknown }) {
    super(code, shortMessage, { facts: options.facts, cause: options.cause, disposition: "reject" });
    this.hint = options.hint;
  }
}
