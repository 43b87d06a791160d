/**
 * Loading the delivery account's key from where the config says it is. This is the one file of the
 * package that reads the environment. Errors name the config field and the file or variable, never
 * the key material.
 */
import { readFile } from "node:fs/promises";
import { AdapterError } from "@shandu/adapter-core";
import { Wallet } from "ethers";
import type { EvmAdapterConfig } from "./config.ts";

type SignerSource = NonNullable<EvmAdapterConfig["signer"]>;

/**
 * The wallet (not connected to a provider) for `source`. Throws `INVALID_CONFIG` with `facts.path`
 * `signer.keyFile` or `signer.keyEnv` when the key cannot be read or is not a secp256k1 secret key.
 */
export async function loadSigner(source: SignerSource, env: Readonly<Record<string, string | undefined>> = process.env): Promise<Wallet> {
  let text: string | undefined;
  let path: string;
  let where: string;
  if ("keyFile" in source) {
    path = "signer.keyFile";
    where = `file ${source.keyFile}`;
    try {
      text = await readFile(source.keyFile, "utf8");
    } catch (cause) {
      throw new AdapterError("INVALID_CONFIG", `invalid adapter config at ${path}: cannot read the key file`, {
        facts: { path, file: source.keyFile, reason: (cause as NodeJS.ErrnoException).code ?? "read failed" },
      });
    }
  } else {
    path = "signer.keyEnv";
    where = `environment variable ${source.keyEnv}`;
    text = env[source.keyEnv];
    if (text === undefined || text === "") {
      throw new AdapterError("INVALID_CONFIG", `invalid adapter config at ${path}: the environment variable is not set`, {
        facts: { path, variable: source.keyEnv },
      });
    }
  }
  const hex = text.trim();
  const key = hex.startsWith("0x") ? hex : `0x${hex}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new AdapterError("INVALID_CONFIG", `invalid adapter config at ${path}: the ${where} does not hold a 32-byte hex key`, {
      facts: { path },
    });
  }
  try {
    return new Wallet(key);
  } catch {
    // The cause would carry the key; leave it out.
    throw new AdapterError("INVALID_CONFIG", `invalid adapter config at ${path}: the ${where} does not hold a valid secp256k1 key`, {
      facts: { path },
    });
  }
}
