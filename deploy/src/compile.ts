/**
 * Builds the Solidity contracts with solc-js (the `solc` package pinned in deploy/package.json) and writes
 * the one committed artifact, `deploy/artifacts/contracts.json`.
 *
 *   node deploy/src/compile.ts           compile every .sol file under deploy/contracts, write the artifact
 *   node deploy/src/compile.ts --check   exit 1 if the committed artifact differs from a fresh compile
 *
 * Settings: optimizer on with 200 runs, legacy code generation (no via-IR), EVM version prague (the BLS
 * precompiles of EIP-2537, MCOPY of EIP-5656 and transient storage are used) — except the folders of
 * `EVM_VERSION_BY_FOLDER`, each compiled in a run of its own for an older EVM: `fisco/` for paris, which
 * FISCO BCOS 3.x executes. Such a run may import the shared sources outside its folder (they are compiled
 * again for its EVM version and must not need a newer one); the prague run may not import from it. The
 * artifact records each contract's EVM version. Source unit names are paths relative to the repository root
 * (`deploy/contracts/…`), so solc's messages and the bytecode metadata do not depend on where the repository
 * is checked out, and the output is byte-for-byte reproducible.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { sha256, toHex } from "@shandu/proofs";
import { type AbiItem, ARTIFACT_PATH, type ArtifactFile, type ContractArtifact, type Hex } from "./artifacts.ts";
import { ContractsError } from "./errors.ts";

/** deploy/contracts of this repository. */
export const CONTRACTS_DIR: string = fileURLToPath(new URL("../contracts/", import.meta.url));

export const COMPILER_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "prague",
  viaIR: false,
} as const;

/** Folders (relative to the contracts directory) compiled for another EVM version than `COMPILER_SETTINGS`. */
export const EVM_VERSION_BY_FOLDER: Readonly<Record<string, string>> = { fisco: "paris" };

export interface CompileOptions {
  /** Directory whose `.sol` files (recursively) are compiled. Default: deploy/contracts. */
  contractsDir?: string;
  /** Source unit names are paths relative to this directory. Default: two levels above `contractsDir`. */
  baseDir?: string;
  /** Folders compiled for another EVM version, relative to `contractsDir`. Default: `EVM_VERSION_BY_FOLDER`. */
  evmVersionByFolder?: Readonly<Record<string, string>>;
}

export interface CompileResult {
  artifact: ArtifactFile;
  /** solc warnings, formatted with file:line:column. Errors throw instead. */
  warnings: string[];
}

/** Every `.sol` file under `dir`, keyed by its path relative to `baseDir` with `/` separators, sorted. */
export function readSources(dir: string, baseDir: string): Map<string, string> {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && entry.name.endsWith(".sol")) found.push(p);
    }
  };
  walk(dir);
  const sources = new Map<string, string>();
  for (const p of found.map((f) => relative(baseDir, f).split(sep).join("/")).sort()) {
    sources.set(p, readFileSync(join(baseDir, p), "utf8"));
  }
  return sources;
}

/**
 * SHA-256 over the sources in name order: for each, the UTF-8 name, a zero byte, the UTF-8 text, a zero
 * byte. Any change to a file, its name, or the set of files changes it.
 */
export function sourcesHash(sources: ReadonlyMap<string, string>): Hex {
  const parts: string[] = [];
  for (const name of [...sources.keys()].sort()) parts.push(name, "\0", sources.get(name) ?? "", "\0");
  return toHex(sha256(new TextEncoder().encode(parts.join("")))) as Hex;
}

interface SolcDiagnostic {
  severity: "error" | "warning" | "info";
  type: string;
  formattedMessage?: string;
  message: string;
  sourceLocation?: { file: string; start: number; end: number };
}

interface SolcAstNode {
  nodeType: string;
  name?: string;
  contractKind?: "contract" | "interface" | "library";
  abstract?: boolean;
  nodes?: SolcAstNode[];
}

interface SolcOutput {
  errors?: SolcDiagnostic[];
  sources?: Record<string, { ast?: SolcAstNode }>;
  contracts?: Record<
    string,
    Record<
      string,
      {
        abi: AbiItem[];
        evm: {
          bytecode: { object: string; linkReferences?: Record<string, unknown> };
          deployedBytecode: { object: string };
        };
      }
    >
  >;
}

interface Solc {
  version(): string;
  compile(input: string, callbacks?: { import?: (path: string) => { contents: string } | { error: string } }): string;
}

let solcInstance: Solc | undefined;

/** solc-js, loaded on first use (it is several megabytes of WebAssembly; importing this module stays cheap). */
function loadSolc(): Solc {
  solcInstance ??= createRequire(import.meta.url)("solc") as Solc;
  return solcInstance;
}

/** A diagnostic as solc formats it (message, then `--> file:line:column` and the source line), trimmed. */
function describe(d: SolcDiagnostic): string {
  return (d.formattedMessage ?? `${d.type}: ${d.message}${d.sourceLocation ? ` (${d.sourceLocation.file})` : ""}`).trimEnd();
}

