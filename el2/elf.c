/*
 * Guest ELF checks and loading. The image comes from the boot package, so
 * nothing in it is trusted: headers are copied out before they are read
 * (the file may place them at any alignment), every offset and size is
 * checked against the file with overflow-free arithmetic, and only then
 * does elf_load copy. Never follows relocations, symbols or sections.
 */
#include <el2/elf.h>
#include <lib/fmt.h>
#include <string.h>

_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header layout");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 phdr layout");

static int fail(char *err, size_t size, const char *what)
{
	fmt_snprintf(err, size, "%s", what);
	return -1;
}

static int fail_seg(char *err, size_t size, unsigned i, const char *what)
{
	fmt_snprintf(err, size, "program header %u: %s", i, what);
	return -1;
}

static uint64_t page_down(uint64_t v)
{
	return v & ~EXO_FRAME_OFFSET_MASK;
}

static uint64_t page_up(uint64_t v)
{
	return page_down(v + EXO_FRAME_SIZE - 1);
}

static void elf_read_phdr(const void *image, uint64_t phoff, unsigned i,
			  struct elf64_phdr *ph)
{
	memcpy(ph, (const uint8_t *)image + phoff + i * sizeof(*ph),
	       sizeof(*ph));
}

static int elf_check_ident(const struct elf64_ehdr *eh, char *err,
			   size_t size)
{
	const uint8_t *id = eh->e_ident;

	if (id[0] != ELF_MAG0 || id[1] != 'E' || id[2] != 'L' || id[3] != 'F')
		return fail(err, size, "not an ELF file (bad magic)");
	if (id[ELF_EI_CLASS] != ELF_CLASS64)
		return fail(err, size, "not ELFCLASS64 (a 32-bit image?)");
	if (id[ELF_EI_DATA] != ELF_DATA2LSB)
		return fail(err, size, "not little-endian (ELFDATA2LSB)");
	if (id[ELF_EI_VERSION] != ELF_EV_CURRENT ||
	    eh->e_version != ELF_EV_CURRENT)
		return fail(err, size, "unknown ELF version");
	return 0;
}

static int elf_check_ehdr(const struct elf64_ehdr *eh, size_t file_size,
			  char *err, size_t size)
{
	if (elf_check_ident(eh, err, size))
		return -1;
	if (eh->e_machine != ELF_EM_AARCH64) {
		fmt_snprintf(err, size,
			     "built for machine %u, not AArch64 (EM_AARCH64 = %u)",
			     eh->e_machine, ELF_EM_AARCH64);
		return -1;
	}
	if (eh->e_type == ELF_ET_EXEC)
		return fail(err, size, "ET_EXEC (linked at a fixed address): "
			    "guests must be static PIE (ET_DYN)");
	if (eh->e_type != ELF_ET_DYN)
		return fail(err, size, "not a static PIE (e_type is not ET_DYN)");
	if (eh->e_phentsize != sizeof(struct elf64_phdr))
		return fail(err, size, "program header size is not 56 bytes");
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHDRS)
		return fail(err, size, "program header count is 0 or above 64");
	if (eh->e_phoff > file_size ||
	    (uint64_t)eh->e_phnum * sizeof(struct elf64_phdr) >
		    file_size - eh->e_phoff)
		return fail(err, size, "program headers lie outside the file");
	return 0;
}

/* One PT_LOAD on its own, then against the previous one (prev_end). */
static const char *elf_check_load(const struct elf64_phdr *ph,
				  size_t file_size, unsigned nr_load,
				  uint64_t prev_end)
{
	if (ph->p_offset > file_size || ph->p_filesz > file_size - ph->p_offset)
		return "segment's file bytes lie outside the file";
	if (ph->p_filesz > ph->p_memsz)
		return "filesz larger than memsz";
	if (ph->p_memsz > ELF_MAX_SPAN)
		return "segment spans more than 128 MiB";
	if (ph->p_vaddr > UINT64_MAX - EXO_FRAME_SIZE - ph->p_memsz)
		return "vaddr + memsz overflows";
	if (ph->p_vaddr % EXO_FRAME_SIZE != ph->p_offset % EXO_FRAME_SIZE)
		return "vaddr and offset differ modulo 4 KiB";
	if (nr_load && ph->p_vaddr < prev_end)
		return "segment overlaps or precedes the previous PT_LOAD";
	return NULL;
}

