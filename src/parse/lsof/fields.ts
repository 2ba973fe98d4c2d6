/**
 * The reader of lsof field output (`lsof -F pcfnPtT...`, any field selection; `-F0` arrives with
 * its NULs turned into newlines by capture/text-input.ts, or as NUL-separated fields on a line).
 * Format: lsof(8), "OUTPUT FOR OTHER PROGRAMS". Each line is one field whose first character is its
 * tag. A process set starts at "p", a file set at "f" (or, when "f" was not asked for, at a tag
 * repeated within the set). Example: `p9543 / cst-srv / f4 / tIPv4 / PTCP /
 * n127.0.0.1:47002->127.0.0.1:38146 / TST=CLOSE_WAIT / TQR=1 / TQS=0` -> fd 4 of pid 9543 and a
 * CLOSE_WAIT tcp socket with rxQueue 1. A file unlinked while open ends its "n" in " (deleted)"
 * and has its st_size in "s" (an offset reads "s0t..."); "k" (link count, `+L`) is read over. Text may come in pieces, each ending with a whole file set
 * (cut before a "p" or "f" line): the process set being read goes on in the reader.
 */
import { detach } from '../../capture/text-input.js';
import { isPreamble } from '../../capture/detect-format.js';
import { isSpace, MAX_LINE, quote, stripCr } from '../text.js';
import type { Builder } from './builder.js';
import { FD_NUMBER } from './file.js';

/** Field tags of lsof 4.95 on Linux (`lsof -F?`); process-set ones first. */
const PROCESS_TAGS = new Set(['p', 'c', 'g', 'R', 'u', 'L', 'K', 'M']);
const FILE_TAGS = new Set(['f', 'a', 'l', 't', 'D', 'd', 's', 'o', 'i', 'k', 'n', 'P', 'G', 'T', 'r', 'S']);

interface FieldsProcess { pid: number; tid: number | null; command: string; uid: number | null }

export class FieldsReader {
  /** The process set being read; whether the last "p" field was bad (its fields are then reported). */
  private proc: FieldsProcess | null = null;
  private orphaned = false;
  private afterWarning = false;

  constructor(private readonly b: Builder) {}

  /** Reads `text` (whole lines ending with a whole file set, the first numbered `firstLine`). */
  read(text: string, firstLine: number): void {
    const { b } = this;
    const { source, sink } = b;
    let file: Map<string, string> | null = null;
    let fileLine = 0;
    let fileText = '';

    const flush = (): void => {
      const proc = this.proc;
      if (file === null || proc === null) { file = null; return; }
      const f = file;
      file = null;
      const type = f.get('t') ?? '';
      const inet = type === 'IPv4' || type === 'IPv6';
      const fdText = f.get('f') ?? null;
      const fdMatch = fdText === null ? null : FD_NUMBER.exec(fdText);
      b.add({
        line: fileLine, text: fileText, pid: proc.pid, tid: proc.tid, command: proc.command, uid: proc.uid,
        fd: fdMatch === null ? fdText : fdMatch[1]!,
        type,
        device: inet ? (f.get('d') ?? f.get('i') ?? null) : null,
        node: f.get('i') ?? null,
        protocol: f.get('P') ?? null,
        name: (f.get('n') ?? '').trim(),
        size: f.get('s') ?? null,
        state: f.get('TST') ?? null,
        rxQueue: queue(f.get('TQR')),
        txQueue: queue(f.get('TQS')),
        fromFields: true,
      });
    };

    // Each line is kept apart from the piece's text: a record keeps its name, not the whole piece.
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '' || line === '\r') continue;
      const lineNo = firstLine + i;
      const c0 = line.charCodeAt(0);
      if ((isSpace(c0) || c0 === 36 || c0 === 35) && isPreamble(line)) continue; // blank, "$ cmd" and "# note" lines around the output
      const raw = detach(stripCr(line));
      const wasWarning = this.afterWarning;
      this.afterWarning = false;
      if (raw.length > MAX_LINE) {
        sink.bad(`line longer than ${MAX_LINE} characters`, source, lineNo, raw);
        continue;
      }
      if (raw === '\0') continue;
      if (raw.startsWith('lsof: ')) { this.afterWarning = true; continue; } // a warning, not an "l" (lock) field
      if (/^\s/.test(raw) && (wasWarning || /Output information may be incomplete/.test(raw))) { this.afterWarning = true; continue; }
      const fields = raw.includes('\0') ? raw.split('\0').filter((x) => x !== '') : [raw];
      for (const field of fields) {
        const tag = field[0]!;
        const value = field.slice(1);
        const bad = (reason: string): void => sink.bad(reason, source, lineNo, raw);
        if (tag === 'p') {
          flush();
          this.endProcess();
          if (!/^\d{1,10}$/.test(value) || Number(value) === 0) {
            this.orphaned = true;
            bad(`expected a numeric PID in a "p" field, found ${quote(value)}`);
            continue;
          }
          this.orphaned = false;
          this.proc = { pid: Number(value), tid: null, command: '?', uid: null }; // "?" until a "c" field
        } else if (PROCESS_TAGS.has(tag)) {
          const proc = this.proc;
          if (proc === null) { bad(this.orphaned ? 'field of a process set whose "p" field is bad' : `"${tag}" field before any "p" (process) field`); continue; }
          if (file !== null) flush(); // -F without "f": a process field ends the last file
          if (tag === 'c') proc.command = value;
          else if (tag === 'u' && /^\d{1,10}$/.test(value)) proc.uid = Number(value);
          else if (tag === 'K') {
            if (!/^\d{1,10}$/.test(value)) { bad(`expected a numeric TID in a "K" field, found ${quote(value)}`); continue; }
            proc.tid = Number(value);
            b.tasksListed = true;
          }
        } else if (FILE_TAGS.has(tag)) {
          if (this.proc === null) { bad(this.orphaned ? 'field of a process set whose "p" field is bad' : `"${tag}" field before any "p" (process) field`); continue; }
          let key: string = tag;
          let v = value;
          if (tag === 'T') {
            const eq = value.indexOf('=');
            if (eq <= 0) { bad(`expected a "T" field as NAME=VALUE, found ${quote(value)}`); continue; }
            key = `T${value.slice(0, eq)}`;
            v = value.slice(eq + 1);
          }
          if (tag === 'f' || file === null || file.has(key)) {
            flush();
            file = new Map();
            fileLine = lineNo;
            fileText = raw;
          }
          file!.set(key, v);
          if (tag === 'n') {
            // A set's records and errors point at its name, the line a reader recognises.
            fileLine = lineNo;
            fileText = raw;
          }
        } else if (tag === 'm') {
          flush(); // marker between repeated outputs (-r)
        } else {
          bad(`unknown field tag ${showTag(tag)}`);
        }
      }
    }
    flush();
  }

  /** The process set being read ends (a "p" field, the end of the capture): a process without files still counts. */
  endProcess(): void {
    const p = this.proc;
    this.proc = null;
    if (p !== null && p.pid > 0) this.b.table.get(p.pid, p.command, p.uid, p.tid);
  }
}

/** "Z" -> "\"Z\"", a control byte or U+FFFD -> its code, so the message stays one clean line. */
function showTag(tag: string): string {
  const code = tag.codePointAt(0) ?? 0;
  return code > 0x20 && code < 0x7f ? `"${tag}"` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

function queue(text: string | undefined): number | null {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : null;
}
