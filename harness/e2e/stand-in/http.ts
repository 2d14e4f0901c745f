/** HTTPS requests for the K3s stand-in: optional CA (else no verification), headers, JSON body. */
import * as https from "https";

export interface Reply {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface RequestOptions {
  method?: string;
  /** PEM of the CA to verify the server against; without it the certificate is not checked. */
  ca?: string;
  headers?: Record<string, string>;
  body?: string;
}

export function request(url: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: opts.method ?? "GET",
        ca: opts.ca,
        rejectUnauthorized: opts.ca !== undefined,
        headers: {
          ...(opts.body !== undefined ? { "content-type": "application/json" } : {}),
          ...opts.headers,
        },
        timeout: 3_000,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timed out: ${opts.method ?? "GET"} ${url}`)));
    req.on("error", reject);
    req.end(opts.body);
  });
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}
