/**
 * Generates `test/vectors/fabric/msps.json`: the certificates of three test MSPs (a self-signed CA and
 * one peer certificate each, P-256 with ECDSA-SHA256, as Fabric's `cryptogen` makes them) and of a
 * rogue CA that copies Org1's CA name with another key. The certificates are made by the `openssl`
 * command (not by this repository's code), so the tests read certificates from an independent encoder.
 *
 * THE PRIVATE KEYS IN THE OUTPUT ARE FOR TESTS ONLY: they are published, so nothing they sign means
 * anything outside the tests.
 *
 * Run from the repository root when the fixture must change (the tests do not run it):
 *
 *   npx node proofs/test/generate-fabric-vectors.ts
 */
import { execFileSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const out = join(dirname(fileURLToPath(import.meta.url)), "vectors", "fabric", "msps.json");
const dir = mkdtempSync(join(tmpdir(), "shandu-fabric-"));
const file = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });

function key(name: string): string {
  openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file(`${name}.key`));
  return file(`${name}.key`);
}

/** The private scalar of a PEM key, as 32-byte hex. */
function scalar(path: string): string {
  const jwk = createPrivateKey(readFileSync(path)).export({ format: "jwk" });
  return Buffer.from(jwk.d!, "base64url").toString("hex").padStart(64, "0");
}

function ca(name: string, org: string): { cert: string; key: string } {
  const k = key(name);
  openssl(
    "req",
    "-new",
    "-x509",
    "-key",
    k,
    "-sha256",
    "-days",
    "36500",
    "-subj",
    `/C=CN/O=${org}/CN=ca.${org}`,
    "-set_serial",
    "1",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-out",
    file(`${name}.pem`),
  );
  return { cert: readFileSync(file(`${name}.pem`), "utf8"), key: k };
}

function peer(name: string, org: string, issuer: { cert: string; key: string }, issuerName: string): { cert: string; key: string } {
  const k = key(name);
  openssl("req", "-new", "-key", k, "-subj", `/C=CN/O=${org}/OU=peer/CN=peer0.${org}`, "-out", file(`${name}.csr`));
  writeFileSync(file("ext.cnf"), "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n");
  openssl(
    "x509",
    "-req",
    "-in",
    file(`${name}.csr`),
    "-CA",
    file(`${issuerName}.pem`),
    "-CAkey",
    issuer.key,
    "-sha256",
    "-days",
    "36500",
    "-set_serial",
    "2",
    "-extfile",
    file("ext.cnf"),
    "-out",
    file(`${name}.pem`),
  );
  return { cert: readFileSync(file(`${name}.pem`), "utf8"), key: scalar(k) };
}

try {
  const msps: Record<string, { ca: string; peer: { cert: string; key: string } }> = {};
  for (const [msp, org] of [
    ["Org1MSP", "org1.shandu.test"],
    ["Org2MSP", "org2.shandu.test"],
    ["Org3MSP", "org3.shandu.test"],
  ] as const) {
    const c = ca(msp, org);
    msps[msp] = { ca: c.cert, peer: peer(`${msp}-peer`, org, c, msp) };
  }
  // Same subject as Org1's CA, another key: a certificate it issues names Org1's CA as issuer.
  const rogue = ca("rogue", "org1.shandu.test");
  const rogueJson = { ca: rogue.cert, peer: peer("rogue-peer", "org1.shandu.test", rogue, "rogue") };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        note: "TEST-ONLY keys and certificates, made by proofs/test/generate-fabric-vectors.ts with openssl; the private keys are public.",
        msps,
        rogue: rogueJson,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${out}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
