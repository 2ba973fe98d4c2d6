/**
 * Kernel TCP state names (include/net/tcp_states.h), with underscores, as in the contract, and the
 * "st" code of /proc/net/tcp that names them. No zod here: scan reads states without loading it.
 */
export const TCP_STATES = [
  'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE',
  'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV',
] as const;
export type TcpState = (typeof TCP_STATES)[number];

/** The hex code in /proc/net/tcp "st" -> state name (01..0C). */
export function tcpStateFromCode(code: number): TcpState | undefined {
  return TCP_STATES[code - 1];
}
