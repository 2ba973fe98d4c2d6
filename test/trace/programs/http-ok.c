/* A minimal loopback HTTP/1.0 server for bench/trace.mjs: accept, read the request, answer "ok",
 * close; one connection at a time. Prints "<pid> <port>" once listening on 127.0.0.1. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void serve(int c) {
  char buf[4096];
  ssize_t n = read(c, buf, sizeof buf);
  static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  if (n > 0 && write(c, reply, sizeof reply - 1) < 0) perror("write");
  close(c);
}

int main(void) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 128) < 0) return 1;
  socklen_t len = sizeof a;
  getsockname(l, (struct sockaddr *)&a, &len);
  printf("%d %d\n", (int)getpid(), ntohs(a.sin_port));
  fflush(stdout);
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c >= 0) serve(c);
  }
}
