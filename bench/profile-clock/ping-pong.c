// ping-pong through pipes: the child blocks in read twice per round trip (2 context switches)
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  int a[2], b[2]; pipe(a); pipe(b);
  pid_t c = fork();
  if (c == 0) {
    char x; fprintf(stdout, "%d\n", getpid()); fflush(stdout);
    read(a[0], &x, 1); // go
    for (long i = 0; i < n; i++) { read(a[0], &x, 1); write(b[1], &x, 1); }
    struct rusage r; getrusage(RUSAGE_SELF, &r);
    fprintf(stderr, "%.3f\n", (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 / n + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / (double)n);
    return 0;
  }
  char x = 0; char line[32];
  // parent waits for "go" on stdin so the test can attach first
  fgets(line, sizeof line, stdin);
  write(a[1], &x, 1);
  for (long i = 0; i < n; i++) { write(a[1], &x, 1); read(b[0], &x, 1); }
  waitpid(c, 0, 0);
  return 0;
}
