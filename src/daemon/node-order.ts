/**
 * The order in which Heartbeat's client API (and so `cl_status listnodes`) walks the nodes: the reverse of the
 * order their `node`, `ping` and `ping_group` lines come in ha.cf, normal and ping nodes interleaved. Seen on the
 * real daemon: `node linux2`, `node linux3`, `ping 192.168.1.1`, `node linux1` lists linux1, 192.168.1.1, linux3,
 * linux2. Pure: the caller reads ha.cf.
 */
export function heartbeatNodeOrder(hacfText: string): string[] {
  const names: string[] = [];
  // Logical lines: `\` at the end continues, `#` starts a comment (as the ha.cf parser reads them).
  const text = hacfText.replace(/\\\r?\n/g, ' ');
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [directive, ...args] = line.split(/\s+/);
    if (directive === 'node' || directive === 'ping') names.push(...args.map((a) => a.toLowerCase()));
    else if (directive === 'ping_group' && args[0] !== undefined) names.push(args[0].toLowerCase());
  }
  const seen = new Set<string>();
  return names.reverse().filter((n) => !seen.has(n) && (seen.add(n), true));
}
