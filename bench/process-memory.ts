import { readFileSync, readdirSync } from 'node:fs';

/** Resident set size of a process in MB, from /proc/<pid>/status (VmRSS). Linux only. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Math.round((Number(kb) / 1024) * 10) / 10;
}

/** Every descendant of `pid` with its command name (the stack spawns DynamoDB Local's java as a child). */
export function descendants(pid: number): Array<{ pid: number; comm: string }> {
  const parents = new Map<number, number[]>();
  const names = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // comm is in parentheses and may contain spaces; ppid follows the state after the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      names.set(Number(entry), comm);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // The process exited while we looked.
    }
  }
  const found: Array<{ pid: number; comm: string }> = [];
  const queue = [...(parents.get(pid) ?? [])];
  while (queue.length > 0) {
    const child = queue.shift()!;
    found.push({ pid: child, comm: names.get(child) ?? '?' });
    queue.push(...(parents.get(child) ?? []));
  }
  return found;
}

/** RSS of the stack's own (node) process and of its DynamoDB Local JVM. */
export function stackMemory(stackPid: number): { emulatorMb: number; javaMb: number | null } {
  const java = descendants(stackPid).find((p) => p.comm === 'java');
  return { emulatorMb: rssMb(stackPid), javaMb: java ? rssMb(java.pid) : null };
}

/** CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat (clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the state field.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Waits until the process has used less than `maxShare` of one core over a
 * `windowMs` window (e.g. the $disconnect burst after closing sockets has
 * drained), or `timeoutMs` passed. Returns how long it waited.
 */
export async function waitForQuiet(pid: number, maxShare = 0.2, windowMs = 500, timeoutMs = 15_000): Promise<number> {
  const started = performance.now();
  for (;;) {
    const before = cpuMs(pid);
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const share = (cpuMs(pid) - before) / windowMs;
    const waited = performance.now() - started;
    if (share < maxShare || waited > timeoutMs) return Math.round(waited);
  }
}
