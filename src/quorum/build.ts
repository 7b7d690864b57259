/** The etcd client as ha.cf's vigil_quorum_* directives describe it (the PEM files are read once, at start). */
import { readFile } from 'node:fs/promises';
import type { CompiledConfig } from '../config/types.js';
import { VigilError, errorMessage } from '../util/errors.js';
import { QuorumClient } from './client.js';
import { EtcdHttp } from './etcd-http.js';

export async function buildQuorumClient(config: CompiledConfig): Promise<QuorumClient | undefined> {
  const v = config.hacf.vigil;
  if (v.quorum !== 'etcd') return undefined;
  const pem = async (what: string, path: string): Promise<Buffer | undefined> => {
    if (path === '') return undefined;
    try {
      return await readFile(path);
    } catch (e) {
      throw new VigilError('VIGIL_ERR_QUORUM', `cannot read the etcd ${what} ${path}: ${errorMessage(e)}`);
    }
  };
  const [ca, cert, key] = await Promise.all([
    pem('CA (vigil_quorum_ca)', v.quorumCa),
    pem('client certificate (vigil_quorum_cert)', v.quorumCert),
    pem('client key (vigil_quorum_key)', v.quorumKey),
  ]);
  // Renewals go out every TTL/5: one attempt at one member must fail well within that, so the next member is tried.
  const step = Math.floor(v.quorumTtlMs / 5);
  const http = new EtcdHttp({
    endpoints: v.quorumEndpoints,
    tls: {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
    },
    timeoutMs: Math.min(1000, Math.floor(step / 2)),
  });
  return new QuorumClient({
    http,
    prefix: v.quorumPrefix === '/' ? '' : v.quorumPrefix,
    node: config.hacf.localNode,
    ttlMs: v.quorumTtlMs,
    probeEveryMs: step,
  });
}
