#!/usr/bin/env node
/**
 * The capture generator of bench/analyze.mjs: a real `lsof -n` listing replicated to N lines, as
 * is or as other processes (see bench/analyze.mjs). Also a command, for tests that need a big
 * capture made the bench's way from a saved listing:
 *
 *   node bench/replicate.mjs BASE.txt OUT.txt LINES [--as-is]
 */
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** TYPE column values that are sockets (as fdleak's lsof parser reads them). */
const SOCKET_TYPES = new Set(['IPv4', 'IPv6', 'sock', 'unix', 'netlink', 'raw', 'raw6', 'pack']);

/**
 * Token positions of a data row of `lsof -n` (COMMAND PID [TID TASKCMD] USER FD TYPE DEVICE
 * SIZE/OFF NODE NAME): which token is the PID, the TID, the socket inode. A row that does not read
 * so is copied as it is.
 */
export function rowShape(line) {
  const tokens = [];
  const re = /\S+/g;
  let m;
  while ((m = re.exec(line)) !== null && tokens.length < 12) tokens.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  if (tokens.length < 4 || !/^\d+$/.test(tokens[1].text)) return null;
  const fdAt = (i) => tokens[i] !== undefined && /^(\d+[rwu]?[rRwWuUNxX]?|\*\d{3}[rwu]?.?|cwd|rtd|txt|mem|DEL|NOFD|mmap)$/.test(tokens[i].text);
  const threaded = /^\d+$/.test(tokens[2].text) && fdAt(5) && !fdAt(3); // TID TASKCMD before USER FD
  const u = threaded ? 4 : 2;
  const type = tokens[u + 2]?.text;
  let inode = null;
  if (type === 'IPv4' || type === 'IPv6') inode = tokens[u + 3];
  else if (SOCKET_TYPES.has(type)) inode = tokens.slice(u + 3).find((t) => /^\d+$/.test(t.text) && t.text.length >= 4) ?? null;
  if (inode !== null && !/^\d+$/.test(inode?.text ?? '')) inode = null;
  return { pid: tokens[1], tid: threaded ? tokens[2] : null, inode, type, socket: SOCKET_TYPES.has(type) };
}

/**
 * Puts `text` where `token` was, keeping the column's right edge: lsof right-aligns numbers, so a
 * wider number takes spaces from its left (keeping one), a narrower one gives them back.
 */
function replaceRight(line, token, text, shift) {
  const start = token.start + shift;
  const end = token.end + shift;
  let blank = start;
  while (blank > 0 && line[blank - 1] === ' ') blank--;
  const from = Math.max(end - text.length, blank === 0 ? 0 : blank + 1, 0);
  const next = line.slice(0, Math.min(from, start)) + ' '.repeat(Math.max(0, from - start)) + text + line.slice(end);
  return { line: next, shift: shift + next.length - line.length };
}

/** The base capture replicated to `lines` lines, as is or as other processes (see the top of this file). */
export function replicate(base, path, lines, renumber) {
  const { header, rows, shapes } = base;
  let maxId = 0;
  let maxInode = 0;
  for (const s of shapes) {
    if (s === null) continue;
    maxId = Math.max(maxId, Number(s.pid.text), Number(s.tid?.text ?? 0));
    if (s.inode !== null) maxInode = Math.max(maxInode, Number(s.inode.text));
  }
  let nextId = maxId;
  let nextInode = maxInode;
  const fd = openSync(path, 'w');
  let buffer = [header];
  const flush = () => {
    if (buffer.length === 0) return;
    writeSync(fd, buffer.join('\n') + '\n', null, 'latin1');
    buffer = [];
  };
  let written = 1;
  for (let copy = 0; written < lines; copy++) {
    const ids = new Map();
    const inodes = new Map();
    const renamed = (map, t, next) => {
      let v = map.get(t.text);
      if (v === undefined) map.set(t.text, (v = String(next())));
      return v;
    };
    for (let i = 0; i < rows.length && written < lines; i++, written++) {
      const s = shapes[i];
      if (!renumber || copy === 0 || s === null) {
        buffer.push(rows[i]);
      } else {
        let out = { line: rows[i], shift: 0 };
        out = replaceRight(out.line, s.pid, renamed(ids, s.pid, () => ++nextId), out.shift);
        if (s.tid !== null) out = replaceRight(out.line, s.tid, renamed(ids, s.tid, () => ++nextId), out.shift);
        if (s.inode !== null) out = replaceRight(out.line, s.inode, renamed(inodes, s.inode, () => ++nextInode), out.shift);
        buffer.push(out.line);
      }
      if (buffer.length >= 10_000) flush();
    }
  }
  flush();
  closeSync(fd);
  return statSync(path).size;
}


/** A saved `lsof -n` listing as replicate() takes it. */
export function baseOf(text) {
  const [header, ...rows] = text.replace(/\n$/, '').split('\n');
  return { header, rows, shapes: rows.map(rowShape) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [base, out, lines, flag] = process.argv.slice(2);
  if (base === undefined || out === undefined || !/^\d+$/.test(lines ?? '')) {
    console.error('usage: node bench/replicate.mjs BASE.txt OUT.txt LINES [--as-is]');
    process.exit(2);
  }
  console.log(replicate(baseOf(readFileSync(base, 'latin1')), out, Number(lines), flag !== '--as-is'));
}
