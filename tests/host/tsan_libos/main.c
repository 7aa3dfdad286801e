/*
 * The runner of `make tsan-test` (tests/host/tsan_libos/criterion/criterion.h
 * says why not Criterion): each registered test whose "suite/name" starts
 * with --filter's text before its '*' runs in a child process; the exit
 * status is 1 when any failed (an assertion, or a data race
 * ThreadSanitizer found: TSAN_OPTIONS=halt_on_error=1 exitcode=66).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TESTS_MAX 64

static const struct tsan_test *tests[TESTS_MAX];
static unsigned nr_tests;

void tsan_register(const struct tsan_test *t)
{
	if (nr_tests < TESTS_MAX)
		tests[nr_tests++] = t;
}

static bool wanted(const struct tsan_test *t, const char *filter)
{
	char full[128];
	size_t n = strcspn(filter, "*");

	snprintf(full, sizeof(full), "%s/%s", t->suite, t->name);
	return strncmp(full, filter, n) == 0;
}

static bool run_one(const struct tsan_test *t)
{
	int status = 0;
	pid_t pid;

	fflush(stdout);	/* else the child prints the parent's lines again */
	pid = fork();

	if (pid == 0) {
		t->fn();
		exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv)
{
	const char *filter = "";
	unsigned ran = 0, failed = 0;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--filter") == 0)
			filter = argv[i + 1];
	for (unsigned i = 0; i < nr_tests; i++) {
		if (!wanted(tests[i], filter))
			continue;
		ran++;
		if (!run_one(tests[i])) {
			failed++;
			printf("FAILED %s/%s\n", tests[i]->suite,
			       tests[i]->name);
		} else {
			printf("ok     %s/%s\n", tests[i]->suite,
			       tests[i]->name);
		}
	}
	printf("tsan tests: %u run, %u failed\n", ran, failed);
	return failed || !ran ? 1 : 0;
}
