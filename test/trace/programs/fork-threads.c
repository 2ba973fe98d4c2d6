/* A parent that leaks from two threads and forks workers that leak and churn on their own.
 * - parent: parent_pipes() keeps PIPES pipes open; two threads run thread_sockets(), each keeping
 *   THREAD_SOCKETS UDP sockets open (threads share the parent's fd table).
 * - WORKERS workers (fork): each closes its inherited copies of the parent's pipes, keeps
 *   WORKER_EVENTFDS eventfds open in worker_eventfds() and opens and closes WORKER_CHURN sockets in
 *   worker_churn(); prints {"ready":true,"role":"worker","pid":N} and sleeps.
 * The parent prints {"ready":true,"role":"parent","pid":N,"workers":[...]} once all are ready.
 * Usage: fork-threads PIPES THREAD_SOCKETS WORKERS WORKER_EVENTFDS WORKER_CHURN SECONDS. gcc -g -O0 -pthread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

static int pipes, n_thread_sockets, workers, n_worker_eventfds, n_worker_churn, seconds;
static int pipe_fds[4096];

static void parent_pipes(void) {
  for (int i = 0; i < pipes; i++) if (pipe(&pipe_fds[2 * i]) < 0) exit(1);
}

static void *thread_sockets(void *arg) {
  (void)arg;
  for (int i = 0; i < n_thread_sockets; i++) socket(AF_INET, SOCK_DGRAM, 0);
  return NULL;
}

static void worker_eventfds(void) {
  for (int i = 0; i < n_worker_eventfds; i++) eventfd(0, 0);
}

static void worker_churn(void) {
  for (int i = 0; i < n_worker_churn; i++) close(socket(AF_INET, SOCK_STREAM, 0));
}

static void worker(int ready_fd) {
  for (int i = 0; i < 2 * pipes; i++) close(pipe_fds[i]);
  worker_eventfds();
  worker_churn();
  printf("{\"ready\":true,\"role\":\"worker\",\"pid\":%d}\n", (int)getpid());
  fflush(stdout);
  char c = 1;
  if (write(ready_fd, &c, 1) != 1) exit(1);
  close(ready_fd);
  sleep(seconds);
  exit(0);
}

int main(int argc, char **argv) {
  if (argc < 7) return 2;
  pipes = atoi(argv[1]); n_thread_sockets = atoi(argv[2]); workers = atoi(argv[3]);
  n_worker_eventfds = atoi(argv[4]); n_worker_churn = atoi(argv[5]); seconds = atoi(argv[6]);
  parent_pipes();
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, thread_sockets, NULL);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  int ready[2];
  if (pipe(ready) < 0) return 1;
  int pids[64];
  for (int w = 0; w < workers && w < 64; w++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) { close(ready[0]); worker(ready[1]); }
    pids[w] = pid;
  }
  close(ready[1]);
  char c;
  for (int w = 0; w < workers; w++) if (read(ready[0], &c, 1) != 1) return 1;
  close(ready[0]);
  printf("{\"ready\":true,\"role\":\"parent\",\"pid\":%d,\"workers\":[", (int)getpid());
  for (int w = 0; w < workers; w++) printf("%s%d", w ? "," : "", pids[w]);
  printf("]}\n");
  fflush(stdout);
  sleep(seconds);
  while (wait(NULL) > 0) {}
  return 0;
}
