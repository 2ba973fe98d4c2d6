/*
 * What the first touch of a fresh page of memory costs on this machine: maps 64 MiB of anonymous
 * memory and writes one byte per 4 KiB page, then the same on 2 MiB-aligned memory with
 * MADV_HUGEPAGE (honoured where transparent huge pages are "madvise" or "always"). Prints
 * "<µs per 4 KiB page> <ms for 64 MiB in 4 KiB pages> <ms for 64 MiB in huge pages>", best of 3.
 * Why: a Node process touches far more memory than lsof or a C walk (tens of thousands of fresh
 * pages a run), so on a VM whose free memory goes back to the host at once (free page reporting)
 * that cost alone moves every ratio the benches print; they print this beside their machine line.
 * The bench compiles it with gcc (bench/lib.mjs freshPageCost).
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#define SIZE (64UL << 20)
#define HUGE (2UL << 20)

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* ms to touch SIZE bytes of fresh memory, 4 KiB apart; huge: 2 MiB-aligned with MADV_HUGEPAGE. */
static double touch(int huge) {
  size_t len = SIZE + (huge ? HUGE : 0);
  char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return -1;
  char *p = raw;
  if (huge) {
    p = (char *)(((uintptr_t)raw + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
    madvise(p, SIZE, MADV_HUGEPAGE);
  }
  double t0 = now_ms();
  for (size_t i = 0; i < SIZE; i += 4096) p[i] = 1;
  double ms = now_ms() - t0;
  munmap(raw, len);
  return ms;
}

int main(void) {
  double small = -1, huge = -1;
  for (int r = 0; r < 3; r++) {
    double s = touch(0), h = touch(1);
    if (s >= 0 && (small < 0 || s < small)) small = s;
    if (h >= 0 && (huge < 0 || h < huge)) huge = h;
  }
  if (small < 0) return 1;
  printf("%.2f %.1f %.1f\n", small * 1000 / (SIZE / 4096), small, huge);
  return 0;
}
