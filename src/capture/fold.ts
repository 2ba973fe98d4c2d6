/**
 * One large lsof capture, folded as it streams (model/folded.ts says what the rules read of it).
 * A socket row is met once per fd that holds it (a fork()ed listener, a dup()); each distinct socket
 * is kept as:
 * - its inode in a U32Map (6 bytes a slot, with the process that held it first), so that a row met again
 *   adds an owner, never a socket; rows whose key is no 32-bit inode go the record way (below);
 * - counts per owner and state (what a summary shows), and a tally per local port of its peers (what
 *   tells a listener from the rows' shape: a set of peers per port only while they are all distinct);
 * - a CLOSE_WAIT row: 5 int32 columns (owner, addresses, ports, Recv-Q), once per owner;
 * - a socket fd with no row (lsof "sock" rows): 4 int32 columns.
 * Everything else (LISTEN, FIN_WAIT2, SYN_RECV, ..., rows without an inode) stays a Socket record,
 * as in a small capture. Memory then grows by about 8-10 bytes a socket (the inode table), 20 a
 * CLOSE_WAIT row and 16 a sock row, instead of the ~600 bytes of a record and its checked copy; the
 * caps below make hostile input an InputError, never an out-of-memory abort.
 *
 * Over 400 lines because parts() and absorb() (a fold read by another thread, taken in: tail.ts)
 * work on the same private tables as the fold itself; apart, those tables would be public.
 */
import { InputError } from '../errors.js';
import type { Fd } from '../model/fd.js';
import type { CloseWaitGroup, FoldedSockets } from '../model/folded.js';
import { isLsofSockTarget, isOrphanSocket } from '../model/queries.js';
import type { Owner, Socket } from '../model/socket.js';
import { plainInodeShape } from '../parse/lsof/builder.js';
import { halfKey } from '../rules/subject.js';
import { IntRows, NumberSet, U32Map } from './compact.js';
import type { IntRowsParts, U32MapParts } from './compact.js';
import { detach } from './text-input.js';

/** Columns of a CLOSE_WAIT row (SocketFold.closeWait) and of a socket fd without a row (socketFds). */
const CW_WIDTH = 5;
const FD_WIDTH = 4;

/** Distinct sockets one capture may hold (the inode table then takes 128 MiB). */
export const MAX_FOLDED_SOCKETS = 12_000_000;
/** Socket records (the rows not folded) one analysis may hold. */
export const MAX_SOCKET_RECORDS = 1_000_000;
/** Sockets expect() makes room for at most. */
const MAX_RESERVED = 4_000_000;
/** Distinct addresses one capture may name. */
const MAX_ADDRESSES = 1_000_000;

const INET6 = 1;
/** Recv-Q from here on is kept aside (bigQueues). */
const RX_BIG = 1 << 28;

/** A row's key as the lsof reader makes it: the inode as a number, or a text. */
export type SocketKey = string | number;

export class SocketFold implements FoldedSockets {
  rows = 0;
  /** inode -> the pid that held it first, as its number in pidIndex (0: the socket is a record, in `keptByKey`). */
  private readonly inodes = new U32Map();
  /** The inodes of a fold absorbed whole (absorb(): the rows another thread read), none in `inodes`. */
  private absorbed: U32Map | null = null;
  private readonly pidIndex = new Map<number, number>();
  private lastPid = 0;
  private lastIndex = 0;
  /** Sockets of several processes: inode -> the pids after the first. */
  private readonly sharedBy = new Map<number, number[]>();
  /** The rows kept as records, and by key. */
  readonly kept: Socket[] = [];
  private readonly keptByKey = new Map<SocketKey, Socket>();
  private readonly states = new Map<number, Map<string, number>>();
  private lastStatesPid = 0;
  private lastStates: Map<string, number> | null = null;
  private readonly addresses = new Map<string, number>();
  private readonly addressList: string[] = [];
  // Local port tally (queries.ts inferredListenPort): rows, whether a peer repeated or is not ephemeral, first peer, peers.
  private readonly portRows = new Uint32Array(65536);
  private readonly portBad = new Uint8Array(65536);
  private readonly portFirst = new Float64Array(65536);
  private readonly portPeers = new Map<number, NumberSet>();
  /**
   * CLOSE_WAIT rows: pid, local address, remote address, ports (local << 16 | remote), Recv-Q << 2 |
   * flags (Recv-Q past 2^28: RX_BIG, the number in bigQueues).
   */
  private readonly closeWait = new IntRows(CW_WIDTH);
  private readonly bigQueues = new Map<number, number>();
  private byOwner: Map<number, Int32Array> | null = null;
  /**
   * Socket fds without a row: pid, fd, inode (-1: none; < -1: the text's index in bigInodes, for
   * texts that are not a number below 10^9), (hint + 1) << 1 | 1 for a sock row.
   */
  private readonly socketFds = new IntRows(FD_WIDTH);
  private readonly hints: string[] = [];
  private readonly hintIndex = new Map<string, number>();
  private readonly bigInodes: string[] = [];

