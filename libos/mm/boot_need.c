/*
 * What libos_mm_boot needs, computed without building anything (see
 * boot_need.h). The layout counted here is boot.c's: the TTBR1 root, the
 * image at its aligned VA, the direct map of the boot memory; the TTBR0
 * root and the identity map of the image text. The refill rule is
 * pages.c's, replayed with its constants (pages.h).
 */
#include <exo/frame.h>
#include <libos/mm/boot_need.h>
#include <libos/mm/pages.h>
#include <libos/options.h>
#include <stdbool.h>
#include <stddef.h>

static bool same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

const char *libos_mm_granule(const char *name, enum pgtable_granule *g)
{
	static const struct {
		const char *name;
		enum pgtable_granule granule;
	} names[] = {
		{ "4k", PGTABLE_GRANULE_4K },
		{ "16k", PGTABLE_GRANULE_16K },
		{ "64k", PGTABLE_GRANULE_64K },
	};

	if (!name) {
		*g = PGTABLE_GRANULE_4K;
		return NULL;
	}
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (same(name, names[i].name)) {
			*g = names[i].granule;
			return NULL;
		}
	}
	return "exo,granule is not 4k, 16k or 64k";
}

unsigned libos_mm_va_bits(int argc, char *const *argv)
{
	unsigned va_bits = LIBOS_MM_DEFAULT_VA_BITS;

	for (int i = 1; i < argc; i++)
		if (argv[i] && same(argv[i], LIBOS_OPT_VA_BITS_39))
			va_bits = 39;
	return va_bits;
}

/* Tables below the root that map a range of `bytes`: one per span of the
 * level above. A range at a physical address (not `aligned`) may cross
 * one more boundary where a table spans LIBOS_MM_CROSS_SPAN or less. */
static unsigned range_tables(const struct pgtable_geom *g, uint64_t bytes,
			     bool aligned)
{
	unsigned n = 0;

	for (int l = g->start_level + 1; l <= PGTABLE_LAST_LEVEL; l++) {
		uint64_t span = pgtable_level_size(g, l - 1);

		n += (unsigned)((bytes + span - 1) / span);
		if (!aligned && span <= LIBOS_MM_CROSS_SPAN)
			n++;
	}
	return n;
}

unsigned libos_mm_boot_table_pages(enum pgtable_granule granule,
				   unsigned va_bits, uint64_t image_bytes,
				   uint64_t mem_bytes)
{
	struct pgtable_geom g;

	if (pgtable_geom_init(&g, granule, va_bits))
		return 0;
	/* Two roots; the text is counted as the whole image. */
	return 2 + range_tables(&g, image_bytes, true) +
	       range_tables(&g, mem_bytes, false) +
	       range_tables(&g, image_bytes, false);
}

uint64_t libos_mm_table_frames(enum pgtable_granule granule, unsigned pages)
{
	uint64_t page_size = UINT64_C(1) << granule;
	unsigned batch = pages_per_batch(page_size), fetched = 0, cached = 0;

	for (unsigned i = 0; i < pages; i++) {
		if (cached <= PAGES_RESERVE) {
			fetched += batch;
			cached += batch;
		}
		cached--;
	}
	return (uint64_t)fetched * (page_size >> EXO_FRAME_SHIFT);
}
