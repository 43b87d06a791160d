import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { COMMANDS, overview } from "./main.ts";
import { runInProcess } from "./testing/runInProcess.ts";

describe("shandu dispatcher", () => {
  test("--help and help print the overview listing every command, exit 0", async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const r = await runInProcess(args);
      assert.equal(r.code, 0, args.join(" "));
      assert.equal(r.stdout, overview());
      assert.equal(r.stderr, "");
    }
    for (const name of Object.keys(COMMANDS)) assert.match(overview(), new RegExp(`\\n  ${name}  `));
  });

  test("help <command>, <command> --help and <command> -h print that command's usage, exit 0", async () => {
    const outputs = await Promise.all(
      [
        ["help", "verify"],
        ["verify", "--help"],
        ["verify", "-h", "--json"],
      ].map((a) => runInProcess(a)),
    );
    for (const r of outputs) {
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^Usage: shandu verify <bundle\.json\|bundle\.bin\|dir>\.\.\. \[flags\]/);
      assert.match(r.stdout, /--genesis <committee\.json>/);
    }
  });

  test("--help after -- is an argument, not a request for help", async () => {
    const r = await runInProcess(["verify", "--", "--help"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--help does not exist/);
  });

  test("no command prints the overview on stderr and exits 2", async () => {
    const r = await runInProcess([]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, overview());
  });

  test("an unknown command exits 2, suggesting the nearest one and --help", async () => {
    const typo = await runInProcess(["verfy", "x.json"]);
    assert.equal(typo.code, 2);
    assert.equal(typo.stdout, "");
    assert.equal(
      typo.stderr,
      'shandu: error: unknown command "verfy"\n  Did you mean `shandu verify`? Run `shandu --help` to list the commands.\n',
    );
    const far = await runInProcess(["teleport"]);
    assert.equal(far.stderr, 'shandu: error: unknown command "teleport"\n  Run `shandu --help` to list the commands.\n');
    const inherited = await runInProcess(["toString"]);
    assert.equal(inherited.code, 2, "only the table's own entries are commands");
    assert.equal((await runInProcess(["help", "nope"])).code, 2);
  });

  test("an unknown global flag exits 2", async () => {
    const r = await runInProcess(["--verbose", "verify"]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "shandu: error: unknown flag --verbose\n  Run `shandu --help` for usage.\n");
  });

  test("--version prints the version", async () => {
    const r = await runInProcess(["--version"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^shandu \d+\.\d+\.\d+\n$/);
  });
});