  /** `range`: ip_local_port_range the rows are judged with (--port-range), for the port tally. */
  constructor(private readonly range: [number, number] | null) {}

  /**
   * A socket row of `owner`, keyed as the reader keys it; returns whether it is a new socket. The
   * row's `owners` is set here.
   */
  socket(socket: Socket, owner: Owner, key: SocketKey): boolean {
    const inode = typeof key === 'number' && key > 0 && key <= 0xffffffff ? key : 0;
    if (inode === 0) return this.keep(socket, owner, key);
    const fold = foldable(socket);
    const index = this.indexOf(owner.pid);
    // the first row of an inode decides: folded (its first owner's number), or a record (0)
    const first = this.inodes.getOrAdd(inode, fold ? index : 0);
    if (first === undefined && this.inodes.size > MAX_FOLDED_SOCKETS) throw tooMany(`${MAX_FOLDED_SOCKETS.toLocaleString('en-US')} distinct sockets`);
    if (first === 0 || (first === undefined && !fold)) return this.keep(socket, owner, key);
    if (first === undefined) {
      this.rows++;
      this.tally(socket);
      this.own(socket, owner.pid);
      return true;
    }
    // met again: another fd of its first owner adds nothing; another process owns it too
    if (first === index) return false;
    let others = this.sharedBy.get(inode);
    if (others === undefined) this.sharedBy.set(inode, (others = []));
    if (others.includes(owner.pid)) return false;
    others.push(owner.pid);
    this.own(socket, owner.pid);
    return false;
  }

  // --- rows the lsof reader read in place (columns.ts), as socket() takes them, without a Socket ---

  /**
   * Whether a row of `pid` with this inode may go in place (tcpRow, tableRow): its inode is new,
   * or folded already with `pid` as its first owner. Otherwise (a record, or another process's
   * socket) the row goes to socket() whole.
   */
  fresh(inode: number, pid: number): boolean {
    const first = this.inodes.get(inode);
    return first === undefined || first === this.indexOf(pid);
  }

  /**
   * socket() of a fresh() IPv4 TCP row in ESTABLISHED or CLOSE_WAIT, no queues shown: its addresses
   * are text[ls, le) and text[rs, re). Returns whether the socket is new.
   */
  tcpRow(pid: number, inode: number, closeWait: boolean, text: string, ls: number, le: number, lport: number, rs: number, re: number, rport: number): boolean {
    if (!this.added(pid, inode)) return false;
    this.tallyPort(lport, rport, text, rs, re);
    this.countState(pid, closeWait ? 'CLOSE_WAIT' : 'ESTABLISHED');
    if (closeWait) this.closeWait.push(pid, this.addressAt(text, ls, le), this.addressAt(text, rs, re), (lport << 16) | rport, 0);
    return true;
  }

  /** socket() of a fresh() row of a socket that is no TCP one (unix: `state` 'UNIX'). Returns whether the socket is new. */
  tableRow(pid: number, inode: number, state: string): boolean {
    if (!this.added(pid, inode)) return false;
    this.countState(pid, state);
    return true;
  }

