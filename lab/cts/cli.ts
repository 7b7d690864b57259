/**
 * `npm run cts -- [--impl heartbeat|vigil|mixed] [--iterations N] [--seed S] [--minutes M] [--json] [--out FILE]`
 * runs Heartbeat's Cluster Test Suite in the lab and prints test × pass/fail with the first failing log excerpt of
 * each failing test. `--report FILE...` prints the table of saved results instead (JSON, or JSON gzipped).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Command, Option } from 'commander';
import { errorMessage, VigilError } from '../../src/util/errors.js';
import { formatTable } from './results.js';
import { INSIDE } from './host.js';
import { CTS_IMPLS, runCampaign, setUpCtsLab, TIMINGS, type CampaignResult, type CtsImpl } from './run.js';

function describe(r: CampaignResult): string {
  const nodes = Object.entries(r.nodes)
    .map(([n, i]) => `${n} ${i}`)
    .join(', ');
  const t = r.seconds >= 3600 ? `${(r.seconds / 3600).toFixed(1)} h` : `${Math.round(r.seconds / 60)} min`;
  const its = r.runs.length === r.iterations ? `${r.iterations}` : `${r.runs.length} of ${r.iterations}`;
  return `CTS against ${r.impl} (${nodes}): ${its} iterations, seed ${r.seed}, ${t}; CTS ${
    r.ctsCompleted ? 'completed' : `did not complete (exit ${String(r.exitCode)})`
  }`;
}

export function reportText(r: CampaignResult): string {
  const lines = [formatTable(r.rows, describe(r))];
  if (r.setup.badNews.length > 0 || r.setup.auditFailures.length > 0)
    lines.push(
      '',
      `Before the first test: BadNews ${r.setup.badNews.length}, audits failed ${r.setup.auditFailures.length}`,
    );
  if (r.cutShort !== undefined)
    lines.push('', `Stopped during ${r.cutShort.test} (iteration ${r.cutShort.n}, not counted)`);
  if (r.fatal.length > 0) lines.push('', 'CTS reported:', ...r.fatal.map((f) => `  ${f}`));
  if (r.power.length > 0)
    lines.push(
      '',
      `Power cycles (STONITH resets): ${r.power.length} (${r.power.filter((p) => p.bootedAt !== undefined).length} booted again)`,
    );
  return lines.join('\n');
}

async function readResult(file: string): Promise<CampaignResult> {
  const raw = await readFile(file);
  const text = file.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
  return JSON.parse(text) as CampaignResult;
}

/** The lab as a campaign would find it, held until a signal, for looking around (and running CTS by hand). */
async function hold(impl: CtsImpl, prefix: string): Promise<number> {
  const cl = await setUpCtsLab(impl, prefix);
  try {
    process.stdout.write(`CTS lab ${prefix} up (${impl}); enter a host with:\n`);
    for (const h of cl.hosts) process.stdout.write(`  ${h.name}: nsenter ${(await h.enter()).join(' ')} bash\n`);
    process.stdout.write(
      `run CTS on the exerciser: cd ${INSIDE}/cts && CTS_CM=${impl === 'heartbeat' ? 'heartbeat' : 'vigil'} ./cts-run.py -D /etc/ha.d -L /var/log/ha-log 3\nCtrl-C tears it down.\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  } finally {
    await cl.down();
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const program = new Command('cts')
    .description("Heartbeat's own Cluster Test Suite against Heartbeat 3.0.6, Vigil, or one of each, in the lab")
    .addOption(new Option('--impl <impl>', 'cluster manager on the nodes').choices(CTS_IMPLS).default('vigil'))
    .option('--iterations <n>', 'CTS iterations (random tests)', '10')
    .option('--seed <s>', "CTS's random seed (same seed, same sequence of tests and nodes)", '1')
    .option('--prefix <p>', 'lab prefix', 'cts')
    .option('--json', 'print the whole result as JSON')
    .option('--out <file>', 'also write the result there (JSON; gzipped when the name ends in .gz)')
    .option('--logs <dir>', "keep CTS's output and the exerciser's log there")
    .option('--choose <test>', "CTS's --choose: run only this test")
    .option('--minutes <m>', 'stop CTS after this many minutes (the test it is in then is not counted)')
    .option('--quiet', "do not echo CTS's lines while it runs")
    .option('--report <files...>', 'print the table of saved results and run nothing')
    .option('--hold', 'set the lab up (CTS ready on the exerciser), print how to enter each host, wait for Ctrl-C')
    .exitOverride();
  program.parse(argv, { from: 'user' });
  const o = program.opts<{
    impl: CtsImpl;
    iterations: string;
    seed: string;
    prefix: string;
    json?: boolean;
    out?: string;
    logs?: string;
    quiet?: boolean;
    choose?: string;
    minutes?: string;
    report?: string[];
    hold?: boolean;
  }>();
  if (o.report !== undefined) {
    for (const f of o.report) {
      const r = await readResult(f);
      process.stdout.write(`${o.json === true ? JSON.stringify(r, null, 2) : reportText(r)}\n\n`);
    }
    return 0;
  }
  if (o.hold === true) return hold(o.impl, o.prefix);
  if (!/^\d+$/.test(o.iterations)) throw new VigilError('VIGIL_ERR_USAGE', `--iterations must be a number`);
  if (o.minutes !== undefined && !/^\d+$/.test(o.minutes))
    throw new VigilError('VIGIL_ERR_USAGE', `--minutes must be a whole number`);
  const r = await runCampaign({
    impl: o.impl,
    iterations: Number(o.iterations),
    seed: o.seed,
    prefix: o.prefix,
    ...(o.logs !== undefined ? { keepDir: o.logs } : {}),
    ...(o.choose !== undefined ? { choose: o.choose } : {}),
    ...(o.minutes !== undefined ? { timeLimitMs: Number(o.minutes) * 60_000 } : {}),
    ...(o.quiet === true || o.json === true
      ? {}
      : {
          onLine: (l: string) => {
            process.stderr.write(`${l}\n`);
          },
        }),
  });
  if (o.out !== undefined) {
    await mkdir(dirname(o.out), { recursive: true });
    const text = JSON.stringify(r, null, 1);
    await writeFile(o.out, o.out.endsWith('.gz') ? gzipSync(text) : `${text}\n`);
  }
  process.stdout.write(o.json === true ? `${JSON.stringify(r, null, 2)}\n` : `${reportText(r)}\n`);
  process.stderr.write(
    `ha.cf: keepalive ${TIMINGS.keepalive}, warntime ${TIMINGS.warntime}, deadtime ${TIMINGS.deadtime}, initdead ${TIMINGS.initdead}\n`,
  );
  return r.ctsCompleted && r.rows.every((row) => row.fail === 0) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof Error && 'code' in e && String((e as { code: unknown }).code).startsWith('commander.')) {
      process.exitCode = (e as { exitCode?: number }).exitCode ?? 2;
      return;
    }
    process.stderr.write(`vigil lab cts: ${errorMessage(e)}\n`);
    process.exitCode = 2;
  },
);
