/** Brings up the LB tier on lb-1/lb-2 with one configuration set, and waits until it serves. */
import * as path from "path";
import { LB_HOSTS, LbHostName, STAND_INS } from "./constants";
import { ConfigSet, VrrpMode } from "./configs/config-set";
import { readServerStatus } from "./haproxy-stats";
import { LbHost, flushVip } from "./lb-host";
import { waitFor } from "../shared/sh";
import { setLink } from "./topology";
import { VipWatch, vipHolders } from "./vip-watch";

export const ADMIN_SOCKET = "/run/haproxy/admin.sock";

export class LbTier {
  readonly hosts: Record<LbHostName, LbHost>;
  config?: ConfigSet;

  constructor(labDir: string) {
    this.hosts = { "lb-1": new LbHost("lb-1", labDir), "lb-2": new LbHost("lb-2", labDir) };
  }

  /** HAProxy on both hosts, KeepAlived between them; returns the host that took the VIP. */
  async startHaproxyPair(config: ConfigSet, vrrp: VrrpMode): Promise<LbHostName> {
    await this.stop();
    this.config = config;
    for (const name of LB_HOSTS) {
      const host = this.hosts[name];
      host.supervision = config.supervision;
      // The program's check step creates its script user; the page's hosts have none.
      await host.boot({ scriptUser: config.checkScript !== undefined });
      this.writeKeepalived(name, config, vrrp);
      host.writeFile("etc-haproxy", "haproxy.cfg", config.haproxyCfg());
      host.startDaemon("haproxy");
      await host.waitListening("haproxy");
    }
    for (const name of LB_HOSTS) this.hosts[name].startDaemon("keepalived");
    await this.waitServersUp();
    return this.waitStableVip();
  }

  /** keepalived.conf (and its check script) from a config set, into the host's /etc/keepalived. */
  writeKeepalived(name: LbHostName, config: ConfigSet, vrrp: VrrpMode): void {
    const host = this.hosts[name];
    host.writeFile("etc-keepalived", "keepalived.conf", config.keepalivedConf(name, vrrp));
    if (config.checkScript) {
      const { path: scriptPath, content } = config.checkScript;
      if (path.dirname(scriptPath) !== "/etc/keepalived") {
        throw new Error(`check script ${scriptPath} is outside the host's /etc/keepalived`);
      }
      host.writeFile("etc-keepalived", path.basename(scriptPath), content, 0o755);
    }
  }

  /**
   * A powered-off host powered on again: link up, no VIP on its interface (a reboot loses it), its
   * files as they were, then the daemons as at boot: HAProxy, then KeepAlived.
   */
  async powerOn(name: LbHostName): Promise<void> {
    const host = this.hosts[name];
    await flushVip(name);
    await setLink(name, true);
    await host.powerOn();
    host.startDaemon("haproxy");
    await host.waitListening("haproxy");
    host.startDaemon("keepalived");
  }

  /** Nginx alone on lb-1 (the page's Nginx variant); returns the address clients use. */
  async startNginx(config: ConfigSet): Promise<void> {
    await this.stop();
    this.config = config;
    const host = this.hosts["lb-1"];
    await host.boot();
    host.writeFile("etc-nginx", "nginx.conf", config.nginxConf());
    host.startDaemon("nginx");
    await host.waitListening("nginx");
  }

  adminSocket(host: LbHostName): string {
    return this.hosts[host].hostPath(ADMIN_SOCKET);
  }

  async serverStatus(host: LbHostName): Promise<Map<string, string>> {
    if (!this.config) throw new Error("the LB tier is not running");
    return readServerStatus(this.adminSocket(host), this.config.haproxyBackend);
  }

  private async waitServersUp(): Promise<void> {
    for (const name of LB_HOSTS) {
      await waitFor(
        `HAProxy on ${name} to see every K3s server stand-in UP`,
        async () => {
          const status = await this.serverStatus(name).catch(() => new Map<string, string>());
          return STAND_INS.every((s) => status.get(s) === "UP");
        },
        20_000,
        200,
      );
    }
  }

  /** Waits until exactly one host holds the VIP and it stays put for 2 s. */
  private async waitStableVip(): Promise<LbHostName> {
    let holder: LbHostName | undefined;
    await waitFor(
      "KeepAlived to settle the VIP on one LB host",
      async () => {
        const holders = await vipHolders();
        if (holders.length !== 1) return false;
        const watch = new VipWatch();
        watch.start(50, 2_000);
        const samples = await watch.stopAfter(2_000);
        const mine = holders[0] === "lb-1" ? 1 : 2;
        const other = mine === 1 ? 2 : 1;
        if (!samples.every((s) => s[mine] && !s[other])) return false;
        holder = holders[0];
        return true;
      },
      20_000,
      100,
    );
    return holder as LbHostName;
  }

  async stop(): Promise<void> {
    for (const name of LB_HOSTS) await this.hosts[name].shutdown();
    this.config = undefined;
  }
}
