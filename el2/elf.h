/*
 * Guest images: static-PIE AArch64 ELF files. This header owns the ELF64
 * structures EL2 reads (the target has no <elf.h>) and the check that must
 * pass before an image is loaded. It never interprets relocations or
 * symbols: the guest relocates itself at entry (el1), so EL2 only copies
 * PT_LOAD segments to wherever the guest's frames are.
 */
#ifndef EXO_EL2_ELF_H
#define EXO_EL2_ELF_H

#include <exo/frame.h>
#include <stddef.h>
#include <stdint.h>

/* e_ident */
#define ELF_NIDENT 16
#define ELF_EI_CLASS 4
#define ELF_EI_DATA 5
#define ELF_EI_VERSION 6
#define ELF_MAG0 0x7f
#define ELF_CLASS64 2
#define ELF_DATA2LSB 1
#define ELF_EV_CURRENT 1

/* e_type, e_machine */
#define ELF_ET_EXEC 2
#define ELF_ET_DYN 3
#define ELF_EM_AARCH64 183

/* p_type, p_flags */
#define ELF_PT_LOAD 1
#define ELF_PT_INTERP 3
#define ELF_PF_X 0x1
#define ELF_PF_W 0x2
#define ELF_PF_R 0x4

/* A guest image spans at most this much address space: bounds what one
 * image can ask of EL2 before quotas are even looked at. */
#define ELF_MAX_SPAN (128ul << 20)
#define ELF_MAX_PHDRS 64

struct elf64_ehdr {
	uint8_t e_ident[ELF_NIDENT];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
};

/* What elf_check learned; elf_load needs it. Addresses are link-time
 * virtual addresses: the loader places vaddr_lo at the guest's first frame. */
struct elf_info {
	uint64_t entry;         /* e_entry */
	uint64_t vaddr_lo;      /* lowest PT_LOAD vaddr, page-rounded down */
	uint64_t vaddr_hi;      /* highest PT_LOAD end, rounded up to a page */
	uint64_t span;          /* vaddr_hi - vaddr_lo: bytes elf_load writes */
	uint64_t entry_offset;  /* entry - vaddr_lo: the entry in the copy */
	uint64_t phoff;         /* program headers, checked */
	unsigned phnum;
	unsigned nr_load;       /* PT_LOAD segments */
};

/* Checks a whole image of size bytes. Returns 0 and fills out, or -1 with
 * a sentence in err saying what is wrong. */
int elf_check(const void *image, size_t size, struct elf_info *out,
	      char *err, size_t err_size);

/* Writes info->span bytes at dest: each PT_LOAD segment at
 * dest + (vaddr - vaddr_lo), its bss and every gap zeroed. Only for an
 * image elf_check accepted, with the same info. */
void elf_load(const void *image, const struct elf_info *info, void *dest);

/* info->span in 4 KiB frames. */
static inline uint64_t elf_frames(const struct elf_info *info)
{
	return info->span / EXO_FRAME_SIZE;
}

#endif
