import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProductLacks } from '../verdict/failure.ts';
import type { Progress } from './native/adapter.ts';
import type { ControlRequest, RunningLab } from './provider.ts';
import { organisationNames } from './types.ts';

/** Where scenario workers reach the lab's lifecycle controls (loopback only, per-run token). */
export interface ControlEndpoint {
  url: string;
  token: string;
}

const actions = new Set(['stop', 'start', 'restart', 'reconfigure']);

/**
 * Scenarios run in vitest worker processes; the lab lives in the runner's process. This small HTTP
 * endpoint on 127.0.0.1 carries a scenario's "restart org-b" to the lab and answers once it is done.
 */
export async function serveLabControls(lab: RunningLab, progress: Progress): Promise<{ endpoint: ControlEndpoint; close(): Promise<void> }> {
  const token = randomBytes(16).toString('hex');
  const server: Server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/control' || req.headers.authorization !== `Bearer ${token}`) return answer(404, { error: 'no such control' });
    let text = '';
    req.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    req.on('end', () => {
      let request: ControlRequest;
      try {
        request = JSON.parse(text) as ControlRequest;
        if (!actions.has(request.action) || !organisationNames.includes(request.org)) throw new Error(`bad control request ${text.slice(0, 200)}`);
      } catch (error) {
        return answer(400, { error: (error as Error).message });
      }
      if (!lab.control) return answer(501, { error: 'this lab offers no lifecycle controls' });
      lab.control(request, progress).then((description) => answer(200, description),
        // 422: the product has no mechanism for the settings asked (ProductLacks), told apart from a lab fault.
        (error: Error) => answer(error instanceof ProductLacks ? 422 : 500, { error: error.message }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: { url: `http://127.0.0.1:${port}/control`, token },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
