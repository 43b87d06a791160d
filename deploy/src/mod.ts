/**
 * `@shandu/deploy` — the Solidity contracts' build (`npm run contracts`, see `compile.ts`), a typed reader
 * for the committed artifact, and the encoders that turn `@shandu/proofs` values into the contracts' inputs.
 */
export {
  type AbiItem,
  type AbiParameter,
  ARTIFACT_PATH,
  type ArtifactFile,
  type ContractArtifact,
  type Hex,
  loadArtifact,
  readArtifactFile,
} from "./artifacts.ts";
export {
  COMPILER_SETTINGS,
  CONTRACTS_DIR,
  type CompileOptions,
  type CompileResult,
  compileContracts,
  describeDrift,
  formatArtifact,
  type RunOptions,
  readSources,
  runCompile,
  sourcesHash,
} from "./compile.ts";
export { ContractsError, type ContractsErrorCode } from "./errors.ts";
export {
  type CommitteeInput,
  codeFromBytes32,
  committeeInput,
  deliverArgs,
  type EvmAttestation,
  type EvmBatchHeader,
  evmAttestation,
  evmBatchHeader,
  GOVERNANCE_OP,
  g1ToEip2537,
  g2ToEip2537,
  governancePayload,
  REJECTED_SELECTOR,
} from "./evm.ts";
