import { createHash } from 'node:crypto';
import { Agent, fetch, type RequestInit, type Response } from 'undici';

// HTTP(S) to Alipay. Production uses the system's trust store; a configured CA (the
// simulator's, with `kauri sim alipay --tls`) replaces it. One keep-alive pool per CA.

const agents = new Map<string, Agent>();

function agentFor(caPem: string | undefined): Agent {
  const key = createHash('sha256')
    .update(caPem ?? '')
    .digest('hex');
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({ keepAliveTimeout: 10_000, connections: 32, connect: caPem ? { ca: caPem } : {} });
    agents.set(key, agent);
  }
  return agent;
}

export function alipayFetch(url: string, init: RequestInit, caPem?: string): Promise<Response> {
  return fetch(url, { ...init, dispatcher: agentFor(caPem) });
}

/** Closes every pooled connection (tests, shutdown). */
export async function closeAlipayAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => a.close()));
}
