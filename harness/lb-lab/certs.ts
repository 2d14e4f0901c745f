/** The stand-ins' TLS material: one self-signed ECDSA certificate that is also the "cluster CA". */
import * as fs from "fs";
import * as path from "path";
import { HOST_ADDRESSES, VIP } from "./constants";
import { run } from "../shared/sh";

export interface CertPaths {
  cert: string;
  key: string;
}

export async function generateCert(dir: string): Promise<CertPaths> {
  fs.mkdirSync(dir, { recursive: true });
  const paths = { cert: path.join(dir, "stand-in.crt"), key: path.join(dir, "stand-in.key") };
  const sans = [VIP, ...Object.values(HOST_ADDRESSES)].map((a) => `IP:${a}`).join(",");
  // ECDSA P-256 keeps the handshakes cheap on a 2-core machine under connection load.
  await run("openssl", [
    "req",
    "-x509",
    "-nodes",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-keyout",
    paths.key,
    "-out",
    paths.cert,
    "-days",
    "2",
    "-subj",
    "/CN=k3s-server-stand-in",
    "-addext",
    `subjectAltName=${sans}`,
  ]);
  return paths;
}
