/*
 * The floor for `fdleak diagnose PID`: the least work that can tell which of a process's fds are
 * sockets and find their rows in its network namespace's TCP tables, which is what every answer
 * of diagnose (its TCP states, its orphans, its CLOSE_WAIT) starts from. A readdir of
 * /proc/PID/fd, a readlink of each fd (from inside the directory, by bare name, as fdleak does
 * on its main thread), the socket inodes into a hash set; then /proc/PID/net/tcp and tcp6 read to
 * the end, each row's st and inode columns found, and the rows kept as diagnose keeps them: the
 * process's own, inode 0 (TIME_WAIT, orphaned FIN_WAIT2) and the half-closed rows of others. No
 * parse of the kept rows, no other table, no limits, names, rules or report: one thread.
 * Compiled by bench/diagnose.mjs: gcc -O2 -o floor-diagnose floor-diagnose.c
 *
 *   floor-diagnose PID     prints "fds=F sockets=S rows=R kept=K"
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Open addressing over inodes (never 0); sized for the fds found. */
static unsigned long *slots;
static size_t mask;

static void add(unsigned long inode) {
  size_t i = (inode * 0x9E3779B97F4A7C15UL) & mask;
  while (slots[i] != 0 && slots[i] != inode) i = (i + 1) & mask;
  slots[i] = inode;
}

static int has(unsigned long inode) {
  size_t i = (inode * 0x9E3779B97F4A7C15UL) & mask;
  while (slots[i] != 0) {
    if (slots[i] == inode) return 1;
    i = (i + 1) & mask;
  }
  return 0;
}

/* Rows of one table and how many of them are kept; -1 where it cannot be read. */
static long table(const char *path, long *kept) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return errno == ENOENT ? 0 : -1;
  static char line[4096];
  long rows = -1; /* the header is not a row */
  while (fgets(line, sizeof line, f) != NULL) {
    rows++;
    if (rows == 0) continue;
    /* columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
    char *p = line, *st = NULL, *inode = NULL;
    for (int col = 0; col < 10 && *p != '\0'; col++) {
      while (*p == ' ') p++;
      if (col == 3) st = p;
      if (col == 9) inode = p;
      while (*p != ' ' && *p != '\n' && *p != '\0') p++;
    }
    if (st == NULL || inode == NULL) continue;
    unsigned long ino = strtoul(inode, NULL, 10);
    if (ino == 0 || has(ino) || (st[0] == '0' && (st[1] == '5' || st[1] == '8'))) (*kept)++;
  }
  fclose(f);
  return rows < 0 ? 0 : rows;
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: floor-diagnose PID\n"); return 2; }
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%s/fd", argv[1]);
  DIR *d = opendir(dir);
  if (d == NULL || chdir(dir) != 0) { perror(dir); return 2; }
  size_t cap = 1024, n = 0;
  char (*names)[16] = malloc(cap * sizeof *names);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (e->d_name[0] == '.' || len >= sizeof *names) continue; /* fd numbers: at most 10 digits */
    if (n == cap) names = realloc(names, (cap *= 2) * sizeof *names);
    memcpy(names[n++], e->d_name, len + 1);
  }
  closedir(d);
  size_t size = 1;
  while (size < 2 * n + 2) size <<= 1;
  slots = calloc(size, sizeof *slots);
  mask = size - 1;
  long sockets = 0;
  char target[4096];
  for (size_t i = 0; i < n; i++) {
    ssize_t len = readlink(names[i], target, sizeof target - 1);
    if (len < 0) continue; /* closed since the readdir */
    target[len] = '\0';
    if (strncmp(target, "socket:[", 8) == 0) {
      add(strtoul(target + 8, NULL, 10));
      sockets++;
    }
  }
  long kept = 0, rows = 0;
  for (int t = 0; t < 2; t++) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/net/%s", argv[1], t == 0 ? "tcp" : "tcp6");
    long r = table(path, &kept);
    if (r < 0) { perror(path); return 2; }
    rows += r;
  }
  printf("fds=%zu sockets=%ld rows=%ld kept=%ld\n", n, sockets, rows, kept);
  return 0;
}
