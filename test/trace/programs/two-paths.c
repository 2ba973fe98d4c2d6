/* Two code paths that open TCP sockets to a listener of its own on 127.0.0.1 (never accepted, so
 * connections stay ESTABLISHED on the client side): fetch_and_close() always closes;
 * query_backend() leaks its socket on an error path (the "reply" check fails: nothing was sent).
 * Usage: two-paths N_CLOSE N_LEAK SECONDS; prints {"ready":true,"pid":N,"port":P} when done, then
 * sleeps SECONDS. Built by the test with gcc -g -O0. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in backend;

static int fetch_and_close(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  int rc = connect(s, (struct sockaddr *)&backend, sizeof backend);
  close(s);
  return rc;
}

static int query_backend(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return -1;
  if (connect(s, (struct sockaddr *)&backend, sizeof backend) < 0) { close(s); return -1; }
  char reply[16];
  if (recv(s, reply, sizeof reply, MSG_DONTWAIT) <= 0) return -1; /* error path: s is never closed */
  close(s);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  int closing = atoi(argv[1]), leaking = atoi(argv[2]), seconds = atoi(argv[3]);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  backend.sin_family = AF_INET;
  backend.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  backend.sin_port = 0;
  if (bind(l, (struct sockaddr *)&backend, sizeof backend) < 0 || listen(l, 1024) < 0) return 1;
  socklen_t len = sizeof backend;
  getsockname(l, (struct sockaddr *)&backend, &len);
  for (int i = 0; i < closing || i < leaking; i++) {
    if (i < closing) fetch_and_close();
    if (i < leaking) query_backend();
  }
  printf("{\"ready\":true,\"pid\":%d,\"port\":%d}\n", (int)getpid(), ntohs(backend.sin_port));
  fflush(stdout);
  sleep(seconds);
  return 0;
}
