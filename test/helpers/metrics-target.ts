import { createServer } from 'node:http';

/** A tiny scrape target: serves the given gauges in the Prometheus text format at /metrics. */
export async function startMetricsTarget(gauges: Record<string, number>): Promise<{ address: string; set(name: string, v: number): void; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    const body = Object.entries(gauges).map(([series, v]) => `${series} ${v}`).join('\n');
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(`${body}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    address: `127.0.0.1:${port}`,
    set: (name, v) => (gauges[name] = v),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
