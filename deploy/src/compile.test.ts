import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadArtifact } from "./artifacts.ts";
import { compileContracts, formatArtifact, runCompile } from "./compile.ts";
import { ContractsError } from "./errors.ts";

const COUNTER = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Step} from "./lib/Step.sol";

interface ICounter {
    function count() external view returns (uint256);
}

abstract contract Base {
    function hook() internal virtual;
}

contract Counter is ICounter, Base {
    uint256 public count;

    function bump() external {
        count = Step.next(count);
        hook();
    }

    function hook() internal override {}
}
`;

const STEP = `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

library Step {
    function next(uint256 v) internal pure returns (uint256) {
        return v + 1;
    }
}
`;

describe("compile.ts", () => {
  let root: string;
  let contractsDir: string;
  let artifactPath: string;
  const quiet = { log: () => {}, error: () => {} };

  before(() => {
    root = mkdtempSync(join(tmpdir(), "shandu-compile-"));
    contractsDir = join(root, "deploy", "contracts");
    mkdirSync(join(contractsDir, "lib"), { recursive: true });
    writeFileSync(join(contractsDir, "Counter.sol"), COUNTER);
    writeFileSync(join(contractsDir, "lib", "Step.sol"), STEP);
    artifactPath = join(root, "contracts.json");
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it("lists only deployable contracts, not libraries, interfaces or abstract contracts", () => {
    const { artifact } = compileContracts({ contractsDir });
    assert.deepEqual(Object.keys(artifact.contracts), ["Counter"]);
    const counter = artifact.contracts.Counter!;
    assert.match(counter.bytecode, /^0x[0-9a-f]+$/);
    assert.match(counter.deployedBytecode, /^0x[0-9a-f]+$/);
    assert.ok(counter.abi.some((f) => f.type === "function" && f.name === "bump"));
    assert.match(artifact.solcVersion, /^0\.8\.37\+commit\./);
    assert.match(artifact.sourcesHash, /^0x[0-9a-f]{64}$/);
  });

  it("is reproducible: two compiles give the same bytes", () => {
    assert.equal(formatArtifact(compileContracts({ contractsDir }).artifact), formatArtifact(compileContracts({ contractsDir }).artifact));
  });

  it("--check passes on a fresh artifact and fails with a reason once a source changes", () => {
    assert.equal(runCompile({ contractsDir, artifactPath, ...quiet }), 0);
    assert.equal(runCompile({ contractsDir, artifactPath, check: true, ...quiet }), 0);
    const written = readFileSync(artifactPath, "utf8");
    writeFileSync(join(contractsDir, "lib", "Step.sol"), STEP.replace("v + 1", "v + 2"));
    try {
      const lines: string[] = [];
      assert.equal(runCompile({ contractsDir, artifactPath, check: true, log: () => {}, error: (l) => lines.push(l) }), 1);
      assert.match(lines.join("\n"), /out of date.*npm run contracts/);
      assert.match(lines.join("\n"), /sources changed/);
      assert.match(lines.join("\n"), /Counter: ABI or bytecode differs/);
      assert.equal(readFileSync(artifactPath, "utf8"), written, "--check never writes");
    } finally {
      writeFileSync(join(contractsDir, "lib", "Step.sol"), STEP);
    }
    assert.equal(runCompile({ contractsDir, artifactPath, check: true, ...quiet }), 0);
    assert.equal(runCompile({ contractsDir, artifactPath: join(root, "absent.json"), check: true, ...quiet }), 1);
  });

  it("reports compile errors with file:line:column and exits 1", () => {
    const bad = join(contractsDir, "Bad.sol");
    writeFileSync(
      bad,
      `// SPDX-License-Identifier: Apache-2.0\npragma solidity ^0.8.30;\n\ncontract Bad {\n    function f() external { undefinedThing(); }\n}\n`,
    );
    try {
      assert.throws(
        () => compileContracts({ contractsDir }),
        (e: unknown) => e instanceof ContractsError && e.code === "COMPILE_FAILED" && /deploy\/contracts\/Bad\.sol:5:\d+/.test(e.message),
      );
      const lines: string[] = [];
      assert.equal(runCompile({ contractsDir, artifactPath, log: () => {}, error: (l) => lines.push(l) }), 1);
      assert.match(lines.join("\n"), /Undeclared identifier/);
    } finally {
      rmSync(bad);
    }
  });

  it("loadArtifact reads a contract and says how to build when the artifact or contract is missing", () => {
    assert.equal(runCompile({ contractsDir, artifactPath, ...quiet }), 0);
    assert.match(loadArtifact("Counter", artifactPath).bytecode, /^0x/);
    assert.throws(
      () => loadArtifact("Step", artifactPath),
      (e: unknown) => e instanceof ContractsError && e.code === "UNKNOWN_CONTRACT",
    );
    assert.throws(
      () => loadArtifact("Counter", join(root, "absent.json")),
      (e: unknown) => e instanceof ContractsError && e.code === "ARTIFACT_MISSING" && /npm run contracts/.test(e.message),
    );
  });
});

