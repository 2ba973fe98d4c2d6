import { z } from './zod.js';
import { OriginSchema } from './origin.js';
import { TCP_STATES } from './tcp-state.js';

export { TCP_STATES } from './tcp-state.js';
export type { TcpState } from './tcp-state.js';
export const TcpStateSchema = z.enum(TCP_STATES);

/**
 * An address and port. IPv4 dotted, IPv6 in RFC 5952 text ("::1", "::ffff:127.0.0.1"),
 * wildcards as "0.0.0.0" / "::", port 0 for "*". Unix sockets: the path (or "@abstract"), port null.
 */
export const EndpointSchema = z.object({ address: z.string(), port: z.nullable(z.number().check(z.int(), z.minimum(0), z.maximum(65535))) });
export type Endpoint = z.infer<typeof EndpointSchema>;

/** One owner of a socket: a process and, where known, the fd number (a forked socket has several). */
export const OwnerSchema = z.object({
  pid: z.number().check(z.int(), z.positive()),
  fd: z.nullable(z.number().check(z.int(), z.nonnegative())),
  command: z.nullable(z.string()),
});
export type Owner = z.infer<typeof OwnerSchema>;

export const SOCKET_PROTOS = ['tcp', 'udp', 'udplite', 'raw', 'unix', 'netlink', 'packet', 'icmp', 'other'] as const;
export const SocketProtoSchema = z.enum(SOCKET_PROTOS);
export type SocketProto = z.infer<typeof SocketProtoSchema>;

/**
 * A row of a kernel socket table (as /proc/net/*, ss, netstat or lsof report it). Inode "0" means
 * no fd refers to it any more (TIME_WAIT, orphaned FIN_WAIT2, unaccepted child, SYN_RECV request);
 * null means the source did not say.
 */
export const SocketSchema = z.object({
  proto: SocketProtoSchema,
  family: z.nullable(z.enum(['inet', 'inet6', 'unix', 'netlink', 'packet'])),
  state: z.nullable(TcpStateSchema), // TCP only; null for udp/unix/raw
  /** Free-form state for non-TCP sockets: unix "CONNECTED"/"LISTEN", udp "UNCONN"/"ESTAB". */
  detail: z.nullable(z.string()),
  local: z.nullable(EndpointSchema),
  remote: z.nullable(EndpointSchema),
  /** LISTEN: connections waiting in the accept queue; other states: unread bytes. */
  rxQueue: z.nullable(z.number().check(z.int(), z.nonnegative())),
  /** LISTEN (ss only): the backlog limit; other states: unacknowledged bytes. */
  txQueue: z.nullable(z.number().check(z.int(), z.nonnegative())),
  /** LISTEN: max accept backlog, only inet_diag (ss -l) knows it. */
  backlog: z.nullable(z.number().check(z.int(), z.nonnegative())),
  uid: z.nullable(z.number().check(z.int(), z.nonnegative())),
  inode: z.nullable(z.string().check(z.regex(/^\d+$/))),
  owners: z.array(OwnerSchema),
  /** The network namespace whose table held this row ("net:[4026531840]"), when known. */
  netns: z.nullable(z.string()),
  origin: OriginSchema,
});
export type Socket = z.infer<typeof SocketSchema>;
