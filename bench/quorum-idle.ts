/**
 * `node dist/bench/quorum-idle.js [--seconds S] [--warmup S] [--prefix P]`: what the etcd client costs an idle
 * daemon. A 2-node lab with a 3-member etcd; Vigil first with vigil_quorum etcd, then without, on the same lab; RSS
 * and CPU of both daemons averaged over S seconds after a warm-up. Prints one JSON line per run.
 */
import { readFile } from 'node:fs/promises';
import { VigilDriver } from '../lab/drivers/vigil.js';
import { etcdEndpoints, startEtcdCluster } from '../lab/etcd.js';
import { sleep } from '../lab/exec.js';
import { tutorialSpec } from '../lab/scenario.js';
import { Lab } from '../lab/topology.js';

const arg = (n: string, d: number): number => {
  const i = process.argv.indexOf(n);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const prefixArg = (): string => {
  const i = process.argv.indexOf('--prefix');
  return i >= 0 ? (process.argv[i + 1] ?? 'quo3') : 'quo3';
};

async function sample(pid: number): Promise<{ cpuTicks: number; rssKb: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rss = /VmRSS:\s+(\d+)/.exec(status)?.[1] ?? '0';
  return { cpuTicks: Number(stat[11]) + Number(stat[12]), rssKb: Number(rss) };
}

async function measure(lab: Lab, driver: VigilDriver, seconds: number): Promise<{ cpuPct: number; rssMb: number }[]> {
  const out: { cpuPct: number; rssMb: number }[] = [];
  for (const n of lab.nodes) {
    const [pid] = await driver.daemonPids(lab, n);
    if (pid === undefined) throw new Error(`no daemon on ${n}`);
    const a = await sample(pid);
    let rss = 0;
    for (let s = 0; s < seconds; s++) {
      await sleep(1000);
      rss += (await sample(pid)).rssKb;
    }
    const b = await sample(pid);
    out.push({ cpuPct: ((b.cpuTicks - a.cpuTicks) / 100 / seconds) * 100, rssMb: rss / seconds / 1024 });
  }
  return out;
}

const seconds = arg('--seconds', 60);
const warmup = arg('--warmup', 60);
const lab = await Lab.up({ prefix: prefixArg(), nodes: 2, etcd: 3 });
const driver = new VigilDriver();
try {
  await startEtcdCluster(lab, 'linux1');
  for (const quorum of [true, false]) {
    const spec = {
      ...tutorialSpec(2, 1000, 10_000, true, undefined),
      ...(quorum ? { vigilQuorum: { endpoints: etcdEndpoints(lab), prefix: '/vigil/idle' } } : {}),
    };
    await driver.configure(lab, spec);
    for (const n of lab.nodes) await driver.start(lab, n);
    await sleep(warmup * 1000);
    const m = await measure(lab, driver, seconds);
    process.stdout.write(JSON.stringify({ quorum, seconds, warmup, nodes: m }) + '\n');
    for (const n of lab.nodes) await driver.stop(lab, n);
  }
} finally {
  await lab.down();
}
