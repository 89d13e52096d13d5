/**
 * A lab-side TLS front for a Matrix server's federation listener that refuses the federation key endpoints
 * (GET /user/devices/{userId}, POST /user/keys/query and /user/keys/claim: 404 M_UNRECOGNIZED) and passes
 * everything else to the server unchanged — the E2E-DM negative control "key endpoints disabled"
 * (lab setting e2eeKeyEndpointsOff), which neither Synapse nor Dendrite has a switch for. It runs as its own
 * process, started and stopped by the lab like the servers (by PID, with its config file as the marker).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest, Agent } from 'node:http';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnServer, type LabProcess } from '../processes.ts';
import type { OrganisationPlan } from './adapter.ts';

/** Server-Server API §End-to-End Encryption and §Device Management: where a peer fetches a user's device keys. */
export const refusedKeyPaths = /^\/_matrix\/federation\/(v\d+|unstable\/[^/]+)\/user\/(keys\/(query|claim)|devices\/)/;

interface FilterConfig {
  address: string;
  port: number;
  backendPort: number;
  chainFile: string;
  keyFile: string;
}

/** Start the filter on plan.address:`port` in front of the server's plain-HTTP federation listener on `backendPort`. */
export function startFederationFilter(plan: OrganisationPlan, port: number, backendPort: number): LabProcess {
  const configFile = join(plan.dir, 'federation-filter.json');
  const config: FilterConfig = { address: plan.address, port, backendPort, chainFile: plan.tls.chainFile, keyFile: plan.tls.keyFile };
  writeFileSync(configFile, JSON.stringify(config));
  return spawnServer({
    name: `federation-filter-${plan.name}`,
    command: process.execPath,
    args: ['--import', import.meta.resolve('tsx'), fileURLToPath(import.meta.url), configFile],
    marker: configFile,
    logFile: join(plan.dir, 'federation-filter.log'),
  });
}

function serve(config: FilterConfig): void {
  const agent = new Agent({ keepAlive: true });
  const server = createServer({ cert: readFileSync(config.chainFile), key: readFileSync(config.keyFile) }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (refusedKeyPaths.test(path)) {
      console.log(`${new Date().toISOString()} refused ${req.method} ${path}`);
      req.resume();
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }));
      return;
    }
    const upstream = httpRequest({ host: config.address, port: config.backendPort, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', (error) => {
      console.log(`${new Date().toISOString()} backend error for ${req.method} ${path}: ${error.message}`);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  server.listen(config.port, config.address, () => console.log(`federation filter on ${config.address}:${config.port} → :${config.backendPort}, refusing ${refusedKeyPaths}`));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) serve(JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as FilterConfig);