  /** Adds a fresh() inode (whether it is new), as socket() does. */
  private added(pid: number, inode: number): boolean {
    if (this.inodes.getOrAdd(inode, this.indexOf(pid)) !== undefined) return false;
    if (this.inodes.size > MAX_FOLDED_SOCKETS) throw tooMany(`${MAX_FOLDED_SOCKETS.toLocaleString('en-US')} distinct sockets`);
    this.rows++;
    return true;
  }

  /**
   * Room in the inode table for the sockets a file will likely hold: `sockets` met in the first
   * `read` of `bytes` bytes, at that rate to the end (at most MAX_RESERVED: a guess is not let
   * take more than ~30 MiB before the sockets are there). See U32Map.reserve.
   */
  expect(sockets: number, read: number, bytes: number): void {
    if (read > 0 && bytes > read) this.inodes.reserve(Math.min(MAX_RESERVED, Math.ceil((sockets / read) * bytes)));
  }

  /** A process's number in pidIndex (rows of one process come together: the last one is asked again). */
  private indexOf(pid: number): number {
    if (pid === this.lastPid) return this.lastIndex;
    let index = this.pidIndex.get(pid);
    if (index === undefined) this.pidIndex.set(pid, (index = this.pidIndex.size + 1));
    this.lastPid = pid;
    this.lastIndex = index;
    return index;
  }

  /** The reader's rows so far (a capture folds once it is large): every key and its record. */
  adopt(byKey: Map<SocketKey, Socket>): void {
    for (const [key, socket] of byKey) {
      const owners = socket.owners;
      socket.owners = [];
      for (const o of owners) this.socket(socket, o, key);
    }
  }

  /** A socket fd the reader kept a record of (no row of its own names it). */
  socketFd(fd: Fd): void {
    this.sockFd(fd.pid, fd.fd, fd.inode === null ? -1 : plainInode(fd.inode) ? Number(fd.inode) : fd.inode, fd.target, fd.hint);
  }

  /**
   * socketFd() of an fd the column reader read in place (an lsof "sock" row), without the record:
   * `inode` as a number where its text is that number's own (plainInode), else its text, -1: none.
   */
  sockFd(pid: number, fd: number, inode: number | string, target: string, hint: string | null): void {
    const key = typeof inode === 'number' ? inode : -2 - (this.bigInodes.push(inode) - 1);
    // lsof's sock rows come in runs with the same NAME (the column reader hands the same string on):
    // its hint and reading are the last row's (a regex and a Map lookup a row, ~132,000 rows of the
    // 1M-line socket-heavy capture, otherwise)
    if (target !== this.lastTarget || hint !== this.lastHint) {
      let index = hint === null ? -1 : (this.hintIndex.get(hint) ?? -1);
      if (index < 0 && hint !== null) {
        if (this.hints.length >= MAX_ADDRESSES) throw tooMany(`${MAX_ADDRESSES.toLocaleString('en-US')} distinct lsof socket protocols`);
        this.hintIndex.set(hint, (index = this.hints.push(hint) - 1));
      }
      this.lastTarget = target;
      this.lastHint = hint;
      this.lastFlags = ((index + 1) << 1) | (isLsofSockTarget(target) ? 1 : 0);
    }
    this.socketFds.push(pid, fd, key, this.lastFlags);
  }

  /** Each process with a socket fd without a row (socketFd, sockFd), once (and maybe again after another's). */
  forEachSocketFdPid(fn: (pid: number) => void): void {
    const rows = this.socketFds;
    let last = -1;
    for (let r = 0; r < rows.length; r++) {
      const pid = rows.get(r, 0);
      if (pid !== last) fn((last = pid));
    }
  }

  /** The last socketFd()'s target and hint, and the flags they gave. */
  private lastTarget = '';
  private lastHint: string | null = null;
  private lastFlags = 0;

