/**
 * The lsof reader and the fold run once on a few made-up rows of every common shape before a large
 * capture is read by two threads (capture/tail.ts), on each thread: so that V8's type feedback
 * covers their paths before it optimizes them. Without it, the first row of a kind met after the
 * reader was optimized (an fd past 9999 read "*NNN", the first CLOSE_WAIT, unix or sock row, the
 * second peer of a port) throws the optimized code away, and V8 compiles it again: on the 1M-line
 * socket-heavy capture ~30 such deoptimizations over the two threads (--trace-deopt: "Insufficient
 * type feedback"), each a recompile of the reader's largest functions (row, inet, inPlace:
 * 20-45 ms each of a compiler thread, on a box of two cores that both threads need).
 * What it reads goes to a reader and a fold of its own, thrown away after: nothing of it reaches
 * a report.
 */
import { LineSink } from '../util/skips.js';
import { SocketFold } from './fold.js';
import { CAPTURE_PARSERS } from './parsers.js';

const HEADER = 'COMMAND    PID USER   FD   TYPE             DEVICE SIZE/OFF    NODE NAME';

/** One process's rows as `lsof -n` prints them: files, a pipe, a listener, connections, unix and sock rows, fds past 9999. */
function rows(pid: number): string[] {
  const row = (fd: string, type: string, device: string, size: string, node: string, name: string): string =>
    `warm-up ${String(pid).padStart(5)} root ${fd.padStart(5)} ${type.padEnd(4)} ${device.padStart(18)} ${size.padStart(8)} ${node.padStart(7)} ${name}`;
  const inode = (k: number): string => String(pid * 1000 + k);
  const tcp = (fd: string, k: number, state: string, local = 5432, peer = 40000 + k): string =>
    row(fd, 'IPv4', inode(k), '0t0', 'TCP', `127.0.0.1:${local}->127.0.0.1:${peer} (${state})`);
  const out = [
    row('cwd', 'DIR', '254,0', '4096', '2', '/'),
    row('rtd', 'DIR', '254,0', '4096', '2', '/'),
    row('txt', 'REG', '254,0', '17584', '26723', '/usr/bin/warm-up'),
    row('mem', 'REG', '254,0', '1251248', '29785', '/usr/lib/libc.so.6'),
    row('0u', 'CHR', '136,0', '0t0', '3', '/dev/pts/0'),
    row('1w', 'FIFO', '0,15', '0t0', inode(1), 'pipe'),
    row('2u', 'unix', '0x000000006398cde2', '0t0', inode(2), 'type=STREAM (CONNECTED)'),
    row('3u', 'IPv4', inode(3), '0t0', 'TCP', '127.0.0.1:5432 (LISTEN)'),
    row('4u', 'a_inode', '0,16', '0', '1070', '[eventpoll]'),
  ];
  for (let k = 5; k < 11; k++) out.push(tcp(`${k}u`, k, 'ESTABLISHED'));
  for (let k = 11; k < 17; k++) out.push(tcp(`${k}u`, k, 'CLOSE_WAIT', 40000 + k, 5432));
  for (let k = 17; k < 20; k++) out.push(row(`${k}u`, 'sock', '0,9', '0t0', inode(k), 'protocol: TCP'));
  for (let k = 20; k < 23; k++) out.push(row(`${k}u`, 'unix', '0x00000000e222f011', '0t0', inode(k), 'type=STREAM (CONNECTED)'));
  // fds of 10000 and up: "*NNN"
  for (let k = 23; k < 26; k++) out.push(tcp(`*${String(k).padStart(3, '0')}u`, k, 'ESTABLISHED'));
  for (let k = 26; k < 29; k++) out.push(tcp(`*${String(k).padStart(3, '0')}u`, k, 'CLOSE_WAIT', 40000 + k, 5432));
  for (let k = 29; k < 31; k++) out.push(row(`*${String(k).padStart(3, '0')}u`, 'sock', '0,9', '0t0', inode(k), "can't identify protocol"));
  for (let k = 31; k < 33; k++) out.push(row(`*${String(k).padStart(3, '0')}u`, 'unix', '0x00000000e222f011', '0t0', inode(k), 'type=STREAM (CONNECTED)'));
  return out;
}

/** Reads the made-up rows of a few processes into a reader and fold of their own, as the column reader reads a large capture. */
export function warmUp(): void {
  const sink = new LineSink(false);
  const reader = CAPTURE_PARSERS.lsof.open([{ no: 1, text: HEADER }], 'warm-up', sink, { listed: new Map(), inputs: 0 });
  reader.read({ first: 1, count: 1, text: HEADER });
  const fold = new SocketFold(null);
  reader.foldInto!(fold);
  const text = [101, 102, 103].flatMap(rows).join('\n');
  const parsed = reader.readUntil!({ first: 2, count: text.split('\n').length, text }, () => false);
  for (const fd of parsed.fds) if (fd.kind === 'socket') fold.socketFd(fd);
  reader.end();
}
