import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { AnvilError, type AnvilNode, anvilAccounts, startAnvil } from "./anvil.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("startAnvil", () => {
  const nodes: AnvilNode[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });

  it("starts a prague node with the default accounts, funded, and closes it completely", async () => {
    const node = await startAnvil();
    nodes.push(node);
    assert.equal(node.hardfork, "prague");
    assert.equal(node.chainId, 31337);
    assert.equal(node.rpcUrl, `http://127.0.0.1:${node.port}`);
    assert.equal(node.accounts.length, 10);
    assert.equal(node.accounts[0], "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    const w = node.wallet(0);
    assert.equal(w.address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    assert.equal(node.wallet(0), w, "one wallet per account");
    assert.ok((await node.provider.getBalance(w.address)) > 10n ** 21n);
    assert.equal((await node.provider.getNetwork()).chainId, 31337n);
    const tx = await w.sendTransaction({ to: node.wallet(1).address, value: 1n });
    assert.equal((await tx.wait())?.status, 1);
    assert.throws(() => node.wallet(10), RangeError);

    assert.ok(alive(node.pid));
    await node.close();
    assert.equal(alive(node.pid), false, "no process left after close()");
    await node.close(); // idempotent
  });

  it("takes a chain id, a hardfork and a block time; two nodes run side by side", async () => {
    const [a, b] = await Promise.all([startAnvil({ chainId: 4242, hardfork: "cancun" }), startAnvil({ blockTimeSeconds: 1 })]);
    nodes.push(a, b);
    assert.notEqual(a.port, b.port);
    assert.equal(BigInt(await a.provider.send("eth_chainId", [])), 4242n);
    const before = await b.provider.getBlockNumber();
    await new Promise((r) => setTimeout(r, 2_200));
    assert.ok((await b.provider.getBlockNumber()) > before, "blocks are mined on a timer");
    await Promise.all([a.close(), b.close()]);
    assert.equal(alive(a.pid) || alive(b.pid), false);
  });

  it("an aborted signal cancels the start; aborting later closes the node", async () => {
    await assert.rejects(startAnvil({ signal: AbortSignal.abort() }), (e: unknown) => e instanceof AnvilError && e.code === "CANCELLED");
    const controller = new AbortController();
    const node = await startAnvil({ signal: controller.signal });
    nodes.push(node);
    controller.abort();
    await node.close();
    assert.equal(alive(node.pid), false);
  });

  it("derives the keys of anvil's mnemonic", () => {
    const keys = anvilAccounts();
    assert.equal(keys[1], "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
  });
});
