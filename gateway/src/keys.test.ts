/** Key files: read only when private to their owner, never echoed in errors. */
import assert from "node:assert/strict";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { GatewayError } from "./errors.ts";
import { readKeyFile } from "./keys.ts";

test("a 0600 hex key file is read; others are refused without showing the key", async () => {
  const dir = await mkdtemp(join(tmpdir(), "shandu-keys-"));
  try {
    const secret = "ab".repeat(32);
    const path = join(dir, "member.key");
    await writeFile(path, `0x${secret}\n`, { mode: 0o600 });
    assert.equal(Buffer.from(await readKeyFile(path, 32, "BLS key")).toString("hex"), secret);

    await chmod(path, 0o644);
    const err = await readKeyFile(path, 32, "BLS key").catch((e: unknown) => e);
    assert.ok(err instanceof GatewayError);
    assert.match(err.message, /chmod 600/);
    assert.ok(!err.message.includes(secret), "the key is not in the error");

    await chmod(path, 0o600);
    await assert.rejects(readKeyFile(path, 48, "BLS key"), /must hold 48 bytes/);
    await assert.rejects(readKeyFile(join(dir, "missing.key"), 32, "BLS key"), /not found/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
