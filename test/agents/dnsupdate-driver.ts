/**
 * Runs one dnsupdate operation inside a test namespace (the test process itself lives in the root namespace, which
 * gets no interface): `node dnsupdate-driver.js '{"spec":"dnsupdate::...","node":"linux1","configDir":"...","op":"start"}'`.
 * Prints one JSON line: the operation's result and what the agent logged.
 */
import { execSync } from 'node:child_process';
import { DnsUpdateAgent } from '../../src/agents/dnsupdate.js';
import { parseResource } from '../../src/config/haresources.js';

interface Request {
  readonly spec: string;
  readonly node: string;
  readonly configDir: string;
  /** race: read the name, let `between` (a shell command, e.g. nsupdate) change it, then swap from the stale read. */
  readonly op: 'start' | 'stop' | 'status' | 'race';
  readonly between?: string;
  /** Seconds added to the wall clock (TSIG time), to test BADTIME. */
  readonly skewSec?: number;
}

const arg = process.argv[2];
if (arg === undefined) {
  // `node --test dist/test/` loads every file under test/ as a test file: without a request there is nothing to run.
  process.exit(0);
}
const req = JSON.parse(arg) as Request;
const r = parseResource(req.spec);
if (typeof r === 'string' || r.dns === undefined) {
  process.stdout.write(JSON.stringify({ error: typeof r === 'string' ? r : 'not a dnsupdate resource' }) + '\n');
  process.exit(2);
}
const logs: { level: string; text: string }[] = [];
const agent = new DnsUpdateAgent(r.spec, r.dns, {
  node: req.node,
  configDir: req.configDir,
  log: (level, text) => logs.push({ level, text }),
  wallNow: () => Date.now() + (req.skewSec ?? 0) * 1000,
});
const t0 = performance.now();
async function race(): Promise<unknown> {
  const server = agent.dns.servers[0]!;
  const deadline = performance.now() + 5000;
  const key = await agent.key();
  const stale = await agent.read(server, deadline);
  execSync(req.between ?? 'true', { stdio: 'ignore' });
  const rcode = await agent.compareAndSwap(server, stale, agent.desired(), key, deadline);
  return { rcode, after: await agent.read(server, deadline) };
}
const result =
  req.op === 'start'
    ? await agent.start()
    : req.op === 'stop'
      ? await agent.stop()
      : req.op === 'race'
        ? await race()
        : await agent.status();
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ result, logs, ms, outcomes: agent.lastStart }) + '\n');
