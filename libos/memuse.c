/*
 * "memuse:" lines (libos/memuse.h): runs merged, totals at the end.
 */
#include "libos/memuse.h"

#include <exo/frame.h>
#include <lib/fmt.h>

#define MEMUSE_LINE_MAX 256 /* the totals line: 5 names and 20-digit counts */

const char *memuse_name(enum memuse_kind kind)
{
	static const char *const name[] = {
	    [MEMUSE_S1_TABLES] = "s1-tables",
	    [MEMUSE_HEAP] = "heap",
	    [MEMUSE_REGION_PAGES] = "region-pages",
	    [MEMUSE_POOL_FREE] = "pool-free",
	};

	return (unsigned)kind < MEMUSE_KINDS ? name[kind] : "?";
}

void memuse_init(struct memuse *m, memuse_out_fn out, void *ctx)
{
	*m = (struct memuse){.out = out, .ctx = ctx};
}

static void flush(struct memuse *m)
{
	char line[MEMUSE_LINE_MAX];

	if (!m->frames)
		return;
	fmt_snprintf(line, sizeof(line), "memuse: 0x%lx %lu %s",
		     (unsigned long)m->pa, (unsigned long)m->frames,
		     memuse_name(m->kind));
	m->out(m->ctx, line);
	m->frames = 0;
}

void memuse_add(struct memuse *m, enum memuse_kind kind, uint64_t pa,
		uint64_t frames)
{
	if (!frames || (unsigned)kind >= MEMUSE_KINDS)
		return;
	m->total[kind] += frames;
	if (m->frames && m->kind == kind &&
	    m->pa + m->frames * EXO_FRAME_SIZE == pa) {
		m->frames += frames;
		return;
	}
	flush(m);
	m->pa = pa;
	m->frames = frames;
	m->kind = kind;
}

/* " <name> <count>" at line[*n], never past the buffer. */
static void append(char *line, size_t *n, const char *name, uint64_t count)
{
	int r = fmt_snprintf(line + *n, MEMUSE_LINE_MAX - *n, " %s %lu", name,
			     (unsigned long)count);

	if (r > 0)
		*n = *n + (size_t)r < MEMUSE_LINE_MAX ? *n + (size_t)r
						      : MEMUSE_LINE_MAX - 1;
}

void memuse_finish(struct memuse *m, uint64_t untracked)
{
	char line[MEMUSE_LINE_MAX] = "memuse: total";
	size_t n = sizeof("memuse: total") - 1;

	flush(m);
	for (unsigned k = 0; k < MEMUSE_KINDS; k++)
		append(line, &n, memuse_name((enum memuse_kind)k), m->total[k]);
	append(line, &n, "untracked", untracked);
	m->out(m->ctx, line);
}
