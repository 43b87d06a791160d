/**
 * What every subcommand module provides and what it is given. Commands write only through the
 * context, never to `process.*` directly, so the dispatcher owns the process and tests can run a
 * command in memory.
 */

/** A text stream: the process's stdout or stderr, or a buffer in tests. */
export interface Output {
  write(text: string): void;
  /** True when this is a terminal (progress bars and cursor movement only go to terminals). */
  readonly isTTY: boolean;
  /** Terminal width in characters, when known. */
  readonly columns?: number | undefined;
}

export interface CommandContext {
  /** Results: human text or, with `--json`, machine-readable output and nothing else. */
  stdout: Output;
  /** Diagnostics and progress. */
  stderr: Output;
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** Aborted on Ctrl-C: long work stops at the next item and reports what it did so far. */
  signal: AbortSignal;
}

/** One subcommand, exported as `command` from its module in `src/commands/`. */
export interface Command {
  readonly name: string;
  /** The full help text printed by `shandu help <name>` and `shandu <name> --help`. */
  readonly usage: string;
  /**
   * Runs the command with the arguments after its name and resolves to the process exit code
   * ({@link EXIT}). Throws {@link CliError} for usage errors; the dispatcher prints them.
   */
  run(argv: readonly string[], ctx: CommandContext): Promise<number>;
}
