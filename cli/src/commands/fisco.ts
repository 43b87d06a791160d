/**
 * `shandu fisco decode-tx | tx-hash`: an operator's tool for FISCO BCOS transactions. It decodes a
 * signed transaction (3.x TARS or 2.x RLP; ECDSA or SM, detected from the bytes unless given), recomputes
 * its hash from the fields and authenticates the sender, and prints JSON. A transaction whose carried
 * hash or signature does not check out is printed with the reason and exit code 1.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type CryptoSuite, checkTransactionV2, checkTransactionV3, decodeTransactionV3, FiscoError } from "@shandu/adapter-fisco-bcos";
import { type RlpItem, rlpDecode, toHex } from "@shandu/proofs";
import type { Command, CommandContext } from "../command.ts";
import { CliError, EXIT } from "../errors.ts";
import { parseFlags } from "../flags.ts";

const USAGE = `Usage: shandu fisco decode-tx <hex | @file> [--suite ecdsa|sm] [--format v3|v2]
       shandu fisco tx-hash   <hex | @file> [--suite ecdsa|sm] [--format v3|v2]

decode-tx prints a FISCO BCOS transaction as JSON: its fields, the hash recomputed from them, and the
sender recovered (ECDSA) or verified (SM2, with the key the signature carries). tx-hash prints only the
hash. The transaction is hex (0x optional) or @path of a file holding hex or raw bytes.

  --format v3|v2   3.x TARS or 2.x RLP (default: detected — TARS starts with 0x1a, RLP with 0xf8–0xff)
  --suite ecdsa|sm keccak-256 + secp256k1, or SM3 + SM2 (default: from the signature length)

Exit codes: 0 the transaction checks out · 1 it was decoded but its hash or signature does not check
out (the JSON says why) · 2 usage error or bytes that are not a transaction.
`;

async function input(arg: string, cwd: string): Promise<Uint8Array> {
  let text: string | Uint8Array = arg;
  if (arg.startsWith("@")) {
    const raw = await readFile(resolve(cwd, arg.slice(1))).catch((cause: unknown) => {
      throw new CliError("MISSING_ARGUMENT", `cannot read ${arg.slice(1)}`, {
        hint: "Pass the transaction as hex, or @path of a file.",
        cause,
      });
    });
    const asText = raw.toString("utf8").trim();
    text = /^(0x)?[0-9a-fA-F]+$/.test(asText) ? asText : new Uint8Array(raw);
  }
  if (text instanceof Uint8Array) return text;
  const hex = text.startsWith("0x") ? text.slice(2) : text;
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex)) {
    throw new CliError("BAD_FLAG_VALUE", "the transaction is not hex", {
      hint: "Pass an even number of hex digits (0x optional), or @file.",
    });
  }
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

type Format = "v3" | "v2";

function detect(bytes: Uint8Array, format: Format | undefined, suite: CryptoSuite | undefined): { format: Format; suite: CryptoSuite } {
  const f: Format = format ?? (bytes[0] !== undefined && bytes[0] >= 0xf8 ? "v2" : "v3");
  if (suite) return { format: f, suite };
  if (f === "v3") {
    try {
      return { format: f, suite: decodeTransactionV3(bytes).signature.length === 128 ? "sm" : "ecdsa" };
    } catch {
      return { format: f, suite: "ecdsa" };
    }
  }
  // 2.x: an SM transaction carries its 64-byte public key (item 10) where ECDSA has v.
  let items: RlpItem = [];
  try {
    items = rlpDecode(bytes);
  } catch {
    // reported as RLP_MALFORMED by the decoder
  }
  return { format: f, suite: Array.isArray(items) && items[10] instanceof Uint8Array && items[10].length === 64 ? "sm" : "ecdsa" };
}

const str = (b: Uint8Array) => toHex(b);

function describe(format: Format, suite: CryptoSuite, bytes: Uint8Array): Record<string, unknown> {
  if (format === "v3") {
    const c = checkTransactionV3(suite, bytes);
    const d = c.tx.data;
    return {
      format: "FISCO BCOS 3.x (TARS)",
      suite,
      hash: str(c.hash),
      sender: str(c.sender),
      data: {
        version: d.version,
        chainId: d.chainId,
        groupId: d.groupId,
        blockLimit: d.blockLimit.toString(),
        nonce: d.nonce,
        to: d.to,
        input: str(d.input),
        abi: d.abi,
        ...(d.version >= 1
          ? {
              value: d.value,
              gasPrice: d.gasPrice,
              gasLimit: d.gasLimit.toString(),
              maxFeePerGas: d.maxFeePerGas,
              maxPriorityFeePerGas: d.maxPriorityFeePerGas,
            }
          : {}),
        ...(d.version >= 2 ? { extension: str(d.extension) } : {}),
      },
      signature: str(c.tx.signature),
      importTime: c.tx.importTime.toString(),
      attribute: c.tx.attribute,
    };
  }
  const c = checkTransactionV2(suite, bytes);
  const t = c.tx;
  return {
    format: "FISCO BCOS 2.x (RLP)",
    suite,
    hash: str(c.hash),
    signingHash: str(c.signingHash),
    sender: str(c.sender),
    data: {
      randomId: t.randomId.toString(),
      gasPrice: t.gasPrice.toString(),
      gasLimit: t.gasLimit.toString(),
      blockLimit: t.blockLimit.toString(),
      to: t.to.length ? str(t.to) : "",
      value: t.value.toString(),
      data: str(t.data),
      chainId: t.chainId.toString(),
      groupId: t.groupId.toString(),
      extraData: str(t.extraData),
    },
    signature: str(t.signature),
  };
}

async function run(argv: readonly string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseFlags(argv, { suite: { type: "string" }, format: { type: "string" } }, "fisco");
  const [sub, arg] = positionals;
  if (sub !== "decode-tx" && sub !== "tx-hash") {
    throw new CliError("UNKNOWN_COMMAND", `unknown \`shandu fisco\` command: ${sub ?? "(none)"}`, {
      hint: "Use `shandu fisco decode-tx <hex>` or `shandu fisco tx-hash <hex>`.",
    });
  }
  if (!arg) throw new CliError("MISSING_ARGUMENT", `\`shandu fisco ${sub}\` needs a transaction`, { hint: "Pass it as hex or @file." });
  const suite = values.suite as string | undefined;
  const format = values.format as string | undefined;
  if (suite !== undefined && suite !== "ecdsa" && suite !== "sm")
    throw new CliError("BAD_FLAG_VALUE", "--suite must be ecdsa or sm", { hint: "Run `shandu help fisco`." });
  if (format !== undefined && format !== "v3" && format !== "v2")
    throw new CliError("BAD_FLAG_VALUE", "--format must be v3 or v2", { hint: "Run `shandu help fisco`." });
  const bytes = await input(arg, ctx.cwd);
  const d = detect(bytes, format as Format | undefined, suite as CryptoSuite | undefined);
  try {
    const out = describe(d.format, d.suite, bytes);
    ctx.stdout.write(sub === "tx-hash" ? `${out.hash}\n` : `${JSON.stringify(out, null, 2)}\n`);
    return EXIT.ok;
  } catch (e) {
    if (!(e instanceof FiscoError)) throw e;
    const decoding = e.code === "TARS_MALFORMED" || e.code === "RLP_MALFORMED" || e.code === "FIELD_MISSING";
    ctx.stdout.write(`${JSON.stringify({ format: d.format, suite: d.suite, error: { code: e.code, message: e.message } }, null, 2)}\n`);
    ctx.stderr.write(`shandu fisco: ${e.code}: ${e.shortMessage}\n`);
    return decoding ? EXIT.usage : EXIT.failed;
  }
}

export const command: Command = { name: "fisco", usage: USAGE, run };