  /** A row kept as a record (its inode, if any, is in the table as 0). */
  private keep(socket: Socket, owner: Owner, key: SocketKey): boolean {
    const existing = this.keptByKey.get(key);
    if (existing !== undefined) {
      if (!existing.owners.some((o) => o.pid === owner.pid && o.fd === owner.fd)) existing.owners.push(owner);
      return false;
    }
    if (this.kept.length >= MAX_SOCKET_RECORDS) throw tooMany(`${MAX_SOCKET_RECORDS.toLocaleString('en-US')} sockets in states other than ESTABLISHED and CLOSE_WAIT`);
    socket.owners = [owner];
    this.keptByKey.set(key, socket);
    this.kept.push(socket);
    this.tally(socket);
    return true;
  }

  /** A folded socket of `pid`: its state counted, a CLOSE_WAIT row kept. */
  private own(socket: Socket, pid: number): void {
    this.countState(pid, socket.state ?? (socket.proto === 'tcp' ? 'UNKNOWN' : socket.proto.toUpperCase()));
    if (socket.state !== 'CLOSE_WAIT') return;
    const rx = socket.rxQueue ?? 0;
    const row = this.closeWait.length;
    if (rx >= RX_BIG) this.bigQueues.set(row, rx);
    this.closeWait.push(pid, this.address(socket.local!.address), this.address(socket.remote!.address),
      (socket.local!.port! << 16) | socket.remote!.port!,
      (Math.min(rx, RX_BIG) << 2) | (socket.family === 'inet6' ? INET6 : 0));
  }

  /**
   * address() of text[s, e), the last one asked remembered: a big capture's rows name a few
   * addresses over and over, so most rows find theirs without a slice (one string a row otherwise).
   */
  private addressAt(text: string, s: number, e: number): number {
    const last = this.lastAddress;
    if (e - s === last.length && text.startsWith(last, s)) return this.lastAddressIndex;
    const i = this.address(s === 0 && e === text.length ? text : text.slice(s, e));
    this.lastAddress = this.addressList[i]!;
    return (this.lastAddressIndex = i);
  }

  private lastAddress = '\0';
  private lastAddressIndex = -1;

  /** One more folded socket of `pid` in `state` (as summaries name it). */
  private countState(pid: number, state: string): void {
    let states = pid === this.lastStatesPid ? this.lastStates! : this.states.get(pid);
    if (states === undefined) this.states.set(pid, (states = new Map()));
    this.lastStatesPid = pid;
    this.lastStates = states;
    states.set(state, (states.get(state) ?? 0) + 1);
  }

  private address(text: string): number {
    let i = this.addresses.get(text);
    if (i === undefined) {
      if (this.addressList.length >= MAX_ADDRESSES) throw tooMany(`${MAX_ADDRESSES.toLocaleString('en-US')} distinct addresses`);
      const kept = detach(text); // not a slice of the text it came from: that would keep it alive
      this.addresses.set(kept, (i = this.addressList.push(kept) - 1));
    }
    return i;
  }

  /** Counts a distinct row on its local port, as inferredListenPort() judges them. */
  private tally(s: Socket): void {
    if (s.proto !== 'tcp' || s.state === 'LISTEN' || s.local?.port == null || s.remote?.port == null) return;
    this.tallyPort(s.local.port, s.remote.port, s.remote.address, 0, s.remote.address.length);
  }

  /** tally() of a row on local `port` whose peer is text[rs, re):rp. */
  private tallyPort(port: number, rp: number, text: string, rs: number, re: number): void {
    const n = ++this.portRows[port]!;
    if (this.portBad[port] === 1) return;
    const range = this.range;
    if (range === null ? rp < 1024 : rp < range[0] || rp > range[1]) {
      this.portBad[port] = 1;
      this.portPeers.delete(port);
      return;
    }
    const peer = this.addressAt(text, rs, re) * 65536 + rp;
    if (n === 1) {
      this.portFirst[port] = peer;
      return;
    }
    let peers = this.portPeers.get(port);
    if (peers === undefined) {
      // the second row: a peer repeated already needs no set (a client's local port, listed again
      // by another process of the same shape: ~12,000 sets made and dropped at once per thread on
      // the 1M-line socket-heavy capture, a typed array each)
      if (peer === this.portFirst[port]) {
        this.portBad[port] = 1;
        return;
      }
      this.portPeers.set(port, (peers = new NumberSet()));
      peers.add(this.portFirst[port]!);
    }
    if (!peers.add(peer)) {
      this.portBad[port] = 1;
      this.portPeers.delete(port);
    }
  }

