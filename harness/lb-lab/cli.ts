/**
 * `npm run lab:up [-- ours|baseline [multicast|unicast]]` / `npm run lab:down`: the lab for people
 * who want to poke at it. Up starts the topology, the stand-ins and an HAProxy + KeepAlived pair
 * (default: the rendered config, multicast VRRP), then exits leaving it running.
 */
import { HOST_ADDRESSES, HostName, LAB_DIR, VIP, nsName } from "./constants";
import { CONFIG_SETS, ConfigName, VrrpMode } from "./configs/config-set";
import { Lab, requireRoot, teardownLab } from "./lab";
import { LbTier } from "./lb-tier";

async function up(config: ConfigName, vrrp: VrrpMode): Promise<void> {
  const lab = new Lab();
  const tier = new LbTier(lab.dir);
  try {
    await lab.up();
    const holder = await tier.startHaproxyPair(CONFIG_SETS[config], vrrp);
    console.log(`lab up: ${config} config, ${vrrp} VRRP; VIP ${VIP} on ${holder}`);
  } catch (err) {
    await teardownLab();
    throw err;
  }
  console.log("hosts (the servers are K3s server stand-ins, not K3s):");
  for (const [host, address] of Object.entries(HOST_ADDRESSES)) {
    console.log(
      `  ${host.padEnd(9)} ${address.padEnd(13)} ip netns exec ${nsName(host as HostName)} ...`,
    );
  }
  console.log(
    `try: ip netns exec ${nsName("client")} curl --cacert ${LAB_DIR}/pki/stand-in.crt https://${VIP}:6443/ping`,
  );
  console.log(`files and logs: ${LAB_DIR}/<host>/; remove it all with: npm run lab:down`);
}

async function main(args: string[]): Promise<void> {
  requireRoot();
  const [command, config = "ours", vrrp = "multicast"] = args;
  if (command === "down") {
    await teardownLab();
    console.log("lab removed");
    return;
  }
  if (command !== "up" || !(config in CONFIG_SETS) || !["multicast", "unicast"].includes(vrrp)) {
    throw new Error(
      "usage: ts-node harness/lb-lab/cli.ts up [ours|baseline] [multicast|unicast] | down",
    );
  }
  await up(config as ConfigName, vrrp as VrrpMode);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`lab: ${err.message}`);
    process.exit(1);
  },
);
