/*
 * The floor for `fdleak scan`: the least work that can count fds and socket fds of every process,
 * a readdir of /proc, then readdir + readlink of each /proc/<pid>/fd/<n>. No limits, no names, no
 * socket tables. Compiled by bench/scan.mjs: gcc -O2 -o floor-walk floor-walk.c
 *
 *   floor-walk [--at]    --at: readlinkat(dirfd, name) instead of readlink("/proc/P/fd/N"),
 *                         which saves the kernel a path walk per fd (Node has no readlinkat).
 * Prints "processes=P fds=F sockets=S denied=D".
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int numeric(const char *s) {
  if (*s == '\0') return 0;
  for (; *s; s++) if (*s < '0' || *s > '9') return 0;
  return 1;
}

int main(int argc, char **argv) {
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