/** One solc run: the sources it owns (whose contracts it lists) and the EVM version it builds for. */
interface Run {
  evmVersion: string;
  /** Folder prefix of its sources (`deploy/contracts/fisco/`), or null for the default run. */
  prefix: string | null;
  sources: Map<string, string>;
}

/** Splits the sources into the default (prague) run and one run per folder of `byFolder`. */
function planRuns(sources: ReadonlyMap<string, string>, contractsRel: string, byFolder: Readonly<Record<string, string>>): Run[] {
  const base = contractsRel === "" ? "" : `${contractsRel}/`;
  const runs: Run[] = [{ evmVersion: COMPILER_SETTINGS.evmVersion, prefix: null, sources: new Map() }];
  for (const folder of Object.keys(byFolder).sort()) {
    runs.push({ evmVersion: byFolder[folder]!, prefix: `${base}${folder.replace(/\/+$/, "")}/`, sources: new Map() });
  }
  for (const [name, text] of sources) {
    const run = runs.find((r) => r.prefix !== null && name.startsWith(r.prefix)) ?? runs[0]!;
    run.sources.set(name, text);
  }
  return runs.filter((r) => r.prefix === null || r.sources.size > 0);
}

/**
 * Compiles every `.sol` file under `contractsDir` — one solc run for the default EVM version and one per
 * folder of `evmVersionByFolder` — and returns the artifact for the deployable contracts (kind `contract`,
 * not abstract), sorted by name. Throws `ContractsError`: `COMPILE_FAILED` (the message lists every error
 * with file:line:column), `UNLINKED_LIBRARY`, `DUPLICATE_CONTRACT_NAME`.
 */
export function compileContracts(options: CompileOptions = {}): CompileResult {
  const contractsDir = resolve(options.contractsDir ?? CONTRACTS_DIR);
  const baseDir = resolve(options.baseDir ?? join(contractsDir, "..", ".."));
  const sources = readSources(contractsDir, baseDir);
  const contractsRel = relative(baseDir, contractsDir).split(sep).join("/");
  const runs = planRuns(sources, contractsRel, options.evmVersionByFolder ?? EVM_VERSION_BY_FOLDER);
  const solc = loadSolc();
  const warnings: string[] = [];
  const found = new Map<string, { file: string; evmVersion: string; artifact: Omit<ContractArtifact, "evmVersion"> }>();
  for (const run of runs) {
    for (const [name, artifact] of compileRun(solc, run, runs, sources, contractsRel || ".", warnings)) {
      const other = found.get(name);
      if (other !== undefined) {
        throw new ContractsError("DUPLICATE_CONTRACT_NAME", `contract ${name} is defined in both ${other.file} and ${artifact.file}`, {
          facts: { name, first: other.file, second: artifact.file },
        });
      }
      found.set(name, { file: artifact.file, evmVersion: run.evmVersion, artifact: artifact.artifact });
    }
  }
  const contracts: Record<string, ContractArtifact> = {};
  for (const name of [...found.keys()].sort()) {
    const { evmVersion, artifact } = found.get(name)!;
    contracts[name] = { evmVersion, ...artifact };
  }
  return { artifact: { solcVersion: solc.version(), sourcesHash: sourcesHash(sources), contracts }, warnings };
}

/**
 * One solc run over `run.sources`; returns its deployable contracts by name. Imports of other sources under
 * the contracts directory are served from `all` when they belong to the default run (shared code); anything
 * else is refused, so a build never depends on files outside the directory, and the default run never on a
 * folder built for another EVM.
 */
