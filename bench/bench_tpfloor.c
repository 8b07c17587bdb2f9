/*
 * bench_tpfloor.c — the floor under the eBPF observer's fallback on this
 * kernel: what every system call on the machine pays once anything at all
 * is attached to the sys_enter/sys_exit raw tracepoints.
 *
 * Attaches two programs that do nothing (r0 = 0; exit) to sys_enter and
 * sys_exit, runs CMD, and detaches them when it ends (the links are this
 * process's fds). bench/bench_bpf.sh times dd under it beside the observer:
 * the observer's cost per call minus this one's is what our programs add;
 * the rest is the kernel's slow system call path (every task gets
 * SYSCALL_WORK_SYSCALL_TRACEPOINT while a sys_enter/sys_exit program is
 * attached).
 *
 *   bench_tpfloor -- CMD [ARGS...]      exits with CMD's status
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int empty_prog(void)
{
	struct bpf_insn insn[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};

	return bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "fl_tpfloor", "GPL", insn, 2, NULL);
}

int main(int argc, char **argv)
{
	const char *tp[2] = {"sys_enter", "sys_exit"};
	int i = 1, st;
	pid_t pid;

	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		fprintf(stderr, "usage: bench_tpfloor -- CMD [ARGS...]\n");
		return 2;
	}
	for (int k = 0; k < 2; k++) {
		int pfd = empty_prog();

		if (pfd < 0 || bpf_raw_tracepoint_open(tp[k], pfd) < 0) {
			fprintf(stderr, "bench_tpfloor: %s: %s\n", tp[k], strerror(errno));
			return 125;
		}
	}
	pid = fork();
	if (pid < 0)
		return 125;
	if (pid == 0) {
		execvp(argv[i], argv + i);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
