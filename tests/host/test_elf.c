/*
 * el2/elf.c on images built here in memory: a good static PIE (headers +
 * text, then data + bss), then each way an image can be malformed, then
 * random header corruption that must never read or write out of bounds.
 */
#include "elf_image.h"

#include <criterion/criterion.h>
#include <el2/elf.h>
#include <stdlib.h>
#include <string.h>

#define IMG_SIZE 0x3000
#define TEXT_SIZE 0x1800
#define ENTRY 0x1000
#define DATA_OFF 0x2000
#define DATA_VADDR 0x3000
#define DATA_FILESZ 0x100
#define DATA_MEMSZ 0x2100
#define PT_GNU_STACK 0x6474e551u

static _Alignas(4096) uint8_t img[IMG_SIZE];

static struct elf64_phdr *phdr(int i)
{
	return (struct elf64_phdr *)(img + sizeof(struct elf64_ehdr)) + i;
}

static struct elf64_ehdr *ehdr(void)
{
	return (struct elf64_ehdr *)img;
}

static void set_phdr(int i, uint32_t type, uint32_t flags, uint64_t off,
		     uint64_t vaddr, uint64_t filesz, uint64_t memsz)
{
	*phdr(i) = (struct elf64_phdr){ .p_type = type, .p_flags = flags,
		.p_offset = off, .p_vaddr = vaddr, .p_paddr = vaddr,
		.p_filesz = filesz, .p_memsz = memsz,
		.p_align = EXO_FRAME_SIZE };
}

/* What lld makes of a small static PIE: R+X from offset 0 (the headers and
 * text), RW data with bss on a later page, and a GNU_STACK note. */
static void make_good(void)
{
	struct elf64_ehdr *eh = ehdr();

	memset(img, 0, sizeof(img));
	memset(img + ENTRY, 0xaa, TEXT_SIZE - ENTRY);
	memset(img + DATA_OFF, 0xbb, DATA_FILESZ);
	elf_image_header(eh, ENTRY, 3);
	set_phdr(0, ELF_PT_LOAD, ELF_PF_R | ELF_PF_X, 0, 0, TEXT_SIZE,
		 TEXT_SIZE);
	set_phdr(1, ELF_PT_LOAD, ELF_PF_R | ELF_PF_W, DATA_OFF, DATA_VADDR,
		 DATA_FILESZ, DATA_MEMSZ);
	set_phdr(2, PT_GNU_STACK, ELF_PF_R | ELF_PF_W, 0, 0, 0, 0);
}

static void expect_error(size_t size, const char *words)
{
	struct elf_info info;
	char err[160] = "";

	cr_assert_lt(elf_check(img, size, &info, err, sizeof(err)), 0,
		     "accepted; expected '%s'", words);
	cr_assert(strstr(err, words), "'%s' lacks '%s'", err, words);
	cr_assert_eq(info.span, 0, "info left half-filled");
}

