import { ShanduError } from "@shandu/proofs";

export type ContractsErrorCode =
  /** solc reported errors; `facts.errors` counts them and the message lists each with file:line:column. */
  | "COMPILE_FAILED"
  /** A contract needs an external library linked in; the artifact format has no place for link references. */
  | "UNLINKED_LIBRARY"
  /** Two deployable contracts share a name, so the artifact (keyed by name) cannot hold both. */
  | "DUPLICATE_CONTRACT_NAME"
  /** `deploy/artifacts/contracts.json` does not exist or does not parse. */
  | "ARTIFACT_MISSING"
  /** The artifact has no contract of the requested name. */
  | "UNKNOWN_CONTRACT";

/**
 * Failures of the contract build and of reading its artifact. All are `reject`: they need a change to the
 * sources or a rebuild (`npm run contracts`), not a retry.
 */
export class ContractsError extends ShanduError<ContractsErrorCode> {
  override readonly name = "ContractsError";
}
