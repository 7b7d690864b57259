/**
 * `dnsupdate`: a name follows the resource group across sites through RFC 2136 dynamic updates signed with TSIG.
 *
 * start, on each primary in parallel: read the name's A/AAAA records (a query to the primary itself), then one
 * update whose prerequisite is exactly what was read (RFC 2136 §2.4.2 "RRset exists, value dependent", or §2.4.3
 * "RRset does not exist") and which replaces those RRsets with this node's addresses: a compare-and-swap. If another
 * node changed the name between our read and our update, the server refuses it (NXRRSET/YXRRSET) and we do not
 * overwrite theirs: a split brain ends with the first writer's address, not with the name flapping. Then the
 * primary is asked again and must serve our addresses.
 * status: what the primaries serve. stop: nothing (`stop=keep`; the next holder overwrites) or, with
 * `stop=delete`, the records are removed where they still point here (the same compare-and-swap).
 */
import { randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DnsRecordType,
  type DnsServerSpec,
  type DnsUpdateSpec,
  DNS_DEFAULTS,
  dnsAddressesFor,
} from '../config/geo-resources.js';
import { VigilError, errorMessage } from '../util/errors.js';
import type { OpResult, ResourceAgent, StatusResult } from './agent.js';
import { describeServer, exchange } from './dns-client.js';
import {
  OPCODE_QUERY,
  OPCODE_UPDATE,
  decodeMessage,
  emptyRecord,
  encodeMessage,
  rcodeName,
  type Answer,
  type StringAnswer,
} from './dns-wire.js';
import { type TsigKey, parseTsigKeyFile, signMessage, verifyResponse } from './tsig.js';

export interface DnsUpdateContext {
  /** This node (lowercase): whose addresses are published. */
  readonly node: string;
  readonly configDir: string;
  readonly log: (level: 'info' | 'WARN' | 'ERROR', text: string) => void;
  /** Wall clock, ms since the epoch (TSIG's time signed). */
  readonly wallNow?: () => number;
}

/** What one name holds, per managed type: addresses sorted, and the TTL they were served with. */
export type RecordSets = Partial<Record<DnsRecordType, { readonly values: readonly string[]; readonly ttl: number }>>;

export type ServerOutcome =
  | {
      readonly server: string;
      readonly kind: 'updated' | 'already';
      readonly ackMs: number;
      readonly verifiedMs: number;
      readonly before: string;
    }
  | { readonly server: string; readonly kind: 'conflict'; readonly current: string }
  | { readonly server: string; readonly kind: 'error'; readonly why: string };

const FLAG_AA = 0x0400;

