/**
 * Well-known ports, one table for both directions: the name evidence shows an operator (3306 ->
 * "mysql"), and the names tools print instead of port numbers without -n/-P (/etc/services names,
 * "localhost:mysql" -> 3306). Each row: port, the name shown (or null: none shown), the names read.
 * The two differ where /etc/services' name says little at a glance (53 is read as "domain", shown
 * as "dns").
 */
const PORTS: ReadonlyArray<readonly [number, string | null, ...string[]]> = [
  [20, null, 'ftp-data'], [21, 'ftp', 'ftp'], [22, 'ssh', 'ssh'], [23, null, 'telnet'], [25, 'smtp', 'smtp'],
  [53, 'dns', 'domain'], [67, null, 'bootps'], [68, null, 'bootpc'], [69, null, 'tftp'], [80, 'http', 'http', 'www'],
  [88, null, 'kerberos'], [110, 'pop3', 'pop3'], [111, null, 'sunrpc'], [123, 'ntp', 'ntp'], [137, null, 'netbios-ns'],
  [139, null, 'netbios-ssn'], [143, 'imap', 'imap2', 'imap'], [161, null, 'snmp'], [389, 'ldap', 'ldap'],
  [443, 'https', 'https'], [445, null, 'microsoft-ds'], [465, 'smtps', 'submissions', 'urd'], [514, null, 'syslog'],
  [587, 'submission', 'submission'], [636, 'ldaps', 'ldaps'], [873, null, 'rsync'], [993, 'imaps', 'imaps'],
  [995, 'pop3s', 'pop3s'], [1080, null, 'socks'], [1194, null, 'openvpn'], [1433, 'mssql', 'ms-sql-s'],
  [1521, 'oracle'], [2049, 'nfs', 'nfs'], [2181, 'zookeeper', 'zookeeper'], [2379, 'etcd'], [3000, 'http-dev'],
  [3306, 'mysql', 'mysql'], [4222, 'nats'], [5432, 'postgres', 'postgresql', 'postgres'], [5672, 'amqp', 'amqp'],
  [6000, null, 'x11'], [6379, 'redis', 'redis'], [6432, 'pgbouncer'], [8080, 'http-alt', 'http-alt', 'webcache'],
  [8443, 'https-alt'], [9042, 'cassandra'], [9092, 'kafka'], [9200, 'elasticsearch'], [9300, 'elasticsearch-transport'],
  [11211, 'memcached', 'memcache'], [15672, 'rabbitmq-mgmt'], [27017, 'mongodb', 'mongodb'],
];

const SHOWN: ReadonlyMap<number, string> = new Map(PORTS.flatMap(([port, shown]) => (shown === null ? [] : [[port, shown] as const])));
const READ: ReadonlyMap<string, number> = new Map(PORTS.flatMap(([port, , ...names]) => names.map((n) => [n, port] as const)));

/** The conventional service on a port, e.g. 3306 -> "mysql". */
export function serviceName(port: number | null | undefined): string | undefined {
  return port === null || port === undefined ? undefined : SHOWN.get(port);
}

/** The port of a service name a tool printed ("mysql" -> 3306); undefined for names not listed. */
export function servicePort(name: string): number | undefined {
  return READ.get(name);
}
