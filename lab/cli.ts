/** `npm run lab:up` / `npm run lab:down`: the lab for people who want to poke at it. */
import { HOST_ADDRESSES, VIP, nsName } from "./constants";
import { Lab, requireRoot, teardownLab } from "./lab";

async function main(command: string | undefined): Promise<void> {
  requireRoot();
  if (command === "down") {
    await teardownLab();
    console.log("lab removed");
    return;
  }
  if (command !== "up") throw new Error(`usage: ts-node lab/cli.ts up|down (got ${command})`);
  const lab = new Lab();
  await lab.up();
  console.log("lab up (K3s server stand-ins, not K3s):");
  for (const [host, address] of Object.entries(HOST_ADDRESSES)) {
    console.log(
      `  ${host.padEnd(9)} ${address.padEnd(13)} ip netns exec ${nsName(host as never)} ...`,
    );
  }
  console.log(`  VIP       ${VIP}`);
  console.log("remove it with: npm run lab:down");
}

main(process.argv[2]).then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`lab: ${err.message}`);
    process.exit(1);
  },
);
