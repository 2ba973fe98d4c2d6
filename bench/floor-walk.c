/*
 * The floor for `fdleak scan`: the least work that can count fds and socket fds of every process,
 * a readdir of /proc, then readdir + readlink of each /proc/<pid>/fd/<n>. No limits, no names, no
 * socket tables. Compiled by bench/scan.mjs: gcc -O2 -o floor-walk floor-walk.c
 *
 *   floor-walk [--at]    --at: readlinkat(dirfd, name) instead of readlink("/proc/P/fd/N"),
 *                         which saves the kernel a path walk per fd (Node has no readlinkat).
 * Prints "processes=P fds=F sockets=S denied=D".
 *
 *   floor-walk --run CMD [ARG...]   not a walk: the bench's stopwatch. Runs CMD (stdio inherited),
 *                         then prints "TIME <wall ms> <cpu ms>" on stderr: wall from fork to exit,
 *                         CPU as user + system of CMD and the children it waited for (wait4
 *                         rusage, microseconds). CPU time is what a loaded machine disturbs least.
 *                         Exits with CMD's status.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int run_timed(char **argv) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 2; }
  if (pid == 0) {
    execvp(argv[0], argv);
    perror(argv[0]);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) { perror("wait4"); return 2; }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double wall = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
  double cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  fprintf(stderr, "TIME %.3f %.3f\n", wall, cpu);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int numeric(const char *s) {
  if (*s == '\0') return 0;
  for (; *s; s++) if (*s < '0' || *s > '9') return 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "--run") == 0) return run_timed(argv + 2);
  int at = argc > 1 && strcmp(argv[1], "--at") == 0;
  long processes = 0, fds = 0, sockets = 0, denied = 0;
  DIR *proc = opendir("/proc");
  if (proc == NULL) { perror("/proc"); return 2; }
  struct dirent *p;
  char path[320], link[4096];
  while ((p = readdir(proc)) != NULL) {
    if (!numeric(p->d_name)) continue;
    snprintf(path, sizeof path, "/proc/%s/fd", p->d_name);
    DIR *fdd = opendir(path);
    if (fdd == NULL) { denied++; continue; } /* EACCES or gone */
    processes++;
    size_t base = strlen(path);
    struct dirent *f;
    while ((f = readdir(fdd)) != NULL) {
      if (f->d_name[0] == '.') continue;
      ssize_t n;
      if (at) {
        n = readlinkat(dirfd(fdd), f->d_name, link, sizeof link - 1);
      } else {
        snprintf(path + base, sizeof path - base, "/%s", f->d_name);
        n = readlink(path, link, sizeof link - 1);
      }
      if (n < 0) continue;
      fds++;
      if (n > 7 && memcmp(link, "socket:", 7) == 0) sockets++;
    }
    path[base] = '\0';
    closedir(fdd);
  }
  closedir(proc);
  printf("processes=%ld fds=%ld sockets=%ld denied=%ld\n", processes, fds, sockets, denied);
  return 0;
}
