// The worker's probes for Kubernetes: /healthz answers while the process serves requests and the
// worker has not failed; /readyz once the worker polls its task queue.
import http from 'node:http';
import type { Worker } from '@temporalio/worker';
import { splitHostPort } from '../config/host-port.ts';

export function serveHealth(listen: string, worker: Worker): http.Server {
  const [host, port] = splitHostPort(listen);
  const server = http.createServer((req, res) => {
    const state = worker.getState();
    const ok = req.url === '/readyz' ? state === 'RUNNING' : req.url === '/healthz' ? state !== 'FAILED' : undefined;
    res.writeHead(ok === undefined ? 404 : ok ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(ok === undefined ? 'not found\n' : `${state}\n`);
  });
  server.listen(port, host);
  return server;
}
