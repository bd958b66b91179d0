// CPU accounting for a local server process (Linux /proc): which child
// process listens on a port, and how much CPU it has used so far. Used to
// report workerd CPU per request, which is steadier than throughput on a
// shared machine (it does not count the time the process waited for a core).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {}

function listeningInodes(port) {
  const inodes = new Set();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 10) continue;
      const localPort = parseInt(c[1].split(':')[1], 16);
      if (localPort === port && c[3] === '0A') inodes.add(c[9]);
    }
  }
  return inodes;
}

/** The pid (among all processes we can see) holding the listening socket on `port`, or undefined. */
export function pidListeningOn(port) {
  const inodes = listeningInodes(port);
  if (!inodes.size) return undefined;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let fds;
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
        if (m && inodes.has(m[1])) return Number(pid);
      } catch {}
    }
  }
  return undefined;
}

/** CPU seconds (user + system) used by `pid` so far, or NaN. */
export function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / clkTck;
  } catch {
    return NaN;
  }
}