function describeSets(sets: RecordSets, types: readonly DnsRecordType[]): string {
  const parts = types.flatMap((t) => (sets[t]?.values ?? []).map((v) => `${t} ${v}`));
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function keyFileOf(dns: DnsUpdateSpec, configDir: string): string {
  return dns.keyFile ?? join(configDir, DNS_DEFAULTS.keyFileName);
}

export class DnsUpdateAgent implements ResourceAgent {
  readonly keyFile: string;
  /** The last start's outcome per server, for status text and the lab. */
  lastStart: readonly ServerOutcome[] = [];

  constructor(
    readonly spec: string,
    readonly dns: DnsUpdateSpec,
    private ctx: DnsUpdateContext,
  ) {
    this.keyFile = keyFileOf(dns, ctx.configDir);
  }

  reconfigure(ctx: DnsUpdateContext): void {
    this.ctx = ctx;
  }

  /** Our desired record sets (sorted values per managed type; a type we have no address of: empty). */
  desired(): RecordSets {
    const mine = dnsAddressesFor(this.dns, this.ctx.node);
    if (mine === undefined) {
      throw new VigilError(
        'VIGIL_ERR_RSC_ARGS',
        `${this.spec}: node ${this.ctx.node} has no address here (give ${this.ctx.node}=<address>)`,
      );
    }
    const out: RecordSets = {};
    for (const t of this.dns.types) {
      out[t] = { values: mine.filter((a) => (t === 'A') === !a.includes(':')).sort(), ttl: this.dns.ttl };
    }
    return out;
  }

  async key(): Promise<TsigKey> {
    let text: string;
    try {
      text = await readFile(this.keyFile, 'utf8');
    } catch (e) {
      throw new VigilError('VIGIL_ERR_DNS_KEY', `cannot read TSIG key file ${this.keyFile}: ${errorMessage(e)}`);
    }
    return parseTsigKeyFile(text, this.keyFile);
  }

  private wallSec(): number {
    return (this.ctx.wallNow?.() ?? Date.now()) / 1000;
  }

  /** The record sets a server serves for the name (authoritatively), one query per managed type, in parallel. */
  async read(server: DnsServerSpec, deadline: number): Promise<RecordSets> {
    const out: RecordSets = {};
    await Promise.all(
      this.dns.types.map(async (type) => {
        const q = encodeMessage({
          type: 'query',
          id: randomInt(65_536),
          flags: OPCODE_QUERY << 11,
          questions: [{ name: this.dns.name, type, class: 'IN' }],
        });
        const reply = decodeMessage(await exchange(server, q, { deadline }));
        const rcode = (reply.flags ?? 0) & 0xf;
        if (rcode !== 0 && rcode !== 3) {
          throw new VigilError(
            'VIGIL_ERR_DNS',
            `${describeServer(server)} answered ${rcodeName(rcode)} to ${type} ${this.dns.name}`,
          );
        }
        if (((reply.flags ?? 0) & FLAG_AA) === 0) {
          throw new VigilError(
            'VIGIL_ERR_DNS',
            `${describeServer(server)} is not authoritative for ${this.dns.name} (no AA flag): name the zone's primary in server=`,
          );
        }
        const rrs = (reply.answers ?? []).filter((a) => a.name.toLowerCase() === this.dns.name);
        if (rrs.some((a) => a.type === 'CNAME')) {
          throw new VigilError(
            'VIGIL_ERR_DNS',
            `${this.dns.name} is a CNAME on ${describeServer(server)}: an address record cannot be added`,
          );
        }
        const mine = rrs.filter((a): a is StringAnswer => a.type === type);
        out[type] = {
          values: mine.map((a) => a.data.toLowerCase()).sort(),
          ttl: mine[0]?.ttl ?? 0,
        };
      }),
    );
    return out;
  }

  /**
   * The signed update that turns `current` into `want`: the prerequisite is `current` exactly, each managed RRset is
   * deleted and `want`'s records added (RFC 2136 §2.5.2, §2.5.1), in one message, so the change is atomic.
   */
  private buildUpdate(current: RecordSets, want: RecordSets, key: TsigKey): { message: Buffer; mac: Buffer } {
    const prereq: Answer[] = [];
    const none: number[] = [];
    const updates: Answer[] = [];
    for (const t of this.dns.types) {
      const cur = current[t]?.values ?? [];
      if (cur.length === 0) {
        none.push(prereq.length);
        prereq.push(emptyRecord(this.dns.name, t));
      } else {
        for (const v of cur) prereq.push({ name: this.dns.name, type: t, class: 'IN', ttl: 0, data: v });
      }
      updates.push(emptyRecord(this.dns.name, t));
      for (const v of want[t]?.values ?? [])
        updates.push({ name: this.dns.name, type: t, class: 'IN', ttl: this.dns.ttl, data: v });
    }
    const msg = encodeMessage(
      {
        type: 'query',
        id: randomInt(65_536),
        flags: OPCODE_UPDATE << 11,
        questions: [{ name: this.dns.zone, type: 'SOA', class: 'IN' }],
        answers: prereq,
        authorities: updates,
      },
      { noneClassAnswers: none },
    );
    return signMessage(msg, key, this.wallSec());
  }

  /**
   * One signed compare-and-swap: `current` → `want`. Resolves to the rcode (0 done, NXRRSET/YXRRSET: the name no
   * longer holds `current`) once the answer's TSIG checks out.
   */
  async compareAndSwap(
    server: DnsServerSpec,
    current: RecordSets,
    want: RecordSets,
    key: TsigKey,
    deadline: number,
  ): Promise<number> {
    const signed = this.buildUpdate(current, want, key);
    const raw = await exchange(server, signed.message, { deadline });
    const rcode = raw.readUInt16BE(2) & 0xf;
    const v = verifyResponse(raw, key, signed.mac, this.wallSec());
    if (!v.ok) {
      throw new VigilError('VIGIL_ERR_DNS', `${describeServer(server)} answered ${rcodeName(rcode)}: ${v.why}`);
    }
    return rcode;
  }

  /** Compare-and-swap on one server (see the module comment). */
  async publish(
    server: DnsServerSpec,
    want: RecordSets,
    key: TsigKey,
    t0: number,
    deadline: number,
  ): Promise<ServerOutcome> {
    const name = describeServer(server);
    try {
      const current = await this.read(server, deadline);
      const before = describeSets(current, this.dns.types);
      const same = this.dns.types.every(
        (t) =>
          sameValues(current[t]?.values ?? [], want[t]?.values ?? []) &&
          ((want[t]?.values.length ?? 0) === 0 || current[t]?.ttl === this.dns.ttl),
      );
      if (same) {
        const ms = performance.now() - t0;
        return { server: name, kind: 'already', ackMs: ms, verifiedMs: ms, before };
      }
      const rcode = await this.compareAndSwap(server, current, want, key, deadline);
      const ackMs = performance.now() - t0;
      if (rcode !== 0 && rcode !== 7 && rcode !== 8) {
        throw new VigilError(
          'VIGIL_ERR_DNS',
          `${name} refused the update: ${rcodeName(rcode)}${rcode === 5 ? ' (is the key allowed to update this name? allow-update / update-policy / acl)' : ''}`,
        );
      }
      const after = await this.read(server, deadline);
      const verifiedMs = performance.now() - t0;
      const served = this.dns.types.every((t) => sameValues(after[t]?.values ?? [], want[t]?.values ?? []));
      if (served) return { server: name, kind: rcode === 0 ? 'updated' : 'already', ackMs, verifiedMs, before };
      if (rcode !== 0) return { server: name, kind: 'conflict', current: describeSets(after, this.dns.types) };
      throw new VigilError(
        'VIGIL_ERR_DNS',
        `${name} acknowledged the update but serves ${describeSets(after, this.dns.types)}`,
      );
    } catch (e) {
      return { server: name, kind: 'error', why: errorMessage(e) };
    }
  }

  /** What an operation needs first: this node's records and the key, or why it cannot have them. */
  private async prepare(): Promise<{ want: RecordSets; key: TsigKey; t0: number; deadline: number } | string> {
    const t0 = performance.now();
    try {
      return { want: this.desired(), key: await this.key(), t0, deadline: t0 + this.dns.timeoutMs };
    } catch (e) {
      return errorMessage(e);
    }
  }

  async start(): Promise<OpResult> {
    const p = await this.prepare();
    if (typeof p === 'string') return { ok: false, rc: 1, detail: p };
    const { want, key, t0, deadline } = p;
    const results = await Promise.all(this.dns.servers.map((s) => this.publish(s, want, key, t0, deadline)));
    this.lastStart = results;
    const target = `${this.dns.name} → ${describeSets(want, this.dns.types)} (ttl ${this.dns.ttl})`;
    for (const r of results) {
      switch (r.kind) {
        case 'updated':
        case 'already':
          this.ctx.log(
            'info',
            `dnsupdate: ${target} on ${r.server}: ${r.kind === 'updated' ? `updated (was ${r.before})` : 'already served'}, acknowledged in ${r.ackMs.toFixed(1)} ms, verified in ${r.verifiedMs.toFixed(1)} ms`,
          );
          break;
        case 'conflict':
          this.ctx.log(
            'ERROR',
            `dnsupdate: ${target} on ${r.server}: another node changed the name meanwhile (it now serves ${r.current}); not overwriting it`,
          );
          break;
        case 'error':
          this.ctx.log('ERROR', `dnsupdate: ${target} on ${r.server}: ${r.why}`);
          break;
      }
    }
    const conflicts = results.filter((r) => r.kind === 'conflict');
    const good = results.filter((r) => r.kind === 'updated' || r.kind === 'already');
    if (conflicts.length > 0) {
      return {
        ok: false,
        rc: 1,
        detail: `dnsupdate ${this.dns.name}: another node moved the name at the same time on ${conflicts.map((c) => c.server).join(', ')}`,
      };
    }
    if (good.length === 0) {
      return {
        ok: false,
        rc: 1,
        detail: `dnsupdate ${this.dns.name}: no primary took the update (${results.map((r) => (r.kind === 'error' ? `${r.server}: ${r.why}` : r.server)).join('; ')})`,
      };
    }
    return { ok: true, rc: 0, detail: '' };
  }

  async stop(): Promise<OpResult> {
    if (this.dns.stop === 'keep') return { ok: true, rc: 0, detail: '' };
    // A record that cannot be removed must not hold the failover up: the next holder overwrites it anyway.
    const p = await this.prepare();
    if (typeof p === 'string') {
      this.ctx.log('ERROR', `dnsupdate: cannot remove ${this.dns.name}: ${p}`);
      return { ok: true, rc: 0, detail: '' };
    }
    const { want, key, t0, deadline } = p;
    const empty: RecordSets = Object.fromEntries(this.dns.types.map((t) => [t, { values: [], ttl: 0 }]));
    await Promise.all(
      this.dns.servers.map(async (server) => {
        const name = describeServer(server);
        try {
          const current = await this.read(server, deadline);
          const ours = this.dns.types.every((t) => sameValues(current[t]?.values ?? [], want[t]?.values ?? []));
          if (!ours) {
            this.ctx.log(
              'info',
              `dnsupdate: ${this.dns.name} on ${name} serves ${describeSets(current, this.dns.types)}, not this node's: left as is`,
            );
            return;
          }
          const rcode = await this.compareAndSwap(server, current, empty, key, deadline);
          this.ctx.log(
            rcode === 0 ? 'info' : 'WARN',
            rcode === 0
              ? `dnsupdate: ${this.dns.name} removed on ${name} in ${(performance.now() - t0).toFixed(1)} ms`
              : `dnsupdate: ${this.dns.name} not removed on ${name}: ${rcodeName(rcode)} (changed meanwhile)`,
          );
        } catch (e) {
          this.ctx.log('ERROR', `dnsupdate: cannot remove ${this.dns.name} on ${name}: ${errorMessage(e)}`);
        }
      }),
    );
    return { ok: true, rc: 0, detail: '' };
  }

  /** Running when a primary serves exactly this node's addresses and no primary that answers serves others. */
  async status(): Promise<StatusResult> {
    const deadline = performance.now() + this.dns.timeoutMs;
    let want: RecordSets;
    try {
      want = this.desired();
    } catch (e) {
      return { running: false, text: errorMessage(e) };
    }
    const seen = await Promise.all(
      this.dns.servers.map(async (s) => {
        try {
          const cur = await this.read(s, deadline);
          const ours = this.dns.types.every((t) => sameValues(cur[t]?.values ?? [], want[t]?.values ?? []));
          return { server: describeServer(s), ours, text: describeSets(cur, this.dns.types) };
        } catch (e) {
          return { server: describeServer(s), ours: undefined, text: errorMessage(e) };
        }
      }),
    );
    const running = seen.some((x) => x.ours === true) && !seen.some((x) => x.ours === false);
    const text = seen.map((x) => `${x.server}: ${x.text}`).join('; ');
    return { running, text: `${this.dns.name} ${running ? 'is running here' : 'is not running here'} (${text})` };
  }
}