function compileRun(
  solc: Solc,
  run: Run,
  runs: readonly Run[],
  all: ReadonlyMap<string, string>,
  contractsShown: string,
  warnings: string[],
): Map<string, { file: string; artifact: Omit<ContractArtifact, "evmVersion"> }> {
  const input = {
    language: "Solidity",
    sources: Object.fromEntries([...run.sources].map(([name, content]) => [name, { content }])),
    settings: {
      ...COMPILER_SETTINGS,
      evmVersion: run.evmVersion,
      outputSelection: {
        "*": {
          "": ["ast"],
          "*": ["abi", "evm.bytecode.object", "evm.bytecode.linkReferences", "evm.deployedBytecode.object"],
        },
      },
    },
  };
  const importCallback = (path: string) => {
    const content = all.get(path);
    if (content === undefined) return { error: `${path} is not under ${contractsShown}` };
    const owner = runs.find((r) => r.sources.has(path));
    if (owner && owner.prefix !== null) return { error: `${path} is compiled for ${owner.evmVersion} and cannot be imported from here` };
    return { contents: content };
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: importCallback })) as SolcOutput;

  const diagnostics = output.errors ?? [];
  const errors = diagnostics.filter((d) => d.severity === "error");
  const label = run.prefix === null ? "" : ` (${run.prefix}, evmVersion ${run.evmVersion})`;
  for (const d of diagnostics) if (d.severity === "warning") warnings.push(describe(d));
  if (errors.length > 0) {
    throw new ContractsError(
      "COMPILE_FAILED",
      `solc reported ${errors.length} error(s)${label}:\n\n${errors.map(describe).join("\n\n")}\n`,
      { facts: { errors: errors.length, evmVersion: run.evmVersion } },
    );
  }

  const deployable = new Map<string, string>();
  for (const [file, source] of Object.entries(output.sources ?? {})) {
    if (!run.sources.has(file)) continue;
    for (const node of source.ast?.nodes ?? []) {
      if (node.nodeType !== "ContractDefinition" || node.contractKind !== "contract" || node.abstract || !node.name) continue;
      const other = deployable.get(node.name);
      if (other !== undefined) {
        throw new ContractsError("DUPLICATE_CONTRACT_NAME", `contract ${node.name} is defined in both ${other} and ${file}`, {
          facts: { name: node.name, first: other, second: file },
        });
      }
      deployable.set(node.name, file);
    }
  }

  const result = new Map<string, { file: string; artifact: Omit<ContractArtifact, "evmVersion"> }>();
  for (const name of [...deployable.keys()].sort()) {
    const file = deployable.get(name)!;
    const out = output.contracts?.[file]?.[name];
    if (!out) throw new ContractsError("COMPILE_FAILED", `solc produced no output for ${file}:${name}`, { facts: { file, name } });
    if (Object.keys(out.evm.bytecode.linkReferences ?? {}).length > 0) {
      throw new ContractsError("UNLINKED_LIBRARY", `${name} (${file}) calls an external library; make its functions internal`, {
        facts: { name, file },
      });
    }
    result.set(name, {
      file,
      artifact: { abi: out.abi, bytecode: `0x${out.evm.bytecode.object}`, deployedBytecode: `0x${out.evm.deployedBytecode.object}` },
    });
  }
  return result;
}

/** The artifact as written to disk: two-space JSON, keys in a fixed order, a final newline. */
export function formatArtifact(a: ArtifactFile): string {
  return `${JSON.stringify({ solcVersion: a.solcVersion, sourcesHash: a.sourcesHash, contracts: a.contracts }, null, 2)}\n`;
}

/** What differs between the committed artifact text and a fresh one, for the drift message. */
export function describeDrift(committed: string | undefined, fresh: ArtifactFile): string[] {
  if (committed === undefined) return ["the artifact file does not exist"];
  let old: ArtifactFile;
  try {
    old = JSON.parse(committed) as ArtifactFile;
  } catch {
    return ["the artifact file is not JSON"];
  }
  const out: string[] = [];
  if (old.solcVersion !== fresh.solcVersion) out.push(`solc version ${old.solcVersion} → ${fresh.solcVersion}`);
  if (old.sourcesHash !== fresh.sourcesHash) out.push("the sources changed since it was written");
  const before = old.contracts ?? {};
  for (const name of Object.keys(fresh.contracts)) {
    if (!Object.hasOwn(before, name)) out.push(`${name}: missing`);
    else if (JSON.stringify(before[name]) !== JSON.stringify(fresh.contracts[name])) out.push(`${name}: ABI or bytecode differs`);
  }
  for (const name of Object.keys(before)) if (!Object.hasOwn(fresh.contracts, name)) out.push(`${name}: no longer a contract`);
  if (out.length === 0) out.push("formatting differs");
  return out;
}

export interface RunOptions extends CompileOptions {
  /** Artifact file to write or check. Default: deploy/artifacts/contracts.json. */
  artifactPath?: string;
  check?: boolean;
  log?: (line: string) => void;
  error?: (line: string) => void;
}

/**
 * The CLI: compiles, then writes the artifact, or with `check` compares it with the file on disk. Returns the
 * exit code (0 ok, 1 compile error or drift); never throws for those.
 */
export function runCompile(options: RunOptions = {}): number {
  const log = options.log ?? ((l: string) => console.log(l));
  const error = options.error ?? ((l: string) => console.error(l));
  const path = options.artifactPath ?? ARTIFACT_PATH;
  const shown = relative(process.cwd(), path) || path;
  let result: CompileResult;
  try {
    result = compileContracts(options);
  } catch (e) {
    if (e instanceof ContractsError) {
      error(e.code === "COMPILE_FAILED" ? e.shortMessage : `${e.code}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  for (const w of result.warnings) error(w);
  const text = formatArtifact(result.artifact);
  const names = Object.keys(result.artifact.contracts);
  if (options.check) {
    let committed: string | undefined;
    try {
      committed = readFileSync(path, "utf8");
    } catch {
      committed = undefined;
    }
    if (committed === text) {
      log(`${shown}: up to date (${names.length} contracts)`);
      return 0;
    }
    error(`${shown} is out of date with the Solidity sources; run npm run contracts and commit the result:`);
    for (const line of describeDrift(committed, result.artifact)) error(`  - ${line}`);
    return 1;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  log(`wrote ${shown}: ${names.join(", ")}`);
  return 0;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--check");
  if (unknown.length > 0) {
    console.error(`unknown argument ${unknown.join(" ")}; usage: node deploy/src/compile.ts [--check]`);
    process.exitCode = 2;
  } else {
    process.exitCode = runCompile({ check: args.includes("--check") });
  }
}