static int elf_entry_in(const struct elf64_phdr *ph, uint64_t entry)
{
	return (ph->p_flags & ELF_PF_X) && entry >= ph->p_vaddr &&
	       entry - ph->p_vaddr < ph->p_filesz;
}

static int elf_check_phdrs(const void *image, size_t file_size,
			   struct elf_info *info, char *err, size_t size)
{
	uint64_t end = 0;
	int entry_ok = 0;

	for (unsigned i = 0; i < info->phnum; i++) {
		struct elf64_phdr ph;
		const char *why;

		elf_read_phdr(image, info->phoff, i, &ph);
		if (ph.p_type == ELF_PT_INTERP)
			return fail_seg(err, size, i, "PT_INTERP: the image "
					"wants a dynamic loader, not a static PIE");
		if (ph.p_type != ELF_PT_LOAD)
			continue;
		why = elf_check_load(&ph, file_size, info->nr_load, end);
		if (why)
			return fail_seg(err, size, i, why);
		if (!info->nr_load++)
			info->vaddr_lo = page_down(ph.p_vaddr);
		end = ph.p_vaddr + ph.p_memsz;
		entry_ok |= elf_entry_in(&ph, info->entry);
	}
	if (!info->nr_load)
		return fail(err, size, "no PT_LOAD segment");
	info->vaddr_hi = page_up(end);
	info->span = info->vaddr_hi - info->vaddr_lo;
	if (info->span > ELF_MAX_SPAN)
		return fail(err, size, "segments span more than 128 MiB");
	if (!entry_ok) {
		fmt_snprintf(err, size, "entry point 0x%lx is not inside an "
			     "executable PT_LOAD", (unsigned long)info->entry);
		return -1;
	}
	info->entry_offset = info->entry - info->vaddr_lo;
	return 0;
}

int elf_check(const void *image, size_t size, struct elf_info *out,
	      char *err, size_t err_size)
{
	struct elf64_ehdr eh;

	memset(out, 0, sizeof(*out));
	if (size < sizeof(eh))
		return fail(err, err_size, "truncated: smaller than an ELF header");
	memcpy(&eh, image, sizeof(eh));
	if (elf_check_ehdr(&eh, size, err, err_size))
		return -1;
	out->entry = eh.e_entry;
	out->phoff = eh.e_phoff;
	out->phnum = eh.e_phnum;
	if (elf_check_phdrs(image, size, out, err, err_size)) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

/* Every byte of [vaddr_lo, vaddr_hi) is written exactly once: gaps and bss
 * are zeroed, so no earlier contents of the frames survive into the guest. */
void elf_load(const void *image, const struct elf_info *info, void *dest)
{
	const uint8_t *src = image;
	uint8_t *d = dest;
	uint64_t cursor = info->vaddr_lo;

	for (unsigned i = 0; i < info->phnum; i++) {
		struct elf64_phdr ph;

		elf_read_phdr(image, info->phoff, i, &ph);
		if (ph.p_type != ELF_PT_LOAD)
			continue;
		memset(d + (cursor - info->vaddr_lo), 0, ph.p_vaddr - cursor);
		memcpy(d + (ph.p_vaddr - info->vaddr_lo), src + ph.p_offset,
		       ph.p_filesz);
		memset(d + (ph.p_vaddr - info->vaddr_lo) + ph.p_filesz, 0,
		       ph.p_memsz - ph.p_filesz);
		cursor = ph.p_vaddr + ph.p_memsz;
	}
	memset(d + (cursor - info->vaddr_lo), 0, info->vaddr_hi - cursor);
}
