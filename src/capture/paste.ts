/**
 * Captures as people paste them into tickets: in a Markdown fence with prose around it, quoted with
 * "> ", indented as a code block, with a prompt line ("root@web1:~# lsof -n") on top. Undone line
 * by line, keeping line numbers: a line that is not tool output becomes blank (passed over). Only
 * when the text shows that shape, so a clean capture is read as it is; the report says what was undone.
 */
import { formatOfLine, isPreamble } from './detect-format.js';
import type { Chunk, Line } from './text-input.js';

const FENCE = /^\s*(```|~~~)/;
const QUOTE = /^\s*(>\s?)+/;
/** "user@host:~$ cmd", "[root@host ~]# cmd", "PS> cmd": a prompt with the command after it. */
const PROMPT = /^\s*(\S+@[\w.-]+(:\S*)?\s?[$#%]|\[[^\]]+\][$#%]|[\w.-]+[$#%>])\s/;

export class Unpaster {
  private inFence = false;
  private constructor(
    private readonly fences: boolean,
    private readonly quoted: boolean,
    private readonly indent: number,
    /** Lines up to this one (prose before the capture) are passed over. */
    private readonly before: number,
    readonly notes: string[],
  ) {}

  /**
   * The paste shape the first lines show, or null when they read as they are. `readable`: whether
   * the format is recognised in them as they are (then prose before the output is not looked for).
   */
  static of(head: readonly Line[], readable: boolean): Unpaster | null {
    const meaningful = head.filter((l) => !isPreamble(l.text));
    const fences = meaningful.some((l) => FENCE.test(l.text));
    const quotedLines = meaningful.filter((l) => QUOTE.test(l.text)).length;
    const quoted = quotedLines > 0 && quotedLines >= meaningful.length / 2;
    const probe = new Unpaster(fences, quoted, 0, 0, []);
    const lines = head.map((l) => ({ no: l.no, text: probe.line(l.text) }));
    const first = lines.find((l) => !isPreamble(l.text) && formatOfLine(l.text) !== undefined);
    const lead = first === undefined ? 0 : /^\s*/.exec(first.text)![0].length;
    // /proc/net rows are indented by the kernel itself; other tools' lines start at the margin.
    const indent = first !== undefined && formatOfLine(first.text) !== 'proc-net' ? lead : 0;
    const prompts = head.some((l) => PROMPT.test(quoted ? l.text.replace(QUOTE, '') : l.text));
    const proseBefore = !readable && first !== undefined && lines.some((l) => l.no < first.no && !isPreamble(l.text) && !PROMPT.test(l.text));
    if (!fences && !quoted && indent === 0 && !prompts && !proseBefore) return null;
    const notes = [
      ...(fences ? ['only the lines inside Markdown fences (```) were read'] : []),
      ...(quoted ? ['the "> " quote marks were taken off'] : []),
      ...(indent > 0 ? [`the ${indent}-character indentation was taken off`] : []),
      ...(prompts ? ['shell prompt lines were passed over'] : []),
      ...(proseBefore ? [`lines before line ${first!.no} (not tool output) were passed over`] : []),
    ];
    return new Unpaster(fences, quoted, indent, proseBefore ? first!.no - 1 : 0, notes);
  }

  /** One line as the tool printed it ('' for a line that is no tool output). */
  line(text: string, no = Infinity): string {
    if (this.fences && FENCE.test(this.quoted ? text.replace(QUOTE, '') : text)) {
      this.inFence = !this.inFence;
      return '';
    }
    if (this.fences && !this.inFence) return '';
    if (no <= this.before) return '';
    let t = this.quoted ? text.replace(QUOTE, '') : text;
    if (PROMPT.test(t)) return '';
    if (this.indent > 0) {
      let k = 0;
      while (k < this.indent && (t[k] === ' ' || t[k] === '\t')) k++;
      t = t.slice(k);
    }
    return t;
  }

  lines(lines: readonly Line[]): Line[] {
    return lines.map((l) => ({ no: l.no, text: this.line(l.text, l.no) }));
  }

  chunk(chunk: Chunk): Chunk {
    const lines = chunk.text.split('\n');
    for (let i = 0; i < lines.length; i++) lines[i] = this.line(lines[i]!, chunk.first + i);
    return { first: chunk.first, count: chunk.count, text: lines.join('\n') };
  }
}
