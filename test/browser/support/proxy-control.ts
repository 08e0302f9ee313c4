/**
 * Lets component tests (in the browser) cut their own signaling: an HTTP endpoint on 127.0.0.1 that
 * makes a TCP proxy in front of one of the named relays (POST /proxy?to=NAME -> {"url":
 * "ws://127.0.0.1:PORT/ws"}) and cuts it
 * (POST /proxy/PORT/cut?ms=N: every connection reset, new ones refused for N ms; answered at once).
 * Each test makes its own proxy, so a cut touches only that test's rooms.
 */
import { createServer } from "node:http";
import { startTcpProxy, type TcpProxy } from "../../support/tcp-proxy.ts";

export interface ProxyControl {
  url: string;
  close(): Promise<void>;
}

/** `relays`: name -> HTTP/WebSocket port. */
export async function startProxyControl(relays: Record<string, number>): Promise<ProxyControl> {
  const proxies = new Map<number, TcpProxy>();
  const server = createServer((req, res) => {
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("content-type", "application/json");
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const cut = /^\/proxy\/(\d+)\/cut$/.exec(url.pathname);
    const target = relays[url.searchParams.get("to") ?? ""];
    if (req.method === "POST" && url.pathname === "/proxy" && target !== undefined) {
      void startTcpProxy(target).then((proxy) => {
        proxies.set(proxy.port, proxy);
        res.end(JSON.stringify({ url: `ws://127.0.0.1:${proxy.port}/ws` }));
      });
    } else if (req.method === "POST" && cut) {
      const proxy = proxies.get(Number(cut[1]));
      const ms = Number(url.searchParams.get("ms"));
      if (!proxy || !Number.isInteger(ms) || ms < 0) {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: "POST /proxy/PORT/cut?ms=N with the port of a proxy made here" }));
        return;
      }
      void proxy.cut(ms);
      res.end(JSON.stringify({ cut: ms }));
    } else {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: `POST /proxy?to=(${Object.keys(relays).join("|")}) or /proxy/PORT/cut?ms=N` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await Promise.all([...proxies.values()].map((p) => p.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
