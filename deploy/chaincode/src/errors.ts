/**
 * The chaincode's one error type. Every refusal is a {@link ChaincodeError} with a stable `code` — the
 * protocol code (docs/protocol.md §11) where the EVM inbox refuses the same input, or one of the codes
 * listed in docs/fabric.md — and `facts` for people and logs. Fabric hands a client only the error's
 * message, so the message starts with the code: `"<CODE>: <text>"` ({@link codeOfMessage} reads it back).
 */
import { ShanduError } from "@shandu/proofs";

export type ErrorFacts = Readonly<Record<string, string | number | bigint | boolean | null | undefined>>;

export class ChaincodeError extends Error {
  override readonly name = "ChaincodeError";
  readonly code: string;
  readonly facts: ErrorFacts;
  readonly shortMessage: string;

  constructor(code: string, shortMessage: string, options: { facts?: ErrorFacts; cause?: unknown } = {}) {
    const facts = options.facts ?? {};
    const detail = Object.entries(facts)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(", ");
    super(`${code}: ${shortMessage}${detail ? ` (${detail})` : ""}`, { cause: options.cause });
    this.code = code;
    this.facts = facts;
    this.shortMessage = shortMessage;
  }
}

/** The code at the start of a chaincode error message as a Fabric client receives it, or undefined. */
export function codeOfMessage(message: string): string | undefined {
  return /^([A-Z][A-Z0-9_]*):/.exec(message)?.[1];
}

/**
 * Runs `f`, turning a protocol-core error into a {@link ChaincodeError} with the same code (and facts).
 * Anything else is rethrown unchanged: it is a bug, not a verdict.
 */
export function protocol<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asChaincodeError(e);
  }
}

export function asChaincodeError(e: unknown): unknown {
  if (e instanceof ChaincodeError) return e;
  if (e instanceof ShanduError) return new ChaincodeError(e.code, e.shortMessage, { facts: e.facts, cause: e });
  return e;
}