Test(elf, accepts_static_pie)
{
	struct elf_info info;
	char err[160] = "";

	make_good();
	cr_assert_eq(elf_check(img, sizeof(img), &info, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(info.entry, ENTRY);
	cr_assert_eq(info.vaddr_lo, 0);
	cr_assert_eq(info.vaddr_hi, 0x6000);
	cr_assert_eq(info.span, 0x6000);
	cr_assert_eq(elf_frames(&info), 6);
	cr_assert_eq(info.entry_offset, ENTRY);
	cr_assert_eq(info.nr_load, 2);
}

Test(elf, load_copies_segments_and_zeroes_the_rest)
{
	struct elf_info info;
	char err[160];
	uint8_t *dest;

	make_good();
	cr_assert_eq(elf_check(img, sizeof(img), &info, err, sizeof(err)), 0);
	dest = malloc(info.span);  /* exact size: ASan catches any overrun */
	memset(dest, 0xcc, info.span);
	elf_load(img, &info, dest);
	cr_assert_eq(memcmp(dest, img, TEXT_SIZE), 0);
	for (size_t i = TEXT_SIZE; i < DATA_VADDR; i++)
		cr_assert_eq(dest[i], 0, "gap byte %#zx not zeroed", i);
	cr_assert_eq(memcmp(dest + DATA_VADDR, img + DATA_OFF, DATA_FILESZ), 0);
	for (size_t i = DATA_VADDR + DATA_FILESZ; i < info.span; i++)
		cr_assert_eq(dest[i], 0, "bss byte %#zx not zeroed", i);
	free(dest);
}

Test(elf, load_places_relative_to_lowest_page)
{
	struct elf_info info;
	char err[160];
	uint8_t *dest;

	make_good();
	/* The same image linked 0x10000 higher, text starting mid-page. */
	set_phdr(0, ELF_PT_LOAD, ELF_PF_R | ELF_PF_X, 0x800, 0x10800,
		 TEXT_SIZE - 0x800, TEXT_SIZE - 0x800);
	phdr(1)->p_vaddr += 0x10000;
	ehdr()->e_entry = 0x11000;
	cr_assert_eq(elf_check(img, sizeof(img), &info, err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(info.vaddr_lo, 0x10000);
	cr_assert_eq(info.entry_offset, 0x1000);
	dest = malloc(info.span);
	elf_load(img, &info, dest);
	for (size_t i = 0; i < 0x800; i++)
		cr_assert_eq(dest[i], 0);
	cr_assert_eq(memcmp(dest + 0x800, img + 0x800, TEXT_SIZE - 0x800), 0);
	cr_assert_eq(memcmp(dest + DATA_VADDR, img + DATA_OFF, DATA_FILESZ), 0);
	free(dest);
}

Test(elf, truncated)
{
	make_good();
	expect_error(0, "truncated");
	expect_error(sizeof(struct elf64_ehdr) - 1, "truncated");
	/* Header present, program headers cut off. */
	expect_error(sizeof(struct elf64_ehdr) + 10, "outside the file");
	/* Headers present, segment data cut off. */
	expect_error(DATA_OFF + DATA_FILESZ - 1, "outside the file");
}

Test(elf, identity)
{
	make_good();
	img[1] = 'X';
	expect_error(sizeof(img), "not an ELF");
	make_good();
	img[ELF_EI_CLASS] = 1;
	expect_error(sizeof(img), "ELFCLASS64");
	make_good();
	img[ELF_EI_DATA] = 2;
	expect_error(sizeof(img), "little-endian");
	make_good();
	ehdr()->e_version = 0;
	expect_error(sizeof(img), "version");
}

Test(elf, wrong_machine)
{
	make_good();
	ehdr()->e_machine = 62; /* EM_X86_64 */
	expect_error(sizeof(img), "machine 62, not AArch64");
}

Test(elf, et_exec_and_other_types)
{
	make_good();
	ehdr()->e_type = ELF_ET_EXEC;
	expect_error(sizeof(img), "ET_EXEC");
	ehdr()->e_type = 1; /* ET_REL */
	expect_error(sizeof(img), "not a static PIE");
}

Test(elf, interpreter_refused)
{
	make_good();
	phdr(2)->p_type = ELF_PT_INTERP;
	expect_error(sizeof(img), "PT_INTERP");
}

Test(elf, phdr_table)
{
	make_good();
	ehdr()->e_phentsize = 32;
	expect_error(sizeof(img), "header size");
	make_good();
	ehdr()->e_phnum = 0;
	expect_error(sizeof(img), "count");
	make_good();
	ehdr()->e_phnum = ELF_MAX_PHDRS + 1;
	expect_error(sizeof(img), "count");
	make_good();
	ehdr()->e_phoff = sizeof(img) - 8;
	expect_error(sizeof(img), "outside the file");
	make_good();
	ehdr()->e_phoff = UINT64_MAX - 8; /* offset + length wraps */
	expect_error(sizeof(img), "outside the file");
}

Test(elf, no_load_segment)
{
	make_good();
	phdr(0)->p_type = PT_GNU_STACK;
	phdr(1)->p_type = PT_GNU_STACK;
	expect_error(sizeof(img), "no PT_LOAD");
}

Test(elf, segment_outside_file)
{
	make_good();
	phdr(1)->p_filesz = sizeof(img);
	phdr(1)->p_memsz = sizeof(img);
	expect_error(sizeof(img), "program header 1: segment's file bytes");
	make_good();
	phdr(1)->p_offset = UINT64_MAX - 0xfff; /* offset + filesz wraps */
	phdr(1)->p_vaddr = UINT64_MAX - 0xfff;
	expect_error(sizeof(img), "outside the file");
}

Test(elf, filesz_larger_than_memsz)
{
	make_good();
	phdr(1)->p_memsz = DATA_FILESZ - 1;
	expect_error(sizeof(img), "filesz larger than memsz");
}

Test(elf, address_overflow)
{
	make_good();
	phdr(1)->p_vaddr = UINT64_MAX & ~0xfffull;
	expect_error(sizeof(img), "overflows");
}

Test(elf, oversized_segment_and_span)
{
	make_good();
	phdr(1)->p_memsz = ELF_MAX_SPAN + 1;
	expect_error(sizeof(img), "segment spans more than 128 MiB");
	make_good();
	/* Each segment small, but far apart. */
	phdr(1)->p_vaddr = ELF_MAX_SPAN;
	expect_error(sizeof(img), "128 MiB");
}

Test(elf, misaligned_segment)
{
	make_good();
	phdr(1)->p_vaddr = DATA_VADDR + 8;
	expect_error(sizeof(img), "modulo 4 KiB");
}

Test(elf, overlapping_or_unsorted_segments)
{
	make_good();
	phdr(1)->p_vaddr = 0x1000; /* inside text */
	expect_error(sizeof(img), "program header 1: segment overlaps");
	make_good();
	/* Swap the two loads: sorted order is required. */
	struct elf64_phdr t = *phdr(0);
	*phdr(0) = *phdr(1);
	*phdr(1) = t;
	expect_error(sizeof(img), "overlaps or precedes");
}

Test(elf, entry_outside_text)
{
	make_good();
	ehdr()->e_entry = DATA_VADDR; /* in data: not executable */
	expect_error(sizeof(img), "entry point 0x3000");
	ehdr()->e_entry = TEXT_SIZE; /* one past the text */
	expect_error(sizeof(img), "entry point");
	ehdr()->e_entry = UINT64_MAX;
	expect_error(sizeof(img), "entry point");
}

/* Random corruption of the headers: elf_check may refuse, but must never
 * read out of bounds, and what it accepts must load within span (ASan). */
Test(elf, corrupted_headers_never_escape)
{
	const size_t hdr_bytes = sizeof(struct elf64_ehdr) +
				 3 * sizeof(struct elf64_phdr);
	unsigned accepted = 0;

	srand(1);
	for (int round = 0; round < 20000; round++) {
		struct elf_info info;
		char err[160];
		uint8_t *copy;

		make_good();
		for (int k = 0; k < 1 + rand() % 4; k++)
			img[rand() % hdr_bytes] ^= (uint8_t)(1u << rand() % 8);
		/* Exact-size heap copy: ASan sees any read past the end. */
		copy = malloc(sizeof(img));
		memcpy(copy, img, sizeof(img));
		if (!elf_check(copy, sizeof(img), &info, err, sizeof(err))) {
			uint8_t *dest = malloc(info.span);

			cr_assert_leq(info.span, ELF_MAX_SPAN);
			elf_load(copy, &info, dest);
			free(dest);
			accepted++;
		}
		free(copy);
	}
	cr_assert_gt(accepted, 0, "no mutation survived: the test is vacuous");
}