  // --- the fold of a capture's last part, read by another thread (capture/tail.ts) ---

  /** What this fold holds, as arrays and plain records another thread can be sent (absorb() takes it). */
  parts(): FoldParts {
    const portPeers: Array<[number, Float64Array]> = [];
    for (const [port, peers] of this.portPeers) {
      const list = new Float64Array(peers.size);
      let i = 0;
      peers.forEach((p) => { list[i++] = p; });
      portPeers.push([port, list]);
    }
    return {
      rows: this.rows, inodes: this.inodes.parts(), kept: this.kept, keptKeys: [...this.keptByKey.keys()],
      states: this.states, addresses: this.addressList,
      portRows: this.portRows, portBad: this.portBad, portFirst: this.portFirst, portPeers,
      closeWait: this.closeWait.parts(), bigQueues: this.bigQueues,
      socketFds: this.socketFds.parts(), hints: this.hints, bigInodes: this.bigInodes,
    };
  }

  /**
   * Takes in the fold of the rows that follow every row read here (the rest of the capture, read by
   * another thread from its first line, numbered from 1: `lineOffset` is the lines before it), so
   * that this fold is the one reading every row in turn would have made. Only when no socket nor
   * process of the rest was met here (a socket or a process split between the two would have been
   * read otherwise), and no cap is passed: else it returns false and changes nothing (the caller
   * then reads the rest itself).
   */
  absorb(w: FoldParts, lineOffset: number): boolean {
    if (this.absorbed !== null || this.inodes.size + w.inodes.size > MAX_FOLDED_SOCKETS) return false;
    if (this.kept.length + w.kept.length > MAX_SOCKET_RECORDS) return false;
    if (w.keptKeys.some((k) => this.keptByKey.has(k))) return false;
    for (const pid of w.states.keys()) if (this.states.has(pid)) return false;
    const inodes = U32Map.from(w.inodes);
    let met = false;
    // inodes in ranges of their own (the kernel numbers sockets in turn) cannot meet: no lookups
    if (inodes.max >= this.inodes.min && inodes.min <= this.inodes.max) inodes.forEachKey((k) => { if (!met && this.inodes.get(k) !== undefined) met = true; });
    if (met) return false;
    let newAddresses = 0;
    for (const a of w.addresses) if (!this.addresses.has(a)) newAddresses++;
    let newHints = 0;
    for (const h of w.hints) if (!this.hintIndex.has(h)) newHints++;
    if (this.addressList.length + newAddresses > MAX_ADDRESSES || this.hints.length + newHints > MAX_ADDRESSES) return false;

    this.rows += w.rows;
    this.absorbed = inodes;
    for (const s of w.kept) {
      s.origin.line += lineOffset;
      this.kept.push(s);
    }
    w.keptKeys.forEach((k, i) => this.keptByKey.set(k, w.kept[i]!));
    for (const [pid, states] of w.states) this.states.set(pid, states);
    const address = w.addresses.map((a) => this.address(a));
    const peerOf = (p: number): number => address[Math.floor(p / 65536)]! * 65536 + (p % 65536);
    const peers = new Map(w.portPeers);
    for (let port = 0; port < 65536; port++) {
      const wn = w.portRows[port]!;
      if (wn === 0) continue;
      const n = this.portRows[port]!;
      this.portRows[port] = n + wn;
      if (this.portBad[port] === 1) continue;
      if (w.portBad[port] === 1) {
        this.portBad[port] = 1;
        this.portPeers.delete(port);
        continue;
      }
      const first = peerOf(w.portFirst[port]!);
      if (n === 0) this.portFirst[port] = first;
      if (n === 0 && wn === 1) continue;
      let mine = this.portPeers.get(port);
      if (mine === undefined) {
        this.portPeers.set(port, (mine = new NumberSet()));
        mine.add(n === 0 ? first : this.portFirst[port]!);
      }
      // the rest's peers, met after every peer here: the port is no listener's once one repeats
      const theirs = wn === 1 ? [w.portFirst[port]!] : peers.get(port)!;
      for (const p of theirs) {
        const peer = peerOf(p);
        if (n === 0 && peer === first) continue;
        if (!mine.add(peer)) {
          this.portBad[port] = 1;
          this.portPeers.delete(port);
          break;
        }
      }
    }
    // the rows copied whole, then the numbers that differ here renumbered (none, mostly: the two
    // threads met the same few addresses and hints in the same order)
    const c = this.closeWait;
    const base = c.append(IntRows.from(w.closeWait));
    if (address.some((a, i) => a !== i)) {
      for (let r = base; r < c.length; r++) {
        c.set(r, 1, address[c.get(r, 1)]!);
        c.set(r, 2, address[c.get(r, 2)]!);
      }
    }
    for (const [r, rx] of w.bigQueues) this.bigQueues.set(base + r, rx);
    const hint = w.hints.map((h) => {
      let i = this.hintIndex.get(h);
      if (i === undefined) this.hintIndex.set(h, (i = this.hints.push(h) - 1));
      return i;
    });
    const fds = this.socketFds;
    const fdBase = fds.append(IntRows.from(w.socketFds));
    if (w.bigInodes.length > 0 || hint.some((h, i) => h !== i)) {
      for (let r = fdBase; r < fds.length; r++) {
        const inode = fds.get(r, 2);
        if (inode < -1) fds.set(r, 2, -2 - (this.bigInodes.push(w.bigInodes[-2 - inode]!) - 1));
        const flags = fds.get(r, 3);
        const h = (flags >> 1) - 1;
        fds.set(r, 3, ((h < 0 ? 0 : hint[h]! + 1) << 1) | (flags & 1));
      }
    }
    this.byOwner = null;
    return true;
  }

