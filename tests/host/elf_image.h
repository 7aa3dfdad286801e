/*
 * The ELF header of a test image as lld makes a guest's: a 64-bit
 * little-endian AArch64 static PIE (ET_DYN), its program headers right
 * after it. For host tests that build an image in memory (test_elf.c,
 * test_cache_model.c); the program headers are each test's.
 */
#ifndef EXO_TESTS_ELF_IMAGE_H
#define EXO_TESTS_ELF_IMAGE_H

#include <el2/elf.h>
#include <stdint.h>
#include <string.h>

static inline void elf_image_header(struct elf64_ehdr *eh, uint64_t entry,
				    unsigned phnum)
{
	memcpy(eh->e_ident, "\x7f" "ELF", 4);
	eh->e_ident[ELF_EI_CLASS] = ELF_CLASS64;
	eh->e_ident[ELF_EI_DATA] = ELF_DATA2LSB;
	eh->e_ident[ELF_EI_VERSION] = ELF_EV_CURRENT;
	eh->e_type = ELF_ET_DYN;
	eh->e_machine = ELF_EM_AARCH64;
	eh->e_version = ELF_EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(struct elf64_phdr);
	eh->e_phnum = (uint16_t)phnum;
}

#endif
