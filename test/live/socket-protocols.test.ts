import { describe, expect, it } from 'vitest';
import { parseLsofProtocols, parseXattrLines } from '../../src/live/socket-protocols.js';

describe('orphan socket protocols, from the helper programs\' output', () => {
  it('reads "<fd> <protocol>" lines and nothing else', () => {
    const out = parseXattrLines('3 TCP\n4 UDP\n5 TCPv6\nbogus line\n6 \u001b[2J\n7 UNIX\n');
    expect([...out]).toEqual([[3, 'TCP'], [4, 'UDP'], [5, 'TCPv6'], [7, 'UNIX']]);
  });

  it('reads lsof -F fn records', () => {
    const out = parseLsofProtocols('p42\nf3\nnprotocol: TCP\nf4\nnsocket\nf5\nnprotocol: UDPv6\n');
    expect([...out]).toEqual([[3, 'TCP'], [5, 'UDPv6']]);
  });
});
