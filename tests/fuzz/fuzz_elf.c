/*
 * libFuzzer target: the guest ELF loader (el2/elf.c). The input is an
 * image. elf_check() must accept or refuse it with a sentence, the same
 * way whatever the size of the error buffer; what it accepts must be
 * self-consistent, and elf_load() into a buffer of exactly info.span bytes
 * (ASan's redzone right after it) must write what an independent reference
 * loader writes: each PT_LOAD's file bytes at vaddr - vaddr_lo, zero
 * everywhere else. Images spanning more than FUZZ_LOAD_MAX are checked but
 * not loaded, to keep executions fast (the arithmetic is the same).
 */
#define _GNU_SOURCE /* posix_memalign, strnlen */
#include "fuzz_common.h"

#include <el2/elf.h>

#define FUZZ_LOAD_MAX (8ul << 20)

static void check_err(const char *err, size_t size)
{
	FUZZ_CHECK(memchr(err, '\0', size), "error not NUL-terminated");
	FUZZ_CHECK(size < 2 || err[0], "refused without a reason");
}

static void reference_load(const uint8_t *image, size_t size,
			   const struct elf_info *info, uint8_t *out)
{
	memset(out, 0, info->span);
	for (unsigned i = 0; i < info->phnum; i++) {
		struct elf64_phdr ph;

		memcpy(&ph, image + info->phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != ELF_PT_LOAD)
			continue;
		FUZZ_CHECK(ph.p_vaddr >= info->vaddr_lo &&
				   ph.p_memsz <= info->vaddr_hi - ph.p_vaddr &&
				   ph.p_filesz <= ph.p_memsz &&
				   ph.p_offset <= size &&
				   ph.p_filesz <= size - ph.p_offset,
			   "accepted PT_LOAD %u lies outside the span or file", i);
		memcpy(out + (ph.p_vaddr - info->vaddr_lo), image + ph.p_offset,
		       ph.p_filesz);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_info info, info2;
	char err[160];
	size_t small = size ? 1 + data[size - 1] % 8 : 1;
	char *err_small = malloc(small);
	int rc, rc2;
	uint8_t *out, *ref;

	rc = elf_check(data, size, &info, err, sizeof(err));
	rc2 = elf_check(data, size, &info2, err_small, small);
	FUZZ_CHECK(rc == 0 || rc == -1, "elf_check returned %d", rc);
	FUZZ_CHECK(rc == rc2 && !memcmp(&info, &info2, sizeof(info)),
		   "elf_check depends on the size of its error buffer");
	free(err_small);
	if (rc) {
		check_err(err, sizeof(err));
		return 0;
	}

	FUZZ_CHECK(info.nr_load >= 1 && info.nr_load <= info.phnum &&
			   info.phnum <= ELF_MAX_PHDRS,
		   "accepted with %u PT_LOADs of %u headers", info.nr_load,
		   info.phnum);
	FUZZ_CHECK(info.phoff <= size &&
			   info.phnum * sizeof(struct elf64_phdr) <=
				   size - info.phoff,
		   "accepted program headers outside the file");
	FUZZ_CHECK(info.vaddr_lo % EXO_FRAME_SIZE == 0 &&
			   info.vaddr_hi % EXO_FRAME_SIZE == 0 &&
			   info.vaddr_hi > info.vaddr_lo &&
			   info.span == info.vaddr_hi - info.vaddr_lo &&
			   info.span <= ELF_MAX_SPAN,
		   "accepted span [0x%lx, 0x%lx) = 0x%lx",
		   (unsigned long)info.vaddr_lo, (unsigned long)info.vaddr_hi,
		   (unsigned long)info.span);
	FUZZ_CHECK(info.entry >= info.vaddr_lo &&
			   info.entry_offset == info.entry - info.vaddr_lo &&
			   info.entry_offset < info.span,
		   "accepted entry 0x%lx outside the span",
		   (unsigned long)info.entry);
	FUZZ_CHECK(elf_frames(&info) * EXO_FRAME_SIZE == info.span,
		   "elf_frames disagrees with span");
	if (info.span > FUZZ_LOAD_MAX)
		return 0;

	out = malloc(info.span);
	ref = malloc(info.span);
	FUZZ_CHECK(out && ref, "out of memory for a %lu-byte span",
		   (unsigned long)info.span);
	memset(out, 0xa5, info.span); /* no earlier contents may survive */
	elf_load(data, &info, out);
	reference_load(data, size, &info, ref);
	for (size_t i = 0; i < info.span; i++)
		if (out[i] != ref[i])
			fuzz_fail("elf_load wrote 0x%02x at offset 0x%zx, the "
				  "reference 0x%02x", out[i], i, ref[i]);
	free(out);
	free(ref);
	return 0;
}
