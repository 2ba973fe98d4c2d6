/** Well-known server ports an operator recognises at a glance; evidence names them. */
const SERVICES: ReadonlyMap<number, string> = new Map([
  [21, 'ftp'], [22, 'ssh'], [25, 'smtp'], [53, 'dns'], [80, 'http'], [110, 'pop3'], [123, 'ntp'],
  [143, 'imap'], [389, 'ldap'], [443, 'https'], [465, 'smtps'], [587, 'submission'], [636, 'ldaps'],
  [993, 'imaps'], [995, 'pop3s'], [1433, 'mssql'], [1521, 'oracle'], [2049, 'nfs'], [2181, 'zookeeper'],
  [2379, 'etcd'], [3000, 'http-dev'], [3306, 'mysql'], [4222, 'nats'], [5432, 'postgres'], [5672, 'amqp'],
  [6379, 'redis'], [6432, 'pgbouncer'], [8080, 'http-alt'], [8443, 'https-alt'], [9042, 'cassandra'],
  [9092, 'kafka'], [9200, 'elasticsearch'], [9300, 'elasticsearch-transport'], [11211, 'memcached'],
  [15672, 'rabbitmq-mgmt'], [27017, 'mongodb'],
]);

/** The conventional service on a port, e.g. 3306 -> "mysql". */
export function serviceName(port: number | null | undefined): string | undefined {
  return port === null || port === undefined ? undefined : SERVICES.get(port);
}
