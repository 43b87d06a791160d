import { loadArtifact } from "@shandu/deploy";
import { Contract, ContractFactory, type Signer } from "ethers";

/**
 * Deploys the contract `name` from the committed artifact (`deploy/artifacts/contracts.json`) with
 * constructor `args`, waits until its code is on chain, and returns it connected to `signer`. Throws the
 * artifact's `ContractsError` when `name` is not compiled (run `npm run contracts`), and whatever ethers
 * throws when the deployment reverts.
 */
export async function deployContract(signer: Signer, name: string, args: readonly unknown[] = []): Promise<Contract> {
  const artifact = loadArtifact(name);
  const factory = new ContractFactory(artifact.abi, artifact.bytecode, signer);
  const deployed = await factory.deploy(...args);
  await deployed.waitForDeployment();
  return new Contract(await deployed.getAddress(), artifact.abi, signer);
}
