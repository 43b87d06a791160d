/**
 * What an attester must never forget: the position it has fully attested up to, and every batch it
 * signed. The signed journal is append-only JSON lines, each line written and synced to disk before the
 * signature leaves the process, so after any crash the attester re-sends what it signed instead of
 * signing something else for the same nonce range (never equivocate).
 */
import { appendFile, mkdir, open, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Cursor, cursorFromJson, cursorToJson, startCursor } from "@shandu/adapter-core";
import { fromHex, toHex } from "@shandu/proofs";
import { GatewayError } from "../errors.ts";

export interface SignedBatch {
  sourceChainId: bigint;
  destinationChainId: bigint;
  firstNonce: bigint;
  lastNonce: bigint;
  epoch: bigint;
  root: Uint8Array;
  signature: Uint8Array;
}

const key = (b: { destinationChainId: bigint; firstNonce: bigint; lastNonce: bigint; epoch: bigint }) =>
  `${b.destinationChainId}:${b.firstNonce}-${b.lastNonce}@${b.epoch}`;

export class AttesterJournal {
  readonly #cursorFile: string;
  readonly #signedFile: string;
  readonly #signed = new Map<string, SignedBatch>();
  #cursor: Cursor = startCursor();

  private constructor(dir: string, memberId: string, sourceChainId: bigint) {
    const base = `${memberId.replace(/[^A-Za-z0-9_.-]/g, "_")}-${sourceChainId}`;
    this.#cursorFile = join(dir, `${base}.cursor.json`);
    this.#signedFile = join(dir, `${base}.signed.jsonl`);
  }

  /** Opens (creating) the journal of one member for one source chain under `dir`. */
  static async open(dir: string, memberId: string, sourceChainId: bigint): Promise<AttesterJournal> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const j = new AttesterJournal(dir, memberId, sourceChainId);
    try {
      j.#cursor = cursorFromJson(JSON.parse(await readFile(j.#cursorFile, "utf8")));
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") {
        throw new GatewayError("INVALID_REQUEST", `attester cursor file is unreadable: ${j.#cursorFile}`, {
          cause: e,
          facts: { field: "stateDir" },
        });
      }
    }
    let text = "";
    try {
      text = await readFile(j.#signedFile, "utf8");
    } catch (e) {
      if ((e as { code?: string }).code !== "ENOENT") throw e;
    }
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      let o: Record<string, string>;
      try {
        o = JSON.parse(line) as Record<string, string>;
      } catch {
        // A line cut by a crash before its sync: its signature never left the process.
        continue;
      }
      const b: SignedBatch = {
        sourceChainId: BigInt(o.sourceChainId!),
        destinationChainId: BigInt(o.destinationChainId!),
        firstNonce: BigInt(o.firstNonce!),
        lastNonce: BigInt(o.lastNonce!),
        epoch: BigInt(o.epoch!),
        root: fromHex(o.root!),
        signature: fromHex(o.signature!),
      };
      j.#signed.set(key(b), b);
    }
    return j;
  }

  get cursor(): Cursor {
    return this.#cursor;
  }

  signedFor(b: { destinationChainId: bigint; firstNonce: bigint; lastNonce: bigint; epoch: bigint }): SignedBatch | undefined {
    return this.#signed.get(key(b));
  }

  get signedCount(): number {
    return this.#signed.size;
  }

  /** Appends and syncs; only then may the signature be sent. */
  async recordSigned(b: SignedBatch): Promise<void> {
    const line = `${JSON.stringify({
      sourceChainId: b.sourceChainId.toString(),
      destinationChainId: b.destinationChainId.toString(),
      firstNonce: b.firstNonce.toString(),
      lastNonce: b.lastNonce.toString(),
      epoch: b.epoch.toString(),
      root: toHex(b.root),
      signature: toHex(b.signature),
    })}\n`;
    await appendFile(this.#signedFile, line, { mode: 0o600 });
    const fh = await open(this.#signedFile, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.#signed.set(key(b), b);
  }

  /** Atomically replaces the cursor (write, sync, rename). */
  async saveCursor(c: Cursor): Promise<void> {
    const tmp = `${this.#cursorFile}.tmp`;
    await writeFile(tmp, JSON.stringify(cursorToJson(c)), { mode: 0o600 });
    const fh = await open(tmp, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.#cursorFile);
    this.#cursor = c;
  }
}
