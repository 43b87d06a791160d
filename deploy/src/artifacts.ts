/**
 * The committed build output of the Solidity contracts (`deploy/artifacts/contracts.json`, written by
 * `npm run contracts`) and a typed reader for it.
 */
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ContractsError } from "./errors.ts";

/** Where `npm run contracts` writes the artifact. */
export const ARTIFACT_PATH: string = fileURLToPath(new URL("../artifacts/contracts.json", import.meta.url));

/** One parameter of an ABI entry, as solc emits it. */
export interface AbiParameter {
  readonly name: string;
  readonly type: string;
  readonly internalType?: string;
  readonly indexed?: boolean;
  readonly components?: readonly AbiParameter[];
}

/** One ABI entry (function, event, error, constructor, …), as solc emits it. */
export interface AbiItem {
  readonly type: string;
  readonly name?: string;
  readonly inputs?: readonly AbiParameter[];
  readonly outputs?: readonly AbiParameter[];
  readonly stateMutability?: string;
  readonly anonymous?: boolean;
}

export type Hex = `0x${string}`;

export interface ContractArtifact {
  /** The EVM version it was compiled for: `prague`, or `paris` for the FISCO BCOS contracts. */
  readonly evmVersion: string;
  readonly abi: readonly AbiItem[];
  /** Creation code (constructor arguments are ABI-encoded and appended to it). */
  readonly bytecode: Hex;
  /** Runtime code as deployed. */
  readonly deployedBytecode: Hex;
}

export interface ArtifactFile {
  /** Full solc version string, e.g. `0.8.37+commit.f401782d.Emscripten.clang`. */
  readonly solcVersion: string;
  /** SHA-256 (hex) of the compiled sources: every `.sol` path and its exact text, see `sourcesHash`. */
  readonly sourcesHash: Hex;
  /** Deployable contracts by name, sorted. Libraries, interfaces and abstract contracts are not listed. */
  readonly contracts: Readonly<Record<string, ContractArtifact>>;
}

let cached: { path: string; mtimeMs: number; file: ArtifactFile } | undefined;

/** Reads and parses an artifact file. Throws `ContractsError` `ARTIFACT_MISSING` when absent or unreadable. */
export function readArtifactFile(path: string = ARTIFACT_PATH): ArtifactFile {
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
    if (cached?.path === path && cached.mtimeMs === mtimeMs) return cached.file;
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new ContractsError("ARTIFACT_MISSING", "no compiled contracts: run npm run contracts", { facts: { path }, cause });
  }
  let file: ArtifactFile;
  try {
    file = JSON.parse(text) as ArtifactFile;
  } catch (cause) {
    throw new ContractsError("ARTIFACT_MISSING", "the contracts artifact is not JSON: run npm run contracts", { facts: { path }, cause });
  }
  if (typeof file !== "object" || file === null || typeof file.contracts !== "object" || file.contracts === null) {
    throw new ContractsError("ARTIFACT_MISSING", "the contracts artifact has no contracts: run npm run contracts", { facts: { path } });
  }
  cached = { path, mtimeMs, file };
  return file;
}

/**
 * The ABI and bytecode of the deployable contract `name` (e.g. `"ShanduInbox"`) from the committed artifact.
 * Throws `ContractsError`: `ARTIFACT_MISSING` when the artifact has not been built, `UNKNOWN_CONTRACT` when it
 * has no such contract (a new contract that was not compiled yet, or a library/interface name).
 */
export function loadArtifact(name: string, path: string = ARTIFACT_PATH): ContractArtifact {
  const file = readArtifactFile(path);
  const artifact = Object.hasOwn(file.contracts, name) ? file.contracts[name] : undefined;
  if (!artifact) {
    throw new ContractsError("UNKNOWN_CONTRACT", `no contract "${name}" in the artifact: run npm run contracts`, {
      facts: { name, path, known: Object.keys(file.contracts).join(",") },
    });
  }
  return artifact;
}
