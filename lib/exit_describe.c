/*
 * Guest exit statuses in words: the one table of their meanings
 * (include/exo/exit_status.h gives the numbers). Pure C, shared by EL2's
 * summary and the host tests. Owns: the wording. Never: trusts a status,
 * cause or address (a guest chose them): every value gets a description.
 */
#include <arch/esr.h>
#include <exo/exit_status.h>
#include <lib/esr_names.h>
#include <lib/exit_describe.h>
#include <lib/fmt.h>

#define EC_COUNT (1u << ESR_EC_WIDTH)

struct meaning {
	int64_t status;
	const char *text;
};

static const struct meaning runtime[] = {
	{ EXO_EXIT_SUCCESS, "success" },
	{ EXO_EXIT_STARTUP_QUOTA, "the quota is too small for the guest to "
				  "start (libos said what it needs above)" },
	{ EXO_EXIT_BAD_LOAD, "loaded at an address that is not page-aligned" },
	{ EXO_EXIT_NESTED_FAULT,
	  "an exception or panic while handling or reporting one" },
	{ EXO_EXIT_MMU, "libos could not turn the MMU on (the reason is "
			"printed above)" },
	{ EXO_EXIT_BAD_DTB, "the guest DTB could not be read" },
	{ EXO_EXIT_HEAP_POLICY, "libos does not know the heap policy" },
	{ EXO_EXIT_BAD_OPTION, "a libos option in args has a bad value" },
	{ EXO_EXIT_UNKNOWN_OPTION, "an option in args is neither libos's nor "
				   "the guest's" },
	{ EXO_EXIT_PANIC, "panic (the PANIC line says why)" },
	{ EXO_EXIT_ASYNC_BASE + EXO_EXIT_ASYNC_IRQ, "unhandled IRQ" },
	{ EXO_EXIT_ASYNC_BASE + EXO_EXIT_ASYNC_FIQ, "unhandled FIQ" },
	{ EXO_EXIT_ASYNC_BASE + EXO_EXIT_ASYNC_SERROR, "unhandled SError" },
};

static const char *const causes[EXO_EXIT_CAUSES] = {
	[EXO_EXIT_CAUSE_STACK_OVERFLOW] = "stack overflow past the guard",
	[EXO_EXIT_CAUSE_GUARD] = "guard page hit",
	[EXO_EXIT_CAUSE_NOT_ALLOWED] = "an access the region does not allow",
	[EXO_EXIT_CAUSE_NO_REGION] = "the address is in no region",
	[EXO_EXIT_CAUSE_NO_MEMORY] = "no frames left for the page",
};

const char *exit_cause_name(uint64_t cause)
{
	return cause < EXO_EXIT_CAUSES ? causes[cause] : NULL;
}

static const char *runtime_meaning(int64_t status)
{
	for (size_t i = 0; i < sizeof(runtime) / sizeof(runtime[0]); i++)
		if (runtime[i].status == status)
			return runtime[i].text;
	return NULL;
}

/* 128 + EC: the class, and the address (FAR for an abort, else ELR). */
static size_t describe_sync(unsigned ec, uint64_t addr, char *buf,
			    size_t size)
{
	return (size_t)fmt_snprintf(buf, size, "unhandled %s %s 0x%lx",
				    esr_ec_name(ec),
				    esr_ec_is_abort(ec) ? "at" : "at pc",
				    (unsigned long)addr);
}

static size_t describe_status(int64_t status, uint64_t addr, char *buf,
			      size_t size)
{
	const char *text = runtime_meaning(status);

	if (status >= EXO_EXIT_SYNC_BASE &&
	    status < EXO_EXIT_SYNC_BASE + EC_COUNT)
		return describe_sync((unsigned)(status - EXO_EXIT_SYNC_BASE),
				     addr, buf, size);
	if (text)
		return (size_t)fmt_snprintf(buf, size, "%s", text);
	return (size_t)fmt_snprintf(buf, size, "the guest's own status "
				    "(main returned it)");
}

void exit_status_describe(int64_t status, uint64_t cause, uint64_t addr,
			  char *buf, size_t size)
{
	const char *why = exit_cause_name(cause);
	size_t n;

	if (!size)
		return;
	n = describe_status(status, addr, buf, size);
	if (n >= size || cause == EXO_EXIT_CAUSE_NONE)
		return;
	if (why)
		fmt_snprintf(buf + n, size - n, " (%s)", why);
	else
		fmt_snprintf(buf + n, size - n, " (cause %lu, not one the ABI "
			     "defines)", (unsigned long)cause);
}
