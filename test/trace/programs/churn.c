/* Opens and closes /dev/null at a fixed rate (argv[1] per second) until killed: load for the
 * bounded-memory test and the exit-path tests of fdleak trace. Prints {"ready":true,"pid":N}. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void open_and_close(void) {
  int fd = open("/dev/null", O_RDONLY);
  if (fd >= 0) close(fd);
}

int main(int argc, char **argv) {
  long rate = argc > 1 ? atol(argv[1]) : 1000;
  printf("{\"ready\":true,\"pid\":%d}\n", (int)getpid());
  fflush(stdout);
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  long done = 0;
  for (;;) {
    for (int i = 0; i < 50; i++) open_and_close();
    done += 50;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double elapsed = (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
    double ahead = done / (double)rate - elapsed;
    if (ahead > 0) usleep((useconds_t)(ahead * 1e6));
  }
}
