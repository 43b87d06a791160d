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
