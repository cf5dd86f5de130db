/* Load that is not PostgreSQL, for bench/hooks: runs one mode for a number of
 * seconds and prints one JSON line. C so that the hook's few tens of ns per
 * event are not hidden under an interpreter's own cost per operation.
 *   load cpu <seconds> <workers>     compute loop in <workers> processes
 *   load syscall <seconds>           getppid() in a loop: one syscall per op
 *   load pingpong <seconds> <cpu>    two processes bounce a byte over two
 *                                    pipes; both pinned to <cpu> (-1: not
 *                                    pinned), so a round trip is 4 syscalls
 *                                    and 2 context switches
 * The clock is read through the vDSO (no syscall) every few thousand ops. */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void pin(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity");
}

/* context switches of this process and of its reaped children */
static long switches(void)
{
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	return self.ru_nvcsw + self.ru_nivcsw + kids.ru_nvcsw + kids.ru_nivcsw;
}

/* CPU time (user + system) of this process and its reaped children: the
 * hook runs in the context of the task that hit it, so its cost lands here,
 * while time other processes take from the vCPUs does not */
static double cpu_seconds(void)
{
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	struct timeval *tv[] = { &self.ru_utime, &self.ru_stime, &kids.ru_utime, &kids.ru_stime };
	double s = 0;
	for (int i = 0; i < 4; i++)
		s += tv[i]->tv_sec + tv[i]->tv_usec / 1e6;
	return s;
}

static void mode_cpu(double seconds, int workers)
{
	/* one counter per worker, shared with the parent */
	volatile uint64_t *ops = mmap(NULL, sizeof(uint64_t) * workers, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ops == MAP_FAILED)
		die("mmap");
	double c0 = cpu_seconds();
	double t0 = now();
	for (int w = 0; w < workers; w++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			uint64_t x = 88172645463325252ull + w, n = 0;
			for (;;) {
				for (int i = 0; i < 4096; i++) { /* xorshift64: no memory traffic */
					x ^= x << 13;
					x ^= x >> 7;
					x ^= x << 17;
				}
				n += 4096;
				if (now() - t0 >= seconds)
					break;
			}
			ops[w] = n + (x == 0); /* keeps x alive */
			_exit(0);
		}
	}
	while (wait(NULL) > 0)
		;
	double t = now() - t0;
	uint64_t total = 0;
	for (int w = 0; w < workers; w++)
		total += ops[w];
	printf("{\"mode\":\"cpu\",\"ops\":%llu,\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"workers\":%d,\"switches\":%ld}\n",
	       (unsigned long long)total, t, cpu_seconds() - c0, workers, switches());
}

static void mode_syscall(double seconds)
{
	uint64_t n = 0;
	double c0 = cpu_seconds();
	long s0 = switches();
	double t0 = now(), t;
	for (;;) {
		for (int i = 0; i < 1024; i++)
			syscall(SYS_getppid); /* glibc would not cache it, but be explicit */
		n += 1024;
		if ((t = now() - t0) >= seconds)
			break;
	}
	printf("{\"mode\":\"syscall\",\"ops\":%llu,\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"syscallsPerOp\":1,\"switches\":%ld}\n",
	       (unsigned long long)n, t, cpu_seconds() - c0, switches() - s0);
}

static void mode_pingpong(double seconds, int cpu)
{
	int ab[2], ba[2];
	char c = 'x';
	if (pipe(ab) || pipe(ba))
		die("pipe");
	pin(cpu); /* inherited by the child */
	double c0 = cpu_seconds();
	long s0 = switches();
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(ab[1]);
		close(ba[0]);
		while (read(ab[0], &c, 1) == 1)
			if (write(ba[1], &c, 1) != 1)
				die("child write");
		_exit(0); /* read 0: the parent closed its end */
	}
	close(ab[0]);
	close(ba[1]);
	uint64_t n = 0;
	double t0 = now(), t;
	for (;;) {
		for (int i = 0; i < 256; i++) {
			if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
				die("parent write/read");
		}
		n += 256;
		if ((t = now() - t0) >= seconds)
			break;
	}
	close(ab[1]);
	waitpid(pid, NULL, 0);
	printf("{\"mode\":\"pingpong\",\"ops\":%llu,\"seconds\":%.6f,\"cpuSeconds\":%.6f,\"syscallsPerOp\":4,\"cpu\":%d,\"switches\":%ld}\n",
	       (unsigned long long)n, t, cpu_seconds() - c0, cpu, switches() - s0);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: load cpu|syscall|pingpong <seconds> [workers|cpu]\n");
		return 2;
	}
	double seconds = atof(argv[2]);
	if (!strcmp(argv[1], "cpu"))
		mode_cpu(seconds, argc > 3 ? atoi(argv[3]) : 1);
	else if (!strcmp(argv[1], "syscall"))
		mode_syscall(seconds);
	else if (!strcmp(argv[1], "pingpong"))
		mode_pingpong(seconds, argc > 3 ? atoi(argv[3]) : -1);
	else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	return 0;
}