describe("compile.ts: folders built for another EVM version", () => {
  let root: string;
  let contractsDir: string;
  const native = (body: string) => `// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Step} from "../lib/Step.sol";

contract OldChain {
    uint256 public count;

    function bump() external {
        count = Step.next(count);
${body}
    }
}
`;

  before(() => {
    root = mkdtempSync(join(tmpdir(), "shandu-compile-paris-"));
    contractsDir = join(root, "deploy", "contracts");
    mkdirSync(join(contractsDir, "lib"), { recursive: true });
    mkdirSync(join(contractsDir, "fisco"), { recursive: true });
    writeFileSync(join(contractsDir, "Counter.sol"), COUNTER);
    writeFileSync(join(contractsDir, "lib", "Step.sol"), STEP);
    writeFileSync(join(contractsDir, "fisco", "OldChain.sol"), native(""));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** Whether the runtime code has a PUSH0 (Shanghai) outside push data, the CBOR metadata at its end left out. */
  const hasPush0 = (hex: string) => {
    const code = Buffer.from(hex.slice(2), "hex");
    const end = code.length - 2 - code.readUInt16BE(code.length - 2);
    for (let i = 0; i < end; i++) {
      const op = code[i]!;
      if (op === 0x5f) return true;
      if (op >= 0x60 && op <= 0x7f) i += op - 0x5f;
    }
    return false;
  };

  it("compiles the folder for its EVM version, importing the shared sources, and records the version", () => {
    const { artifact } = compileContracts({ contractsDir });
    assert.deepEqual(Object.keys(artifact.contracts), ["Counter", "OldChain"]);
    assert.equal(artifact.contracts.Counter!.evmVersion, "prague");
    assert.equal(artifact.contracts.OldChain!.evmVersion, "paris");
    assert.equal(hasPush0(artifact.contracts.OldChain!.deployedBytecode), false);
    assert.equal(hasPush0(artifact.contracts.Counter!.deployedBytecode), true);
    const all = compileContracts({ contractsDir, evmVersionByFolder: {} }).artifact;
    assert.equal(all.contracts.OldChain!.evmVersion, "prague", "without the folder rule it is an ordinary source");
  });

  it("refuses a Cancun opcode in the folder, and an import of the folder from the default run", () => {
    writeFileSync(join(contractsDir, "fisco", "OldChain.sol"), native("        assembly { mcopy(0, 0, 0) }"));
    try {
      assert.throws(
        () => compileContracts({ contractsDir }),
        (e: unknown) =>
          e instanceof ContractsError && e.code === "COMPILE_FAILED" && /evmVersion paris/.test(e.message) && /mcopy/.test(e.message),
      );
    } finally {
      writeFileSync(join(contractsDir, "fisco", "OldChain.sol"), native(""));
    }
    const importer = join(contractsDir, "UsesOld.sol");
    writeFileSync(
      importer,
      `// SPDX-License-Identifier: Apache-2.0\npragma solidity ^0.8.30;\n\nimport {OldChain} from "./fisco/OldChain.sol";\n`,
    );
    try {
      assert.throws(
        () => compileContracts({ contractsDir }),
        (e: unknown) => e instanceof ContractsError && e.code === "COMPILE_FAILED" && /compiled for paris/.test(e.message),
      );
    } finally {
      rmSync(importer);
    }
  });
});