  // --- FoldedSockets: what the rules and reports read ---

  hasInode(inode: string): boolean {
    if (inode.length > 10 || (inode.length > 1 && inode.charCodeAt(0) === 48)) return false;
    const n = Number(inode);
    return n > 0 && n <= 0xffffffff && (this.inodes.get(n) ?? this.absorbed?.get(n) ?? 0) !== 0;
  }

  statesOf(pid: number): ReadonlyMap<string, number> | undefined {
    return this.states.get(pid);
  }

  closeWaitOwners(): number[] {
    return [...this.closeWaitRows().keys()];
  }

  closeWaitOf(pid: number): Socket[] {
    return [...(this.closeWaitRows().get(pid) ?? [])].map((r) => this.closeWaitRecord(r));
  }

  closeWaitGroups(pid: number, isServerPort: (port: number) => boolean): CloseWaitGroup[] {
    const rows = this.closeWaitRows().get(pid);
    if (rows === undefined) return [];
    const c = this.closeWait;
    // each local port judged once: 1 server side, 2 client side
    const side = new Uint8Array(65536);
    // a group's key: (remote address * 65536 + port) * 2 + 1 on the server side (below 2^38)
    const groupOf = new Map<number, number>();
    const keys: number[] = [];
    const count: number[] = [];
    const unread: number[] = [];
    const bytes: number[] = [];
    // the last row's key and group: a process's rows of one group mostly come together (a Map
    // lookup a row otherwise, of a key past 2^31: a heap number each)
    let lastKey = -1;
    let lastGroup = 0;
    // the cells read from the blocks (IntRows.rawBlocks): this runs once a process, cold
    const blocks = c.rawBlocks;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const b = blocks[r >>> 16]!;
      const o = (r & 0xffff) * CW_WIDTH;
      const ports = b[o + 3]! >>> 0;
      const lport = ports >>> 16;
      let s = side[lport]!;
      if (s === 0) side[lport] = s = isServerPort(lport) ? 1 : 2;
      const key = s === 1 ? (b[o + 2]! * 65536 + lport) * 2 + 1 : (b[o + 2]! * 65536 + (ports & 0xffff)) * 2;
      let g = key === lastKey ? lastGroup : groupOf.get(key);
      lastKey = key;
      if (g === undefined) {
        groupOf.set(key, (g = keys.push(key) - 1));
        count.push(0);
        unread.push(0);
        bytes.push(0);
      }
      lastGroup = g;
      count[g]!++;
      const q = b[o + 4]! >>> 2;
      const rx = q === RX_BIG ? this.bigQueues.get(r)! : q;
      if (rx > 0) {
        unread[g]!++;
        bytes[g]! += rx - 1;
      }
    }
    return keys.map((key, g) => ({
      server: key % 2 === 1, remote: this.addressList[Math.floor(key / 131072)]!, port: Math.floor(key / 2) % 65536,
      count: count[g]!, unread: unread[g]!, unreadBytes: bytes[g]!,
    }));
  }

  /** CLOSE_WAIT rows by owner, made at the first question (a process's rows mostly come together). */
  private closeWaitRows(): Map<number, Int32Array> {
    if (this.byOwner !== null) return this.byOwner;
    // a run of rows of one process counted, then filled, with one lookup a run, not a row
    const c = this.closeWait;
    const blocks = c.rawBlocks;
    const n = c.length;
    const pidOf = (r: number): number => blocks[r >>> 16]![(r & 0xffff) * CW_WIDTH]!; // inlined once optimized
    const counts = new Map<number, number>();
    for (let r = 0; r < n;) {
      const pid = pidOf(r);
      const start = r;
      while (r < n && pidOf(r) === pid) r++;
      counts.set(pid, (counts.get(pid) ?? 0) + r - start);
    }
    const byOwner = new Map([...counts].map(([pid, k]) => [pid, new Int32Array(k)]));
    const filled = new Map<number, number>();
    for (let r = 0; r < n;) {
      const pid = pidOf(r);
      const rows = byOwner.get(pid)!;
      let at = filled.get(pid) ?? 0;
      while (r < n && pidOf(r) === pid) rows[at++] = r++;
      filled.set(pid, at);
    }
    return (this.byOwner = byOwner);
  }

  closeWaitByKey(keys: ReadonlySet<string>): Socket[] {
    // by key: a 4-tuple is one socket in a namespace (a capture's rows are one namespace's), with every owner
    const out = new Map<string, Socket>();
    for (let r = 0; r < this.closeWait.length; r++) {
      const s = this.closeWaitRecord(r);
      const key = halfKey(s.local, s.remote);
      if (!keys.has(key)) continue;
      const known = out.get(key);
      if (known === undefined) out.set(key, s);
      else known.owners.push(s.owners[0]!);
    }
    return [...out.values()];
  }

  private closeWaitRecord(r: number): Socket {
    const c = this.closeWait;
    const ports = c.get(r, 3) >>> 0;
    const rx = c.get(r, 4) >>> 2;
    return {
      proto: 'tcp', family: (c.get(r, 4) & INET6) === 0 ? 'inet' : 'inet6', state: 'CLOSE_WAIT', detail: null,
      local: { address: this.addressList[c.get(r, 1)]!, port: ports >>> 16 },
      remote: { address: this.addressList[c.get(r, 2)]!, port: ports & 0xffff },
      rxQueue: rx === RX_BIG ? this.bigQueues.get(r)! : rx, txQueue: null, backlog: null, uid: null,
      inode: null, owners: [{ pid: c.get(r, 0), fd: null, command: null }], netns: null,
      origin: { source: '', line: 0 },
    };
  }

  inferredListenPorts(min: number, range: [number, number] | null): Set<number> {
    if ((range === null) !== (this.range === null) || (range !== null && (range[0] !== this.range![0] || range[1] !== this.range![1]))) {
      throw new Error('a folded capture is judged with the port range it was folded with');
    }
    const out = new Set<number>();
    for (let port = 0; port < 65536; port++) if (this.portRows[port]! >= min && this.portRows[port]! > 0 && this.portBad[port] === 0) out.add(port);
    return out;
  }

  forEachOrphanFd(tables: ReadonlyMap<string, ReadonlySet<string>>, fn: (pid: number, fd: number, withInode: boolean, hint: string | null, sockRow: boolean) => void): void {
    const c = this.socketFds;
    // Most of these fds are never-bound sockets (all 132,000 socket fds of the 1M-line socket-heavy
    // capture): read as numbers, without a record or an inode string made for each (orphanSocketFds
    // over forEachSocketFd took ~120 ms of the rules' ~230 there, cold, --cpu-prof).
    let rowInodes: Set<number> | null = null; // the tables' inodes that are numbers as String(n) writes them
    const blocks = c.rawBlocks; // cells read from the blocks: this runs once, cold
    for (let r = 0; r < c.length; r++) {
      const b = blocks[r >>> 16]!;
      const o = (r & 0xffff) * FD_WIDTH;
      const inode = b[o + 2]!;
      const flags = b[o + 3]!;
      const sockRow = (flags & 1) === 1;
      let orphan: boolean;
      if (inode === -1) orphan = sockRow;
      else if (inode < -1) orphan = !this.hasInode(this.bigInodes[-2 - inode]!) && isOrphanSocket(tables, null, this.bigInodes[-2 - inode]!);
      else {
        // hasInode(String(inode)) && isOrphanSocket(tables, null, String(inode)), by number
        rowInodes ??= numericInodes(tables);
        orphan = !(inode > 0 && (this.inodes.get(inode) ?? this.absorbed?.get(inode) ?? 0) !== 0) && !rowInodes.has(inode);
      }
      if (!orphan) continue;
      const hint = (flags >> 1) - 1;
      fn(b[o]!, b[o + 1]!, inode !== -1, hint < 0 ? null : this.hints[hint]!, sockRow);
    }
  }
}

