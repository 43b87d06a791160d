/**
 * Secret keys come from files the operator created with restrictive permissions (0600 or stricter),
 * holding the key as hex. The key never appears in logs or errors: only its path does.
 */
import { readFile, stat } from "node:fs/promises";
import { fromHex } from "@shandu/proofs";
import { GatewayError } from "./errors.ts";

/**
 * Reads a `bytes`-long hex key from `path`. Throws `INVALID_REQUEST` when the file is missing,
 * group/world accessible, or not `bytes` bytes of hex.
 */
export async function readKeyFile(path: string, bytes: number, what: string): Promise<Uint8Array> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (cause) {
    throw new GatewayError("INVALID_REQUEST", `${what} file not found: ${path}`, { cause, facts: { field: "keyFile", path } });
  }
  if (process.platform !== "win32" && (info.mode & 0o077) !== 0) {
    throw new GatewayError("INVALID_REQUEST", `${what} file ${path} is readable by other users; run: chmod 600 ${path}`, {
      facts: { field: "keyFile", path, mode: (info.mode & 0o777).toString(8) },
    });
  }
  const text = (await readFile(path, "utf8")).trim();
  try {
    const key = fromHex(text.startsWith("0x") ? text : `0x${text}`);
    if (key.length !== bytes) throw new Error("length");
    return key;
  } catch {
    throw new GatewayError("INVALID_REQUEST", `${what} file ${path} must hold ${bytes} bytes as hex`, {
      facts: { field: "keyFile", path },
    });
  }
}
