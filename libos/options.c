/*
 * libos's options and the check of a guest's arguments against them and
 * the guest's own (libos/options.h). Owns: the list of option names and
 * the "unknown option" report. Never: parses an option's value (each part
 * of libos reads its own), or decides what a non-option argument means.
 */
#include <lib/fmt.h>
#include <lib/print.h>
#include <libos/options.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define OPTION_PREFIX "--"
/* Report lines stay under EL2's console line (el2/vm.h VM_CONSOLE_LINE). */
#define REPORT_WIDTH 96

const char *const libos_options[] = {
	LIBOS_OPT_STATS,     LIBOS_OPT_PTDUMP,	    LIBOS_OPT_HIGH_WATER,
	LIBOS_OPT_SW_AF,     LIBOS_OPT_VA_BITS_39, LIBOS_OPT_VA_BITS_48,
	LIBOS_OPT_ASID_BITS, NULL,
};

static bool takes_value(const char *name)
{
	size_t n = strlen(name);

	return n && name[n - 1] == '=';
}

static bool matches(const char *arg, const char *name)
{
	if (takes_value(name))
		return strncmp(arg, name, strlen(name)) == 0;
	return strcmp(arg, name) == 0;
}

static bool listed(const char *arg, const char *const *names)
{
	for (; names && *names; names++)
		if (matches(arg, *names))
			return true;
	return false;
}

const char *libos_options_unknown(int argc, char *const *argv,
				  const char *const *guest)
{
	for (int i = 1; i < argc && argv[i]; i++) {
		const char *a = argv[i];

		if (strncmp(a, OPTION_PREFIX, sizeof(OPTION_PREFIX) - 1) != 0)
			continue;
		if (!listed(a, libos_options) && !listed(a, guest))
			return a;
	}
	return NULL;
}

/* Words into lines of at most REPORT_WIDTH, each printed as it fills;
 * continuation lines start "libos:   ". */
struct report {
	char line[REPORT_WIDTH + 32];
	size_t len;
};

static void report_flush(struct report *r)
{
	if (r->len)
		kprintf("%s\n", r->line);
	r->len = (size_t)fmt_snprintf(r->line, sizeof(r->line), "libos:  ");
}

static void report_word(struct report *r, const char *word, const char *tail)
{
	size_t need = 1 + strlen(word) + strlen(tail);

	if (r->len + need > REPORT_WIDTH)
		report_flush(r);
	r->len += (size_t)fmt_snprintf(r->line + r->len,
				       sizeof(r->line) - r->len, " %s%s",
				       word, tail);
}

static void report_names(struct report *r, const char *const *names)
{
	for (; names && *names; names++)
		report_word(r, *names, takes_value(*names) ? "N" : "");
}

void libos_options_report_unknown(const char *arg, const char *const *guest)
{
	struct report r;

	r.len = (size_t)fmt_snprintf(r.line, sizeof(r.line),
				     "libos: unknown option '%.40s' in args; "
				     "known:", arg);
	report_names(&r, libos_options);
	report_word(&r, "(libos's)", "");
	report_flush(&r);
	if (guest && *guest) {
		report_names(&r, guest);
		report_word(&r, "(the guest's)", "");
	} else {
		report_word(&r, "none of the guest's own", "");
	}
	kprintf("%s\n", r.line);
}
