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
