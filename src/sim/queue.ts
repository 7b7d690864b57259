/** The simulation's event queue: a binary min-heap on (time, insertion order), so equal times run in order. */

export interface Ev {
  at: number;
  seq: number;
  fn: () => void;
}

/** Binary min-heap on (at, seq). */
export class Queue {
  private h: Ev[] = [];
  push(e: Ev): void {
    const h = this.h;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const hp = h[p];
      if (hp === undefined || less(hp, e)) break;
      h[i] = hp;
      i = p;
    }
    h[i] = e;
  }
  pop(): Ev | undefined {
    const h = this.h;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const hl = h[l];
      const hr = h[r];
      let c = l;
      let hc = hl;
      if (hr !== undefined && hl !== undefined && less(hr, hl)) {
        c = r;
        hc = hr;
      }
      if (hc === undefined || !less(hc, last)) break;
      h[i] = hc;
      i = c;
    }
    h[i] = last;
    return top;
  }
  get size(): number {
    return this.h.length;
  }
}

function less(a: Ev, b: Ev): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
