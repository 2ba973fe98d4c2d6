/*
 * The floor for `fdleak scan`: the least work that can count fds and socket fds of every process,
 * a readdir of /proc, then readdir + readlink of each /proc/<pid>/fd/<n>. No limits, no names, no
 * socket tables. Compiled by bench/scan.mjs: gcc -O2 -o floor-walk floor-walk.c
 *
 *   floor-walk [--at]    --at: readlinkat(dirfd, name) instead of readlink("/proc/P/fd/N"),
 *                         which saves the kernel a path walk per fd (Node has no readlinkat).
 *   floor-walk --tables  the walk, then the other thing scan cannot do without: each network
 *                         namespace's socket tables (/proc/P/net/{tcp,tcp6,udp,...,unix,netlink,
 *                         packet}, the files scan tallies) read once to the end, through the first
 *                         process seen in it (readlink /proc/P/ns/net), rows counted. tcp and tcp6
 *                         are skipped where sockstat/sockstat6 show no TCP socket of the family and
 *                         no TIME_WAIT, as scan skips them. Scan's output needs those tables (TCP
 *                         states, rows per family, orphan sockets), so this is the least work that
 *                         could produce it; the plain walk is the stricter floor.
 * Prints "processes=P fds=F sockets=S denied=D" (and " namespaces=N rows=R" with --tables).
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

/* Netns ids seen so far (the inode of /proc/P/ns/net): each namespace's tables are read once. */
#define MAX_NETNS 4096
static unsigned long seen_netns[MAX_NETNS];
static int n_netns;

static const char *TABLES[] = {"tcp", "tcp6", "udp", "udp6", "udplite", "udplite6", "raw", "raw6",
                               "icmp", "icmp6", "unix", "netlink", "packet"};

/* Reads path to the end; returns its newline count, -1 if it cannot be opened. */
static long count_lines(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  long lines = 0;
  size_t n;
  while ((n = fread(buf, 1, size, f)) > 0)
    for (size_t i = 0; i < n; i++) lines += buf[i] == '\n';
  fclose(f);
  return lines;
}

/* The first line of path starting with prefix, parsed by fmt into a and b; the count parsed. */
static int scan_line(const char *path, const char *prefix, const char *fmt, long *a, long *b) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  char line[512];
  int got = 0;
  while (fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, prefix, strlen(prefix)) == 0) { got = sscanf(line + strlen(prefix), fmt, a, b); break; }
  fclose(f);
  return got;
}

/* The tables of pid's namespace, unless that namespace was read already: rows read (0 if seen). */
static long read_tables(long pid, int *new_netns) {
  char path[320], link[128];
  static char buf[1 << 16];
  *new_netns = 0;
  snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
  ssize_t n = readlink(path, link, sizeof link - 1);
  if (n < 0) return 0;
  link[n] = '\0';
  unsigned long id = strtoul(strchr(link, '[') ? strchr(link, '[') + 1 : link, NULL, 10);
  for (int i = 0; i < n_netns; i++) if (seen_netns[i] == id) return 0;
  if (n_netns == MAX_NETNS) return 0;
  seen_netns[n_netns++] = id;
  *new_netns = 1;
  long inuse = -1, tw = -1, inuse6 = -1, unused;
  snprintf(path, sizeof path, "/proc/%ld/net/sockstat", pid);
  int v4 = scan_line(path, "TCP: inuse ", "%ld orphan %*d tw %ld", &inuse, &tw) == 2;
  snprintf(path, sizeof path, "/proc/%ld/net/sockstat6", pid);
  int v6 = scan_line(path, "TCP6: inuse ", "%ld%ln", &inuse6, &unused) >= 1;
  long rows = 0;
  for (size_t t = 0; t < sizeof TABLES / sizeof *TABLES; t++) {
    if (t == 0 && v4 && inuse == 0 && tw == 0) continue;
    if (t == 1 && v4 && v6 && inuse6 == 0 && tw == 0) continue;
    snprintf(path, sizeof path, "/proc/%ld/net/%s", pid, TABLES[t]);
    long lines = count_lines(path, buf, sizeof buf);
    if (lines > 0) rows += lines - 1; /* less the header */
  }
  return rows;
}

static int numeric(const char *s) {
  if (*s == '\0') return 0;
  for (; *s; s++) if (*s < '0' || *s > '9') return 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "--run") == 0) return run_timed(argv + 2);
  int at = argc > 1 && strcmp(argv[1], "--at") == 0;
  int tables = argc > 1 && strcmp(argv[1], "--tables") == 0;
  long processes = 0, fds = 0, sockets = 0, denied = 0;
  /* The pids walked, for the tables after the walk (as scan: every fd read before any table). */
  static long walked[1 << 20];
  long nwalked = 0;
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
    if (tables && nwalked < (long)(sizeof walked / sizeof *walked)) walked[nwalked++] = atol(p->d_name);
  }
  closedir(proc);
  printf("processes=%ld fds=%ld sockets=%ld denied=%ld", processes, fds, sockets, denied);
  if (tables) {
    long rows = 0;
    for (long i = 0; i < nwalked; i++) {
      int fresh;
      rows += read_tables(walked[i], &fresh);
    }
    printf(" namespaces=%d rows=%ld", n_netns, rows);
  }
  printf("\n");
  return 0;
}
