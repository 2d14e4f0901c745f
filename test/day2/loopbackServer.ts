/** An HTTP server on a free loopback port for a test's installer downloads; `base` is its URL. */
import * as http from "http";
import { AddressInfo } from "net";

export async function serveOnLoopback(
  handler: http.RequestListener,
): Promise<{ server: http.Server; base: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