/** The inodes of every table that are numbers written as String(n) writes them (no other string is String(n) of an inode). */
function numericInodes(tables: ReadonlyMap<string, ReadonlySet<string>>): Set<number> {
  const out = new Set<number>();
  for (const rows of tables.values()) {
    for (const inode of rows) {
      const n = Number(inode);
      if (Number.isInteger(n) && n >= 0 && String(n) === inode) out.add(n);
    }
  }
  return out;
}

/**
 * Rows folded: TCP in ESTABLISHED or CLOSE_WAIT (with both endpoints), or with no state (lsof -T),
 * and sockets of other protocols, which no rule reads one by one. Other TCP states stay records.
 */
function foldable(s: Socket): boolean {
  if (s.proto !== 'tcp') return true;
  if (s.state === 'ESTABLISHED' || s.state === null) return true;
  return s.state === 'CLOSE_WAIT' && s.local?.port != null && s.remote?.port != null;
}

/** SocketFold.parts(): a fold as arrays (transferable) and plain records. */
export interface FoldParts {
  rows: number;
  inodes: U32MapParts;
  kept: Socket[];
  keptKeys: SocketKey[];
  states: Map<number, Map<string, number>>;
  addresses: string[];
  portRows: Uint32Array;
  portBad: Uint8Array;
  portFirst: Float64Array;
  portPeers: Array<[number, Float64Array]>;
  closeWait: IntRowsParts;
  bigQueues: Map<number, number>;
  socketFds: IntRowsParts;
  hints: string[];
  bigInodes: string[];
}

function tooMany(what: string): InputError {
  return new InputError(`more than ${what}: more than fdleak analyze judges in bounded memory; capture less at once (lsof -nP -p PID, or one user's processes: lsof -nP -u USER)`, { source: 'analyze' });
}

/** Whether an inode's text is keyed as its number (plainInodeShape). */
export function plainInode(text: string): boolean {
  return plainInodeShape(text.length, text.charCodeAt(0));
}
