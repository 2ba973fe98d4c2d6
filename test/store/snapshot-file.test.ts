/**
 * Snapshot files round-trip: every capture fixture (through the capture pipeline, as `analyze` reads
 * it) and a live process are written, read back and equal to the model they came from; damaged,
 * truncated, newer-schema and foreign files are refused in one line naming the file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCapture } from '../../src/capture/capture.js';
import { openLines } from '../../src/capture/text-input.js';
import { InputError } from '../../src/errors.js';
import { collectLiveProcess } from '../../src/live/diagnose.js';
import { parseSnapshotText, readSnapshotFile, writeSnapshotFile } from '../../src/store/snapshot-file.js';
import { startScenario, stopAll } from '../helpers/netns.js';

const FIXTURES = new URL('../../fixtures/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'fdleak-store-'));
afterAll(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Capture fixtures the pipeline reads: not bad-*, empty and header-only files (analyze refuses them)
 * nor proc-net/netlink.txt (a table only the live reader parses; analyze does not take it as input).
 */
const captures = ['lsof', 'lsof-F', 'ss', 'netstat', 'proc-net'].flatMap((d) =>
  readdirSync(`${FIXTURES}${d}`).filter((f) => f.endsWith('.txt') && !/^(bad-|empty|header-only)/.test(f) && f !== 'netlink.txt').map((f) => `${d}/${f}`));

describe('snapshot files', () => {
  it('finds the capture fixtures', () => {
    expect(captures.length).toBeGreaterThan(40);
  });

  it.each(captures)('%s: captured, written, read back: the same model', async (path) => {
    const stream = await openLines(`${FIXTURES}${path}`, process.stdin);
    const { snapshot } = await analyzeCapture([stream], undefined, '2026-11-22T00:00:00.000Z');
    const file = join(dir, `${path.replace('/', '-')}.json`);
    writeSnapshotFile(file, snapshot);
    expect(readSnapshotFile(file)).toEqual(snapshot);
  });

  it('a live process: written, read back, the same model', async () => {
    const s = await startScenario('healthy-busy.mjs', ['--port=0', '--connections=4']);
    const snapshot = await collectLiveProcess(s.pid);
    expect(snapshot.sockets.length).toBeGreaterThan(8); // listener, 4 client and 4 accepted ends, udp
    const file = join(dir, 'live.json');
    writeSnapshotFile(file, snapshot);
    expect(readSnapshotFile(file)).toEqual(snapshot);
    await s.stop();
  });

  describe('refuses in one line naming the file', () => {
    const good = (): string => readFileSync(join(dir, 'live.json'), 'utf8');
    const refuse = (text: string): string => {
      const file = join(dir, 'bad.json');
      writeFileSync(file, text);
      try {
        readSnapshotFile(file);
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        const message = (error as Error).message.replace(dir, '<dir>');
        expect(message).not.toContain('\n');
        return message;
      }
      throw new Error('read without complaint');
    };

    it('truncated', () => {
      const text = good();
      expect(refuse(text.slice(0, Math.floor(text.length / 2)))).toMatch(/^<dir>\/bad\.json:\d+: truncated: the JSON ends before the snapshot does \(\d+ bytes\)$/);
    });
    it('truncated just after a "}" (the end of a record, or of an object within one)', () => {
      const text = good();
      const record = text.indexOf('}\n', text.indexOf('"fds": [')) + 1; // the end of the first fd record
      const inner = text.indexOf('}', text.indexOf('"origin":', text.indexOf('"fds": ['))) + 1; // the end of its origin
      for (const cut of [record, inner]) {
        expect(text[cut - 1]).toBe('}');
        expect(refuse(text.slice(0, cut))).toMatch(/^<dir>\/bad\.json:\d+: truncated: the JSON ends before the snapshot does \(\d+ bytes\)$/);
      }
    });
    it('damaged', () => {
      const text = good().replace('"fds": [', '"fds": [}');
      expect(refuse(text)).toMatch(/^<dir>\/bad\.json:\d+: damaged: not valid JSON \(Unexpected token '}'.*\)$/);
    });
    it('a newer schema', () => {
      expect(refuse(good().replace('fdleak/snapshot@1', 'fdleak/snapshot@2')))
        .toBe('<dir>/bad.json: schema fdleak/snapshot@2 is newer than this fdleak reads (fdleak/snapshot@1): upgrade fdleak');
    });
    it('another fdleak document, or not fdleak at all', () => {
      expect(refuse('{"schema": "fdleak/diagnose@1"}')).toBe('<dir>/bad.json: a fdleak/diagnose@1 document, not a snapshot (fdleak snapshot <pid> -o FILE writes one)');
      expect(refuse('[1, 2]')).toBe('<dir>/bad.json: not an fdleak snapshot: expected a JSON object, found an array');
      expect(refuse('')).toBe('<dir>/bad.json: empty file, not a snapshot');
    });
    it('a record that breaks the schema, at its line', () => {
      const text = good();
      const lines = text.split('\n');
      const at = lines.findIndex((l) => l.startsWith('  {"pid":') && l.includes('"fd":'));
      lines[at] = lines[at]!.replace(/"fd":\d+/, '"fd":-3');
      expect(refuse(lines.join('\n'))).toBe(`<dir>/bad.json:${at + 1}: invalid snapshot: fds.${at - lines.indexOf('"fds": [') - 1}.fd: too small: expected number to be >=0`);
    });
    it('a missing file', () => {
      expect(() => readSnapshotFile(join(dir, 'nope.json'))).toThrow(/nope\.json: no such file$/);
    });
  });

  it('parseSnapshotText is what readSnapshotFile runs on the text', () => {
    expect(() => parseSnapshotText('{"schema": "fdleak/snapshot@1"}', 'x.json')).toThrow('x.json: invalid snapshot: takenAt: invalid input: expected string, received undefined');
  });
});
